"""One command grammar for every front end: "/improv C G Am F primer:60 bars:8" -> GenerationRequest.

The option table below drives the parser, `/help`, and the typed options of the Discord/Slack adapters.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generation.errors import InputError
from generation.models.improv.config import CONFIGS
from generation.models.improv.encoding import encode_chords
from generation.music.chords import ChordError, normalise_figure, parse_chord
from generation.music.primer import parse_primer_melody
from generation.request import GenerationRequest

MAX_BARS = 64


class CommandError(InputError):
    """A command we cannot run; the message points at the bad token and says what is allowed."""

    def __init__(self, text: str, token: str, reason: str, column: int | None = None) -> None:
        self.text, self.token, self.reason = text, token, reason
        self.column = column if column is not None else (text.find(token) if token else -1)
        super().__init__(reason)

    def pointer(self) -> str:
        """The command with a caret line under the bad token (for monospace displays)."""
        if self.column < 0:
            return self.text
        return f"{self.text}\n{' ' * self.column}{'^' * max(1, len(self.token))}"


@dataclass(frozen=True)
class Option:
    """One `name:value` option: how it reads, its limits, and its help line."""

    name: str
    help: str
    default: Any
    parse: Callable[[str], Any]
    allowed: str  # what a user may write, for help and errors
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None


def _number(kind: type, low: float, high: float) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"must be a{'n integer' if kind is int else ' number'}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.replace("-", "_")
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return parse


def _on_off(text: str) -> bool:
    value = text.lower()
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise ValueError("must be on or off")


OPTIONS: tuple[Option, ...] = (
    Option("config", "which Improv RNN", "chord_pitches_improv", _choice(tuple(CONFIGS)),
           " | ".join(CONFIGS), choices=tuple(CONFIGS)),
    Option("primer", "the melody to start from", (60,), parse_primer_melody,
           "MIDI pitches/events, e.g. 60 or [60,-2,62,-2] (-2 hold, -1 rest); or attach a MIDI file"),
    Option("bars", "length in bars; the chords repeat to fill it (default: one pass)", None,
           _number(int, 1, MAX_BARS), f"1-{MAX_BARS}", low=1, high=MAX_BARS),
    Option("steps_per_chord", "16th notes per chord", 16, _number(int, 1, 64), "1-64 (16 = one bar of 4/4)",
           low=1, high=64),
    Option("qpm", "tempo, quarter notes per minute", 120.0, _number(float, 30, 300), "30-300", low=30, high=300),
    Option("temperature", "randomness (1.0 = the model's own)", 1.0, _number(float, 0.1, 3.0), "0.1-3.0",
           low=0.1, high=3.0),
    Option("outputs", "how many melodies", 1, _number(int, 1, 4), "1-4", low=1, high=4),
    Option("seed", "same seed, same melody", None, _number(int, 0, 2**31 - 1), "0-2147483647", low=0,
           high=2**31 - 1),
    Option("chords", "play the chords under the melody", True, _on_off, "on | off", choices=("on", "off")),
)
OPTION_BY_NAME = {o.name: o for o in OPTIONS}
COMMANDS = ("improv", "help")
_OPTION_TOKEN = re.compile(r"^([a-z_]+):(.*)$", re.DOTALL)


def help_text() -> str:
    """`/help`, written from the option table."""
    lines = [
        "/improv CHORDS [option:value ...]  - a melody improvised over your chords",
        "  e.g. /improv C G Am F primer:60    /improv Dm7 G7 Cmaj7 bars:8 config:basic_improv",
        "  chords: C G Am F G7/F Bm7b5 Cmaj7 C#m11 ... (slash bass: G7/F or \"C on G\"; N.C. = no chord)",
        "  options:",
    ]
    for o in OPTIONS:
        lines.append(f"    {o.name}:  {o.help}. Allowed: {o.allowed}.")
    lines.append("/help  - this text")
    return "\n".join(lines)


@dataclass(frozen=True)
class ParsedCommand:
    name: str  # "improv" | "help"
    request: GenerationRequest | None
    seed_given: bool = False


def parse_command(text: str, *, primer_from_attachment: tuple[int, ...] | None = None,
                  default_seed: int = 0, installed: frozenset[str] | None = None) -> ParsedCommand:
    """Parse one command line.

    Args:
        text: what the user typed, e.g. "/improv C G Am F primer:60".
        primer_from_attachment: melody events read from an attached MIDI (wins over primer:).
        default_seed: used when the user gives no seed: (the caller draws a random one).
        installed: configs with a trained model on this bot (None: do not check).

    Raises:
        CommandError: with the bad token and what is allowed.
    """
    stripped = text.strip()
    try:
        tokens = shlex.split(stripped)
    except ValueError:
        raise CommandError(stripped, "", "unbalanced quotes in the command") from None
    columns = _columns(stripped, tokens)
    if not tokens:
        raise CommandError(stripped, "", "empty command; try /help")
    name = tokens[0].lstrip("/").lower()
    if name not in COMMANDS:
        raise CommandError(stripped, tokens[0], f"unknown command {tokens[0]!r}; commands: "
                           + ", ".join("/" + c for c in COMMANDS))
    if name == "help":
        return ParsedCommand("help", None)

    values: dict[str, Any] = {}
    chord_tokens: list[tuple[str, int]] = []
    for tok, col in zip(tokens[1:], columns[1:], strict=True):
        match = _OPTION_TOKEN.match(tok)
        if match:
            key, raw = match.group(1), match.group(2)
            option = OPTION_BY_NAME.get(key)
            if option is None:
                raise CommandError(stripped, tok, f"unknown option {key!r}; options: "
                                   + ", ".join(o.name for o in OPTIONS), col)
            if key in values:
                raise CommandError(stripped, tok, f"option {key!r} is given twice", col)
            try:
                values[key] = option.parse(raw)
            except (ValueError, InputError) as e:
                reason = str(e).rstrip(".") if isinstance(e, InputError) else f"{key}: {e}"
                raise CommandError(stripped, tok, f"{reason}. Allowed: {option.allowed}.", col) from None
        else:
            chord_tokens.append((tok, col))
    chords, chord_columns = _chords(stripped, chord_tokens)
    if "bars" in values and "steps_per_chord" in values:
        raise CommandError(stripped, "bars:", "give bars: or steps_per_chord:, not both")
    config = values.get("config", OPTION_BY_NAME["config"].default)
    if installed is not None and config not in installed:
        col = next((c for t, c in zip(tokens, columns, strict=True) if t.startswith("config:")), -1)
        raise CommandError(stripped, f"config:{config}", f"{config} is not installed on this bot; available: "
                           + ", ".join(sorted(installed)), col)
    steps_per_chord = values.get("steps_per_chord", 16)
    try:
        encode_chords([parse_chord(c) for c in chords], CONFIGS[config])
    except ChordError as e:
        bad = next((i for i, c in enumerate(chords) if c == normalise_figure(e.token)), None)
        raise CommandError(stripped, e.token, str(e), chord_columns[bad] if bad is not None else None) from None
    if "bars" in values:  # one chord per bar, the progression repeated (or cut) to fill the bars
        bars = values["bars"]
        chords = [chords[i % len(chords)] for i in range(bars)]
    primer = primer_from_attachment or values.get("primer", (60,))
    total = len(chords) * steps_per_chord
    if len(primer) >= total:
        raise CommandError(stripped, "primer", f"the primer is {len(primer)} steps but the chords last {total}; "
                           "add chords or bars, or shorten the primer", -1)
    low, high = CONFIGS[config].min_note, CONFIGS[config].max_note - 1
    primer_token = next(((t, c) for t, c in zip(tokens, columns, strict=True) if t.startswith("primer:")),
                        ("primer", None))
    for event in primer:
        if event >= 0 and not low <= event <= high:
            where = "the attached MIDI" if primer_from_attachment else "primer"
            raise CommandError(stripped, primer_token[0], f"{where}: pitch {event} is outside what {config} plays "
                               f"({low}-{high}); move it by octaves", primer_token[1])
    request = GenerationRequest(
        family="improv",
        config=config,
        chords=tuple(chords),
        steps_per_chord=steps_per_chord,
        primer=tuple(primer),
        qpm=values.get("qpm", 120.0),
        temperature=values.get("temperature", 1.0),
        num_outputs=values.get("outputs", 1),
        seed=values.get("seed", default_seed),
        render_chords=values.get("chords", True),
    )
    return ParsedCommand("improv", request, seed_given="seed" in values)


def _columns(text: str, tokens: list[str]) -> list[int]:
    """Where each token starts in the text (-1 when quoting changed it), searching left to right."""
    columns, cursor = [], 0
    for tok in tokens:
        col = text.find(tok, cursor)
        columns.append(col)
        if col >= 0:
            cursor = col + len(tok)
    return columns


def _chords(text: str, tokens: list[tuple[str, int]]) -> tuple[list[str], list[int]]:
    """Chord tokens -> figures and their columns; "C on G" becomes C/G; each figure checked."""
    joined: list[tuple[str, int]] = []
    i = 0
    while i < len(tokens):
        if tokens[i][0].lower() == "on" and joined and i + 1 < len(tokens):
            joined[-1] = (f"{joined[-1][0]}/{tokens[i + 1][0]}", joined[-1][1])
            i += 2
            continue
        joined.append(tokens[i])
        i += 1
    if not joined:
        raise CommandError(text, "", "no chords given; e.g. /improv C G Am F (see /help)")
    figures = []
    for tok, col in joined:
        try:
            chord = parse_chord(tok)
        except ChordError as e:
            raise CommandError(text, tok, str(e), col) from None
        figures.append(chord.figure or "N.C.")
    return figures, [col for _, col in joined]
