"""/improv: the Improv RNN's chat command (options, help, and the request it builds)."""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from generation.families.chat import (
    QPM,
    SEED,
    TEMPERATURE,
    ChatCommand,
    CommandError,
    CommandLine,
    Option,
    bars,
    config_option,
    numeric,
    on_off_option,
    outputs,
)
from generation.families.improv.config import CONFIGS, MAX_NOTES_PER_BAR, MAX_TOTAL_STEPS, MIN_NOTES_PER_BAR
from generation.families.improv.encoding import encode_chords
from generation.music.chords import ChordError, normalise_figure, parse_chord
from generation.music.primer import parse_primer_melody

OPTIONS: tuple[Option, ...] = (
    config_option("which Improv RNN", tuple(CONFIGS), "chord_pitches_improv"),
    Option("primer", "the melody to start from", (60,), parse_primer_melody,
           "MIDI pitches/events, e.g. 60 or [60,-2,62,-2] (-2 hold, -1 rest); or attach a MIDI file"),
    bars("length in bars; the chords repeat to fill it (default: one pass)", None),
    numeric("steps_per_chord", "16th notes per chord", 16, int, 1, 64, "1-64 (16 = one bar of 4/4)"),
    numeric("notes_per_bar", "how busy the melody is (default: like human lead sheets over such chords)", None,
            float, MIN_NOTES_PER_BAR, MAX_NOTES_PER_BAR),
    QPM, TEMPERATURE, outputs("melodies"), SEED,
    on_off_option("chords", "play the chords under the melody", True, slash_name="render_chords"),
)


def build(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
          attached: tuple[int, ...] | None) -> dict[str, Any]:
    if "bars" in values and "steps_per_chord" in values:
        raise line.error("bars:", "give bars: or steps_per_chord:, not both")
    config = values.get("config", OPTIONS[0].default)
    steps_per_chord = values.get("steps_per_chord", 16)
    chords, chord_columns = _chords(line.text, words, MAX_TOTAL_STEPS // steps_per_chord, steps_per_chord)
    try:
        encode_chords([parse_chord(c) for c in chords], CONFIGS[config])
    except ChordError as e:
        bad = next((i for i, c in enumerate(chords) if c == normalise_figure(e.token)), None)
        raise line.error(e.token, str(e), chord_columns[bad] if bad is not None else None) from None
    if "bars" in values:  # one chord per bar, the progression repeated (or cut) to fill the bars
        chords = [chords[i % len(chords)] for i in range(values["bars"])]
    primer = attached or values.get("primer", (60,))
    total = len(chords) * steps_per_chord
    if len(primer) >= total:
        raise line.error("primer", f"the primer is {len(primer)} steps but the chords last {total}; "
                         "add chords or bars, or shorten the primer", -1)
    low, high = CONFIGS[config].min_note, CONFIGS[config].max_note - 1
    line.check_range(primer, low, high, config, "primer:", bool(attached))
    return {"config": config, "chords": tuple(chords), "steps_per_chord": steps_per_chord,
            "primer": tuple(primer), "render_chords": values.get("chords", True),
            "notes_per_bar": values.get("notes_per_bar") or 0.0}


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


_ROOTS = ("C", "C#", "Db", "D", "Eb", "E", "F", "F#", "Gb", "G", "Ab", "A", "Bb", "B")
_KINDS = ("", "m", "7", "maj7", "m7", "m7b5", "dim", "dim7", "aug", "sus4", "6", "m6", "9", "m9", "add9", "11", "13")
_COMMON = ("C", "G", "Am", "F", "Dm", "Em", "D", "E7", "G7", "Cmaj7")


@functools.cache
def _figures() -> tuple[str, ...]:
    figures = []
    for figure in (root + kind for root in _ROOTS for kind in _KINDS):
        with contextlib.suppress(ChordError):
            parse_chord(figure)
            figures.append(figure)
    return tuple(figures)


def suggest_chords(current: str) -> list[str]:
    """Completions of the last chord being typed, each the whole field with that chord completed."""
    head, _, last = current.rpartition(" ")
    if last:
        figures = [f for f in _figures() if f.lower().startswith(last.lower())]
        # same spelling first, then the same root (A before Ab), then the short figures
        figures.sort(key=lambda f: (not f.startswith(last), f[len(last):len(last) + 1] in ("#", "b"), len(f)))
    else:
        figures = [f for f in _figures() if f in _COMMON]
    return [f"{head} {f}".strip() for f in figures]


COMMANDS = (ChatCommand(
    name="improv",
    usage="/improv CHORDS [option:value ...]  - a melody improvised over your chords",
    example="e.g. /improv C G Am F primer:60    /improv Dm7 G7 Cmaj7 bars:8 config:basic_improv",
    positional="chords: C G Am F G7/F Bm7b5 Cmaj7 C#m11 ... (slash bass: G7/F or \"C on G\"; N.C. = no chord)",
    options=OPTIONS, build=build,
    description="A melody improvised over your chords (see /help)",
    positional_name="chords", positional_required=True,
    positional_help="chord symbols, e.g. C G Am F or Dm7 G7 Cmaj7 (G7/F for a bass note)",
    suggest=suggest_chords,
    describe=lambda chords, config: (f"A melody improvised over {chords or 'your chords'}",
                                     f"A melody improvised over {chords or 'your chords'} by {config}", "Melody"),
),)
