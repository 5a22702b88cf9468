"""/harmonize and /chorale: the polyphony family's chat commands (options, help, and the requests they build)."""

from __future__ import annotations

from typing import Any

from generation.families.chat import (
    MAX_BARS,
    QPM,
    SEED,
    TEMPERATURE,
    ChatCommand,
    CommandLine,
    Option,
    bars,
    config_option,
    on_off_option,
    outputs,
)
from generation.music.chords import ChordError, parse_chord
from generation.music.primer import parse_melody_words

LOW, HIGH = 21, 108  # what the chorale/harmony commands accept; the model checks its own range
MODEL = "the polyphony model"
HARMONIZER, RNN = "leadsheet_harmonizer", "polyphony"  # /harmonize's configs, the default first
MAX_CHORDS = 256


def parse_chord_list(text: str) -> tuple[str, ...]:
    """"C,G7,Am,F" -> the figures, each checked (ChordError names the bad one)."""
    figures = [f for f in text.split(",") if f.strip()]
    if not figures:
        raise ValueError("no chords given; e.g. chords:C,G7,C,C")
    if len(figures) > MAX_CHORDS:
        raise ValueError(f"{len(figures)} chords; at most {MAX_CHORDS}")
    try:
        return tuple(parse_chord(f).figure or "N.C." for f in figures)
    except ChordError as e:
        raise ValueError(str(e)) from None


HARMONIZE_OPTIONS: tuple[Option, ...] = (
    config_option("which harmoniser: chords learnt from lead sheets, or the Polyphony RNN (Magenta's)",
                  (HARMONIZER, RNN), HARMONIZER),
    Option("chords", "the melody's own chord symbols, spread evenly over its bars (leadsheet_harmonizer)", None,
           parse_chord_list, "figures separated by commas, e.g. C,G7,C,C (one per bar of a 4-bar melody)"),
    bars("length in bars (default: the melody's, rounded up to whole bars)", None),
    QPM, TEMPERATURE, outputs("harmonisations"), SEED,
)
CHORALE_OPTIONS: tuple[Option, ...] = (
    Option("melody", "a melody to start from instead of pitches", None, parse_melody_words,
           "notes or events, e.g. C4,-,E4,- or [60,-2,64,-2] (- or -2 hold, r or -1 rest); or attach a MIDI file"),
    bars("length in bars", 8),
    on_off_option("keep", "keep the primer in the output", True),
    QPM, TEMPERATURE, outputs("chorales"), SEED,
)


def build_harmonize(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
                    attached: tuple[int, ...] | None) -> dict[str, Any]:
    if attached:
        melody = attached
    elif words:
        melody = line.melody_words(words)
    else:
        raise line.error("", "no melody given; type one (e.g. /harmonize C4 - E4 - G4 - - -) or attach a MIDI file")
    if not any(e >= 0 for e in melody):
        raise line.error(words[0][0] if words else "", "the melody has no notes to harmonise", -1)
    line.check_range(melody, LOW, HIGH, MODEL, "", bool(attached))
    bars_ = values.get("bars") or -(-len(melody) // 16)
    if bars_ > MAX_BARS:
        raise line.error("", f"the melody lasts {len(melody)} 16th notes ({bars_} bars); at most {MAX_BARS} bars "
                         "can be harmonised at once", -1)
    config = values.get("config", HARMONIZER)
    chords = values.get("chords", ())
    if chords and config != HARMONIZER:
        raise line.error_at("chords:", f"chords: are voiced by config:{HARMONIZER}; config:{config} writes its "
                            "own harmony")
    steps = bars_ * 16
    if chords and (steps % len(chords) or (steps // len(chords)) % 4):
        fits = [n for n in range(1, steps // 4 + 1) if (steps // 4) % n == 0]
        raise line.error_at("chords:", f"{len(chords)} chords cannot share {bars_} bar{'s' * (bars_ > 1)} evenly "
                            f"in whole beats; give {', '.join(map(str, fits))} chords")
    return {"config": config, "primer": tuple(melody), "num_steps": steps, "condition_on_primer": False,
            "inject_primer": True, "chords": tuple(chords)}


def build_chorale(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
                  attached: tuple[int, ...] | None) -> dict[str, Any]:
    melody = attached or values.get("melody")
    if melody and words:
        raise line.error(words[0][0], "give pitches or a melody (melody: or an attached MIDI), not both",
                         words[0][1])
    pitches: tuple[int, ...] = ()
    if not melody:
        pitches = line.pitch_words(words, LOW, HIGH) if words else (67, 64, 60)
    else:
        line.check_range(melody, LOW, HIGH, MODEL, "melody:", bool(attached))
    num_steps = values.get("bars", 8) * 16
    primer_steps = len(melody) if melody else 4
    if primer_steps >= num_steps:
        raise line.error_at("bars:", f"the primer lasts {primer_steps} 16th notes, the chorale only {num_steps}; "
                            "add bars")
    return {"config": "polyphony", "primer": tuple(melody or ()), "primer_pitches": pitches,
            "num_steps": num_steps, "condition_on_primer": True, "inject_primer": values.get("keep", True)}


COMMANDS = (
    ChatCommand(
        name="harmonize",
        usage="/harmonize MELODY [option:value ...]  - four-part harmony under your melody (chords learnt from "
              "lead sheets; config:polyphony for the Polyphony RNN)",
        example="e.g. /harmonize C4 - C4 - G4 - G4 - A4 - A4 - G4 - - -    /harmonize E4 - D4 - C4 - - - chords:C,G7"
                "    or attach a MIDI melody",
        positional="melody: one word per 16th note: a note (C4, F#5, 60), - to hold it, r for a rest; the melody "
                   "stays the top voice",
        options=HARMONIZE_OPTIONS, build=build_harmonize,
        describe=lambda words, config: (
            "Your melody, harmonised in four parts",
            "A melody harmonised in four parts by the Polyphony RNN" if config == RNN else
            "A melody harmonised in four parts, with chords learnt from folk and song lead sheets", "Harmonisation"),
        description="Four-part harmony under your melody (see /help)",
        positional_name="melody",
        positional_help="one word per 16th note: C4 - E4 - G4 r (- holds, r rests), or attach midi",
    ),
    ChatCommand(
        name="chorale",
        usage="/chorale [PITCHES] [option:value ...]  - a chorale grown from a chord or a melody (Polyphony RNN)",
        example="e.g. /chorale G4 E4 C4    /chorale 67 64 60 bars:4 keep:off    /chorale melody:C4,-,D4,-,E4",
        positional="pitches: notes sounding together for the first beat (default C major: G4 E4 C4)",
        options=CHORALE_OPTIONS, build=build_chorale,
        describe=lambda pitches, config: (
            f"A chorale{' grown from ' + pitches if pitches else ''}",
            f"A Bach-style chorale{' grown from ' + pitches if pitches else ''}, written by the Polyphony RNN",
            "Chorale"),
        description="A chorale grown from a chord or a melody (see /help)",
        positional_name="pitches",
        positional_help="notes sounding together at the start, e.g. G4 E4 C4 (default C major)",
    ),
)
