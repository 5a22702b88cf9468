"""/perform: the Performance RNN's chat command (options, help, and the request it builds)."""

from __future__ import annotations

from typing import Any

from generation.families.chat import (
    SEED,
    TEMPERATURE,
    ChatCommand,
    CommandLine,
    Option,
    config_option,
    numeric,
    outputs,
)
from generation.families.performance.config import CONFIGS, config_taking
from generation.families.performance.primer import histogram_from_names, parse_histogram
from generation.music.primer import parse_melody_words

MAX_SECONDS = 120
LOW, HIGH = 21, 108

OPTIONS: tuple[Option, ...] = (
    config_option("which Performance RNN", tuple(CONFIGS), "multiconditioned_performance_with_dynamics"),
    numeric("density", "notes per second to aim at", None, float, 0.25, 64),
    Option("notes", "the pitch classes to favour", None, histogram_from_names,
           'note names, e.g. "C E G B" or C,Eb,G (quote spaces)'),
    Option("histogram", "pitch-class weights C to B", None, parse_histogram,
           "12 numbers >= 0, e.g. [2,0,0,0,1,0,0,1,0,0,0,1]"),
    numeric("seconds", "length in seconds", 30, int, 1, MAX_SECONDS),
    Option("melody", "a melody to start from instead of pitches", None, parse_melody_words,
           "notes or events, e.g. C4,-,E4,- (16th notes at 120 qpm; - hold, r rest); or attach a MIDI file"),
    TEMPERATURE, outputs("performances"), SEED,
)


def build(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
          attached: tuple[int, ...] | None) -> dict[str, Any]:
    config = values.get("config", OPTIONS[0].default)
    if "notes" in values and "histogram" in values:
        raise line.error_at("histogram:", "give notes: or histogram:, not both")
    histogram = values.get("histogram") or values.get("notes") or ()
    for option, control, given in (("density:", "notes_per_second", "density" in values),
                                   ("notes:" if "notes" in values else "histogram:", "pitch_class_histogram",
                                    bool(histogram))):
        if given and control not in CONFIGS[config].controls:
            raise line.error_at(option, f"{config} cannot take {option.rstrip(':')}; use "
                                f"config:{' or config:'.join(config_taking(control))}")
    melody = attached or values.get("melody")
    if melody and words:
        raise line.error(words[0][0], "give pitches or a melody (melody: or an attached MIDI), not both",
                         words[0][1])
    pitches = line.pitch_words(words, LOW, HIGH) if words else ()
    num_steps = values.get("seconds", 30) * 100
    if melody and len(melody) * 12.5 >= num_steps:
        raise line.error_at("seconds:", f"the melody lasts {len(melody) * 0.125:g} s, the performance only "
                            f"{num_steps // 100} s; raise seconds")
    return {"config": config, "primer": tuple(melody or ()), "primer_pitches": pitches, "num_steps": num_steps,
            "notes_per_second": values.get("density", 0.0),
            "pitch_class_histogram": tuple(float(v) for v in histogram)}


COMMANDS = (ChatCommand(
    name="perform",
    usage="/perform [PITCHES] [option:value ...]  - expressive piano with dynamics (Performance RNN)",
    example="e.g. /perform density:1 notes:\"C E G B\"    /perform C4 E4 G4 density:8 seconds:20",
    positional="pitches: notes to start from, held for half a second (default: none)",
    options=OPTIONS, build=build,
    description="Expressive piano with dynamics (see /help perform)",
    positional_name="pitches",
    positional_help="notes to start from, e.g. C4 E4 G4 (default: none)",
    describe=lambda pitches, config: (
        "A piano performance by the Performance RNN",
        f"An expressive piano performance, timing and dynamics included, by the Performance RNN ({config})",
        "Performance"),
),)
