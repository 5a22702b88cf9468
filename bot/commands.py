"""One command grammar for every front end: "/improv C G Am F primer:60 bars:8" -> GenerationRequest.

The option table below drives the parser, `/help`, and the typed options of the Discord/Slack adapters.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.command_line import CommandError as CommandError  # re-exported: front ends catch it from here
from bot.command_line import check_length, split_words
from generation.errors import InputError
from generation.families.registry import family
from generation.models.improv.config import CONFIGS, MAX_TOTAL_STEPS
from generation.models.improv.encoding import encode_chords
from generation.models.performance.config import CONFIGS as PERFORMANCE
from generation.models.performance.config import config_taking
from generation.models.performance.primer import histogram_from_names, parse_histogram
from generation.models.pianoroll.config import CONFIGS as PIANOROLL
from generation.models.pianoroll.config import MAX_PITCH as PIANO_MAX_PITCH
from generation.models.pianoroll.config import MIN_PITCH as PIANO_MIN_PITCH
from generation.music.chords import ChordError, normalise_figure, parse_chord
from generation.music.primer import (
    note_number,
    parse_melody_words,
    parse_primer_melody,
    parse_primer_pianoroll,
)
from generation.request import GenerationRequest

MAX_BARS = 64
POLYPHONY_LOW, POLYPHONY_HIGH = 21, 108  # what the chorale/harmony commands accept; the model checks its own range
PIANO_LOW, PIANO_HIGH = PIANO_MIN_PITCH, PIANO_MAX_PITCH  # the 88 keys RNN-NADE plays
PIANOROLL_CONFIGS = tuple(PIANOROLL)
PERFORMANCE_CONFIGS = tuple(PERFORMANCE)
MAX_SECONDS = 120


MAX_NUMBER_CHARS = 24  # longer than any number an option allows; int() of 5000 digits is refused by Python itself


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


def _choice(choices: tuple[str, ...], spelling: str = "_") -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.replace("-" if spelling == "_" else "_", spelling)
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


QPM = Option("qpm", "tempo, quarter notes per minute", 120.0, _number(float, 30, 300), "30-300", low=30, high=300)
TEMPERATURE = Option("temperature", "randomness (1.0 = the model's own)", 1.0, _number(float, 0.1, 3.0), "0.1-3.0",
                     low=0.1, high=3.0)
SEED = Option("seed", "same seed, same music", None, _number(int, 0, 2**31 - 1), "0-2147483647", low=0,
              high=2**31 - 1)


def _outputs(what: str) -> Option:
    return Option("outputs", f"how many {what}", 1, _number(int, 1, 4), "1-4", low=1, high=4)


def _bars(what: str, default: int | None) -> Option:
    return Option("bars", what, default, _number(int, 1, MAX_BARS), f"1-{MAX_BARS}", low=1, high=MAX_BARS)


OPTIONS: tuple[Option, ...] = (  # /improv
    Option("config", "which Improv RNN", "chord_pitches_improv", _choice(tuple(CONFIGS)),
           " | ".join(CONFIGS), choices=tuple(CONFIGS)),
    Option("primer", "the melody to start from", (60,), parse_primer_melody,
           "MIDI pitches/events, e.g. 60 or [60,-2,62,-2] (-2 hold, -1 rest); or attach a MIDI file"),
    _bars("length in bars; the chords repeat to fill it (default: one pass)", None),
    Option("steps_per_chord", "16th notes per chord", 16, _number(int, 1, 64), "1-64 (16 = one bar of 4/4)",
           low=1, high=64),
    QPM, TEMPERATURE, _outputs("melodies"), SEED,
    Option("chords", "play the chords under the melody", True, _on_off, "on | off", choices=("on", "off")),
)
OPTION_BY_NAME = {o.name: o for o in OPTIONS}
HARMONIZE_OPTIONS: tuple[Option, ...] = (
    _bars("length in bars (default: the melody's, rounded up to whole bars)", None),
    QPM, TEMPERATURE, _outputs("harmonisations"), SEED,
)
CHORALE_OPTIONS: tuple[Option, ...] = (
    Option("melody", "a melody to start from instead of pitches", None, parse_melody_words,
           "notes or events, e.g. C4,-,E4,- or [60,-2,64,-2] (- or -2 hold, r or -1 rest); or attach a MIDI file"),
    _bars("length in bars", 8),
    Option("keep", "keep the primer in the output", True, _on_off, "on | off", choices=("on", "off")),
    QPM, TEMPERATURE, _outputs("chorales"), SEED,
)
PIANOROLL_OPTIONS: tuple[Option, ...] = (
    Option("config", "which piano-roll model", "rnn-nade", _choice(PIANOROLL_CONFIGS, spelling="-"),
           " | ".join(PIANOROLL_CONFIGS), choices=PIANOROLL_CONFIGS),
    _bars("length in bars of 4/4", 4),
    dataclasses.replace(QPM, default=60.0, help="tempo, quarter notes per minute (Magenta's default: 60)"),
    TEMPERATURE, _outputs("pieces"), SEED,
)
PERFORM_OPTIONS: tuple[Option, ...] = (
    Option("config", "which Performance RNN", "multiconditioned_performance_with_dynamics",
           _choice(PERFORMANCE_CONFIGS), " | ".join(PERFORMANCE_CONFIGS), choices=PERFORMANCE_CONFIGS),
    Option("density", "notes per second to aim at", None, _number(float, 0.25, 64), "0.25-64", low=0.25, high=64),
    Option("notes", "the pitch classes to favour", None, histogram_from_names,
           'note names, e.g. "C E G B" or C,Eb,G (quote spaces)'),
    Option("histogram", "pitch-class weights C to B", None, parse_histogram,
           "12 numbers >= 0, e.g. [2,0,0,0,1,0,0,1,0,0,0,1]"),
    Option("seconds", "length in seconds", 30, _number(int, 1, MAX_SECONDS), f"1-{MAX_SECONDS}", low=1,
           high=MAX_SECONDS),
    Option("melody", "a melody to start from instead of pitches", None, parse_melody_words,
           "notes or events, e.g. C4,-,E4,- (16th notes at 120 qpm; - hold, r rest); or attach a MIDI file"),
    TEMPERATURE, _outputs("performances"), SEED,
)
OPTIONS_OF = {"improv": OPTIONS, "harmonize": HARMONIZE_OPTIONS, "chorale": CHORALE_OPTIONS,
              "pianoroll": PIANOROLL_OPTIONS, "perform": PERFORM_OPTIONS}
COMMANDS = (*OPTIONS_OF, "help")
_OPTION_TOKEN = re.compile(r"^([a-z_]+):(.*)$", re.DOTALL)
USAGE = {
    "improv": ("/improv CHORDS [option:value ...]  - a melody improvised over your chords",
               "e.g. /improv C G Am F primer:60    /improv Dm7 G7 Cmaj7 bars:8 config:basic_improv",
               "chords: C G Am F G7/F Bm7b5 Cmaj7 C#m11 ... (slash bass: G7/F or \"C on G\"; N.C. = no chord)"),
    "harmonize": ("/harmonize MELODY [option:value ...]  - four-part harmony under your melody (Polyphony RNN)",
                  "e.g. /harmonize C4 - C4 - G4 - G4 - A4 - A4 - G4 - - -    or attach a MIDI melody",
                  "melody: one word per 16th note: a note (C4, F#5, 60), - to hold it, r for a rest; the melody "
                  "stays the top voice"),
    "chorale": ("/chorale [PITCHES] [option:value ...]  - a chorale grown from a chord or a melody (Polyphony RNN)",
                "e.g. /chorale G4 E4 C4    /chorale 67 64 60 bars:4 keep:off    /chorale melody:C4,-,D4,-,E4",
                "pitches: notes sounding together for the first beat (default C major: G4 E4 C4)"),
    "pianoroll": ("/pianoroll [PRIMER] [option:value ...]  - piano music from a piano-roll primer (RNN-NADE)",
                  "e.g. /pianoroll [(55,), (55,64,), (55,64,72,)] config:rnn-nade-bach",
                  "primer: the pitches sounding at each step, e.g. [(60, 64, 67), (62,), ()]; one step is a 16th "
                  "note for rnn-nade and a quarter note for rnn-nade-bach"),
    "perform": ("/perform [PITCHES] [option:value ...]  - expressive piano with dynamics (Performance RNN)",
                "e.g. /perform density:1 notes:\"C E G B\"    /perform C4 E4 G4 density:8 seconds:20",
                "pitches: notes to start from, held for half a second (default: none)"),
}


def help_text(topic: str = "") -> str:
    """`/help`: every command with an example; `/help COMMAND`: that command's options, from its table."""
    if topic in OPTIONS_OF:
        usage, example, positional = USAGE[topic]
        lines = [usage, f"  {example}", f"  {positional}", "  options:"]
        lines += [f"    {o.name}:  {o.help}. Allowed: {o.allowed}." for o in OPTIONS_OF[topic]]
        return "\n".join(lines)
    lines = []
    for name in OPTIONS_OF:
        usage, example, _ = USAGE[name]
        lines += [usage, f"  {example}"]
    lines.append("/help COMMAND  - a command's options, e.g. /help improv")
    return "\n".join(lines)


@dataclass(frozen=True)
class ParsedCommand:
    name: str  # a command of COMMANDS
    request: GenerationRequest | None
    seed_given: bool = False
    topic: str = ""  # /help COMMAND


def parse_command(text: str, *, primer_from_attachment: tuple[int, ...] | None = None,
                  default_seed: int = 0, installed: frozenset[str] | None = None) -> ParsedCommand:
    """Parse one command line.

    Args:
        text: what the user typed, e.g. "/improv C G Am F primer:60".
        primer_from_attachment: melody events read from an attached MIDI (wins over a typed melody).
        default_seed: used when the user gives no seed: (the caller draws a random one).
        installed: configs with a trained model on this bot (None: do not check).

    Raises:
        CommandError: with the bad token and what is allowed.
    """
    check_length(text)  # before anything reads the text
    stripped = text.strip()
    split = split_words(stripped)
    tokens, columns = [w for w, _ in split], [c for _, c in split]
    if not tokens:
        raise CommandError(stripped, "", "empty command; try /help")
    name = tokens[0].lstrip("/").lower()
    name = {"harmonise": "harmonize"}.get(name, name)
    if name not in COMMANDS:
        raise CommandError(stripped, tokens[0], f"unknown command {tokens[0]!r}; commands: "
                           + ", ".join("/" + c for c in COMMANDS))
    if name == "help":
        topic = tokens[1].lstrip("/").lower() if len(tokens) > 1 else ""
        if topic and topic not in OPTIONS_OF:
            raise CommandError(stripped, tokens[1], f"no command {tokens[1]!r}; commands: "
                               + ", ".join("/" + c for c in COMMANDS), columns[1])
        return ParsedCommand("help", None, topic=topic)
    line = _Line(stripped, tokens, columns)
    values, words = line.options(OPTIONS_OF[name])
    build = {"improv": _improv, "harmonize": _harmonize, "chorale": _chorale, "pianoroll": _pianoroll,
             "perform": _perform}[name]
    fields = build(line, values, words, primer_from_attachment)
    config = fields["config"]
    if installed is not None and config not in installed:
        raise CommandError(stripped, f"config:{config}", f"{config} is not installed on this bot; available: "
                           + ", ".join(sorted(installed)), line.column_of("config:"))
    plugin = family(fields.pop("family"))
    request = GenerationRequest(
        plugin.name, fields.pop("config"), plugin.params(**fields),
        qpm=values.get("qpm", {"pianoroll": 60.0}.get(name, QPM.default)),
        temperature=values.get("temperature", 1.0),
        num_outputs=values.get("outputs", 1),
        seed=values.get("seed", default_seed),
    )
    return ParsedCommand(name, request, seed_given="seed" in values)


@dataclass(frozen=True)
class _Line:
    """A command's tokens and where each starts, for errors that point at the token."""

    text: str
    tokens: list[str]
    columns: list[int]

    def error(self, token: str, reason: str, column: int | None = None) -> CommandError:
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


def _improv(line: _Line, values: dict[str, Any], words: list[tuple[str, int]],
            attached: tuple[int, ...] | None) -> dict[str, Any]:
    if "bars" in values and "steps_per_chord" in values:
        raise line.error("bars:", "give bars: or steps_per_chord:, not both")
    config = values.get("config", OPTION_BY_NAME["config"].default)
    steps_per_chord = values.get("steps_per_chord", 16)
    chords, chord_columns = _chords(line.text, words, MAX_TOTAL_STEPS // steps_per_chord, steps_per_chord)
    try:
        encode_chords([parse_chord(c) for c in chords], CONFIGS[config])
    except ChordError as e:
        bad = next((i for i, c in enumerate(chords) if c == normalise_figure(e.token)), None)
        raise line.error(e.token, str(e), chord_columns[bad] if bad is not None else None) from None
    if "bars" in values:  # one chord per bar, the progression repeated (or cut) to fill the bars
        bars = values["bars"]
        chords = [chords[i % len(chords)] for i in range(bars)]
    primer = attached or values.get("primer", (60,))
    total = len(chords) * steps_per_chord
    if len(primer) >= total:
        raise line.error("primer", f"the primer is {len(primer)} steps but the chords last {total}; "
                         "add chords or bars, or shorten the primer", -1)
    low, high = CONFIGS[config].min_note, CONFIGS[config].max_note - 1
    _check_range(line, primer, low, high, config, "primer:", bool(attached))
    return {"family": "improv", "config": config, "chords": tuple(chords), "steps_per_chord": steps_per_chord,
            "primer": tuple(primer), "render_chords": values.get("chords", True)}


def _harmonize(line: _Line, values: dict[str, Any], words: list[tuple[str, int]],
               attached: tuple[int, ...] | None) -> dict[str, Any]:
    if attached:
        melody = attached
    elif words:
        melody = _melody_words(line, words)
    else:
        raise line.error("", "no melody given; type one (e.g. /harmonize C4 - E4 - G4 - - -) or attach a MIDI file")
    if not any(e >= 0 for e in melody):
        raise line.error(words[0][0] if words else "", "the melody has no notes to harmonise", -1)
    _check_range(line, melody, POLYPHONY_LOW, POLYPHONY_HIGH, "the polyphony model", "", bool(attached))
    bars = values.get("bars") or -(-len(melody) // 16)
    if bars > MAX_BARS:
        raise line.error("", f"the melody lasts {len(melody)} 16th notes ({bars} bars); at most {MAX_BARS} bars "
                         "can be harmonised at once", -1)
    return {"family": "polyphony", "config": "polyphony", "primer": tuple(melody), "num_steps": bars * 16,
            "condition_on_primer": False, "inject_primer": True}


def _chorale(line: _Line, values: dict[str, Any], words: list[tuple[str, int]],
             attached: tuple[int, ...] | None) -> dict[str, Any]:
    melody = attached or values.get("melody")
    if melody and words:
        raise line.error(words[0][0], "give pitches or a melody (melody: or an attached MIDI), not both",
                         words[0][1])
    pitches: tuple[int, ...] = ()
    if not melody:
        pitches = _pitch_words(line, words) if words else (67, 64, 60)
    else:
        _check_range(line, melody, POLYPHONY_LOW, POLYPHONY_HIGH, "the polyphony model", "melody:", bool(attached))
    num_steps = values.get("bars", 8) * 16
    primer_steps = len(melody) if melody else 4
    if primer_steps >= num_steps:
        raise line.error(*_at(line.token_of("bars:"), f"the primer lasts {primer_steps} 16th notes, the chorale "
                                                      f"only {num_steps}; add bars"))
    return {"family": "polyphony", "config": "polyphony", "primer": tuple(melody or ()),
            "primer_pitches": pitches, "num_steps": num_steps, "condition_on_primer": True,
            "inject_primer": values.get("keep", True)}


def _pianoroll(line: _Line, values: dict[str, Any], words: list[tuple[str, int]],
               attached: tuple[int, ...] | None) -> dict[str, Any]:
    if attached:
        raise line.error("", "/pianoroll takes a typed primer, e.g. [(60, 64, 67), (62,)]; attach MIDI to "
                         "/chorale or /harmonize instead", -1)
    config = values.get("config", "rnn-nade")
    frames: tuple[frozenset[int], ...] = (frozenset({60, 64, 67}),)
    if words:
        try:
            frames = parse_primer_pianoroll(" ".join(w for w, _ in words))
        except InputError as e:
            raise line.error(words[0][0], str(e).rstrip("."), words[0][1]) from None
    for frame in frames:
        for pitch in frame:
            if not PIANO_LOW <= pitch <= PIANO_HIGH:
                raise line.error(words[0][0], f"primer: pitch {pitch} is not a piano key ({PIANO_LOW}-"
                                 f"{PIANO_HIGH})", words[0][1])
    num_steps = values.get("bars", 4) * 4 * PIANOROLL[config].steps_per_quarter
    if len(frames) >= num_steps:
        raise line.error(*_at(line.token_of("bars:"), f"the primer has {len(frames)} steps, the piece only "
                                                      f"{num_steps}; add bars"))
    return {"family": "pianoroll", "config": config,
            "primer_pianoroll": tuple(tuple(sorted(f)) for f in frames), "num_steps": num_steps}


def _perform(line: _Line, values: dict[str, Any], words: list[tuple[str, int]],
             attached: tuple[int, ...] | None) -> dict[str, Any]:
    config = values.get("config", "multiconditioned_performance_with_dynamics")
    if "notes" in values and "histogram" in values:
        raise line.error(*_at(line.token_of("histogram:"), "give notes: or histogram:, not both"))
    histogram = values.get("histogram") or values.get("notes") or ()
    for option, control, given in (("density:", "notes_per_second", "density" in values),
                                   ("notes:" if "notes" in values else "histogram:", "pitch_class_histogram",
                                    bool(histogram))):
        if given and control not in PERFORMANCE[config].controls:
            raise line.error(*_at(line.token_of(option), f"{config} cannot take {option.rstrip(':')}; use "
                                  f"config:{' or config:'.join(config_taking(control))}"))
    melody = attached or values.get("melody")
    if melody and words:
        raise line.error(words[0][0], "give pitches or a melody (melody: or an attached MIDI), not both",
                         words[0][1])
    pitches = _pitch_words(line, words) if words else ()
    num_steps = values.get("seconds", 30) * 100
    if melody and len(melody) * 12.5 >= num_steps:
        raise line.error(*_at(line.token_of("seconds:"), f"the melody lasts {len(melody) * 0.125:g} s, the "
                              f"performance only {num_steps // 100} s; raise seconds"))
    return {"family": "performance", "config": config, "primer": tuple(melody or ()), "primer_pitches": pitches,
            "num_steps": num_steps, "notes_per_second": values.get("density", 0.0),
            "pitch_class_histogram": tuple(float(v) for v in histogram)}


def _at(found: tuple[str, int], reason: str) -> tuple[str, str, int]:
    return found[0], reason, found[1]


def _check_range(line: _Line, events: tuple[int, ...], low: int, high: int, model: str, option: str,
                 attached: bool) -> None:
    for event in events:
        if event >= 0 and not low <= event <= high:
            where = "the attached MIDI" if attached else (option.rstrip(":") or "melody")
            token, column = line.token_of(option) if option and not attached else ("", -1)
            raise line.error(token, f"{where}: pitch {event} is outside what {model} plays "
                             f"({low}-{high}); move it by octaves", column)


def _melody_words(line: _Line, words: list[tuple[str, int]]) -> tuple[int, ...]:
    try:
        return parse_melody_words(" ".join(w for w, _ in words))
    except InputError as e:
        token = getattr(e, "token", "")
        bad = next(((w, c) for w, c in words if token and token in w), words[0])
        raise line.error(bad[0], str(e).rstrip("."), bad[1]) from None


def _pitch_words(line: _Line, words: list[tuple[str, int]]) -> tuple[int, ...]:
    pitches = []
    for word, col in words:
        for tok in (t for t in re.split(r"[\s,\[\]]+", word) if t):
            pitch = note_number(tok)
            if pitch is None or not POLYPHONY_LOW <= pitch <= POLYPHONY_HIGH:
                raise line.error(word, f"{tok!r} is not a pitch we play; give notes like G4 E4 C4 or MIDI numbers "
                                 f"{POLYPHONY_LOW}-{POLYPHONY_HIGH}", col)
            pitches.append(pitch)
    if len(pitches) > 8:
        raise line.error(words[8][0], "at most 8 pitches may sound together", words[8][1])
    return tuple(dict.fromkeys(pitches))


def _chords(text: str, tokens: list[tuple[str, int]], most: int,
            steps_per_chord: int) -> tuple[list[str], list[int]]:
    """Chord tokens -> figures and their columns; "C on G" becomes C/G; the count, then each figure checked."""
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
    if len(joined) > most:  # the model's step limit, checked here so the worker never refuses it
        tok, col = joined[most]
        raise CommandError(text, tok, f"{len(joined)} chords x {steps_per_chord} steps = "
                           f"{len(joined) * steps_per_chord} steps; the model plays at most {MAX_TOTAL_STEPS} "
                           f"steps, so at most {most} chords at steps_per_chord:{steps_per_chord} "
                           "(bars: repeats a shorter progression)", col)
    figures = []
    for tok, col in joined:
        try:
            chord = parse_chord(tok)
        except ChordError as e:
            raise CommandError(text, tok, str(e), col) from None
        figures.append(chord.figure or "N.C.")
    return figures, [col for _, col in joined]
