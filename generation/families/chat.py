"""The chat grammar's parts that families declare their commands with: options, the command line being read,
and the error that points at a token. bot/commands.py drives them; each family's chat module declares its
commands (options, usage, builder), so /help, the parser and Discord's options come from one table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generation.errors import InputError
from generation.music.primer import MELODY_READER, note_number, parse_melody_words

MAX_BARS = 64
MAX_NUMBER_CHARS = 24  # longer than any number an option allows; int() of 5000 digits is refused by Python itself
_OPTION_TOKEN = re.compile(r"^([a-z_]+):(.*)$", re.DOTALL)


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
    kind: type = str  # the value's type where a front end types it (Discord): str, int, float or bool
    slash_name: str = ""  # the name on Discord where the option's own is taken (default: name)


def numeric(name: str, help: str, default: Any, kind: type, low: float, high: float,
            allowed: str = "") -> Option:
    """An int or float option within low-high."""
    return Option(name, help, default, number(kind, low, high), allowed or f"{low:g}-{high:g}", low=low, high=high,
                  kind=kind)


def number(kind: type, low: float, high: float) -> Callable[[str], Any]:
    what = "an integer (a whole number)" if kind is int else "a number"

    def parse(text: str) -> Any:
        try:
            if len(text) > MAX_NUMBER_CHARS:
                raise ValueError
            value = kind(text)
        except ValueError:
            raise ValueError(f"must be {what} between {low:g} and {high:g}") from None
        if not (math.isfinite(value) and low <= value <= high):  # nan and inf compare false, but say so plainly
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def choice(choices: tuple[str, ...], spelling: str = "_") -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.replace("-" if spelling == "_" else "_", spelling)
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return parse


def on_off(text: str) -> bool:
    value = text.lower()
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise ValueError("must be on or off")


def config_option(what: str, configs: tuple[str, ...], default: str, spelling: str = "_") -> Option:
    return Option("config", what, default, choice(configs, spelling), " | ".join(configs), choices=configs)


QPM = numeric("qpm", "tempo, quarter notes per minute", 120.0, float, 30, 300)
TEMPERATURE = numeric("temperature", "randomness (1.0 = the model's own)", 1.0, float, 0.1, 3.0, "0.1-3.0")
SEED = numeric("seed", "same seed, same music", None, int, 0, 2**31 - 1, "0-2147483647")


def on_off_option(name: str, help: str, default: bool, slash_name: str = "") -> Option:
    return Option(name, help, default, on_off, "on | off", choices=("on", "off"), kind=bool, slash_name=slash_name)


def outputs(what: str) -> Option:
    return numeric("outputs", f"how many {what}", 1, int, 1, 4)


def bars(what: str, default: int | None) -> Option:
    return numeric("bars", what, default, int, 1, MAX_BARS)


@dataclass(frozen=True)
class CommandLine:
    """A command's tokens and where each starts, for errors that point at the token."""

    text: str
    tokens: list[str]
    columns: list[int]

    def error(self, token: str, reason: str, column: int | None = None) -> CommandError:
        return CommandError(self.text, token, reason, column)

    def error_at(self, prefix: str, reason: str) -> CommandError:
        """An error pointing at the token starting with `prefix` (or at nothing, if there is none)."""
        token, column = self.token_of(prefix)
        return CommandError(self.text, token, reason, column)

    def column_of(self, prefix: str) -> int:
        return self.token_of(prefix)[1]

    def token_of(self, prefix: str) -> tuple[str, int]:
        """The token starting with `prefix` and its column, or (prefix, -1)."""
        return next(((t, c) for t, c in zip(self.tokens, self.columns, strict=True) if t.startswith(prefix)),
                    (prefix, -1))

    def options(self, table: tuple[Option, ...]) -> tuple[dict[str, Any], list[tuple[str, int]]]:
        """The `name:value` options (parsed and checked) and the other words with their columns."""
        by_name = {o.name: o for o in table}
        values: dict[str, Any] = {}
        words: list[tuple[str, int]] = []
        for tok, col in zip(self.tokens[1:], self.columns[1:], strict=True):
            match = _OPTION_TOKEN.match(tok)
            if not match:
                words.append((tok, col))
                continue
            key, raw = match.group(1), match.group(2)
            option = by_name.get(key)
            if option is None:
                raise self.error(tok, f"unknown option {key!r} for {self.tokens[0]}; options: "
                                 + ", ".join(o.name for o in table), col)
            if key in values:
                raise self.error(tok, f"option {key!r} is given twice", col)
            try:
                values[key] = option.parse(raw)
            except (ValueError, InputError) as e:
                reason = str(e).rstrip(".") if isinstance(e, InputError) else f"{key}: {e}"
                raise self.error(tok, f"{reason}. Allowed: {option.allowed}.", col) from None
        return values, words

    def check_range(self, events: tuple[int, ...], low: int, high: int, model: str, option: str,
                    attached: bool) -> None:
        """Every pitch of `events` within low-high, or an error pointing at `option` (or the attachment)."""
        for event in events:
            if event >= 0 and not low <= event <= high:
                where = "the attached MIDI" if attached else (option.rstrip(":") or "melody")
                token, column = self.token_of(option) if option and not attached else ("", -1)
                raise self.error(token, f"{where}: pitch {event} is outside what {model} plays "
                                 f"({low}-{high}); move it by octaves", column)

    def melody_words(self, words: list[tuple[str, int]]) -> tuple[int, ...]:
        """Melody events from words like C4 - E4 r (one per 16th note)."""
        try:
            return parse_melody_words(" ".join(w for w, _ in words))
        except InputError as e:
            token = getattr(e, "token", "")
            bad = next(((w, c) for w, c in words if token and token in w), words[0])
            raise self.error(bad[0], str(e).rstrip("."), bad[1]) from None

    def pitch_words(self, words: list[tuple[str, int]], low: int, high: int) -> tuple[int, ...]:
        """Up to 8 distinct pitches from words like G4 E4 C4 or 67,64,60."""
        pitches = []
        for word, col in words:
            for tok in (t for t in re.split(r"[\s,\[\]]+", word) if t):
                pitch = note_number(tok)
                if pitch is None or not low <= pitch <= high:
                    raise self.error(word, f"{tok!r} is not a pitch we play; give notes like G4 E4 C4 or MIDI "
                                     f"numbers {low}-{high}", col)
                pitches.append(pitch)
        if len(pitches) > 8:
            raise self.error(words[8][0], "at most 8 pitches may sound together", words[8][1])
        return tuple(dict.fromkeys(pitches))


# (line, option values, the other words with columns, what the command's attachment reader read from an
# attached MIDI: melody events for most; for a command taking several files, one such tuple per file, in the
# order given) -> the request's "config" and the params fields of the family that runs that config (a command
# may serve two families: /continue sends drums to the drums family)
Builder = Callable[[CommandLine, dict[str, Any], list[tuple[str, int]], tuple[Any, ...] | None], dict[str, Any]]


@dataclass(frozen=True)
class ChatCommand:
    """One chat command of a family: its options table, its help, and how it builds a request."""

    name: str
    usage: str  # "/improv CHORDS [option:value ...]  - a melody improvised over your chords"
    example: str
    positional: str  # what the words that are not options mean
    options: tuple[Option, ...]
    build: Builder
    description: str = ""  # one line for Discord's command list
    positional_name: str = "words"  # what Discord calls the words that are not options
    positional_help: str = ""  # Discord's description of the words
    positional_required: bool = False
    suggest: Callable[[str], list[str]] | None = None  # completions of the words as typed so far
    # The function ("module:name", run in the bot's sandboxed child process) that reads an attached MIDI file
    # into what `build` gets as `attached`; "" when the command takes no attachment.
    attachment_reader: str = MELODY_READER
    attachment_help: str = "a MIDI melody to start from"
    attachments: int = 1  # the most MIDI files one command reads (/interpolate: 2)
    needs_files: bool = False  # the builder refuses a line without its files: front ends parse it only with them
    default_qpm: float = 120.0
    default_temperature: float = 1.0
    # (the command's words as a short phrase, or "" when none; the config) -> (share page headline, a line
    # for link previews, what one output is called)
    describe: Callable[[str, str], tuple[str, str, str]] = lambda words, config: ("A piece", "A piece", "Piece")

    @property
    def takes_attachment(self) -> bool:
        return bool(self.attachment_reader)

    @property
    def first_example(self) -> str:
        """The first command of `example` ("e.g. /a ...    /a ..." -> "/a ..."), for one-line lists of commands."""
        return self.example.removeprefix("e.g. ").split("    ")[0].strip()
