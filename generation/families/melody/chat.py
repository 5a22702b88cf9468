"""/melody: the Melody RNN's chat command (options, help, and the request it builds)."""

from __future__ import annotations

from typing import Any

from generation.families.chat import (
    QPM,
    SEED,
    TEMPERATURE,
    ChatCommand,
    CommandLine,
    Option,
    bars,
    config_option,
    outputs,
)
from generation.families.melody.config import CONFIGS
from generation.music.primer import parse_primer_melody

DEFAULT_CONFIG = "lookback_rnn"  # repeats phrases, as the lecture shows; attention_rnn when trained
OPTIONS: tuple[Option, ...] = (
    config_option("which Melody RNN", tuple(CONFIGS), DEFAULT_CONFIG),
    Option("primer", "the melody to start from", (60,), parse_primer_melody,
           "MIDI pitches/events, e.g. 60 or [60,-2,62,-2] (-2 hold, -1 rest); or type notes, or attach a MIDI file"),
    bars("length in bars of 4/4", 8),
    QPM, TEMPERATURE, outputs("melodies"), SEED,
)


def build(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
          attached: tuple[int, ...] | None) -> dict[str, Any]:
    if words and "primer" in values:
        raise line.error(words[0][0], "give the melody as words or as primer:, not both", words[0][1])
    primer = attached or (line.melody_words(words) if words else values.get("primer", (60,)))
    line.check_range(primer, 0, 127, "a melody", "primer:", bool(attached))
    num_steps = values.get("bars", 8) * 16
    if len(primer) >= num_steps:
        raise line.error_at("bars:", f"the primer lasts {len(primer)} 16th notes, the melody only {num_steps}; "
                            "add bars")
    return {"config": values.get("config", DEFAULT_CONFIG), "primer": tuple(primer), "num_steps": num_steps}


COMMANDS = (ChatCommand(
    name="melody",
    usage="/melody [MELODY] [option:value ...]  - a melody continued from yours (Melody RNN)",
    example="e.g. /melody C4 - C4 - G4 - G4 -    /melody primer:[60,-2,62] config:lookback_rnn bars:16",
    positional="melody: one word per 16th note: a note (C4, F#5, 60), - to hold it, r for a rest "
               "(default: middle C)",
    options=OPTIONS, build=build,
    description="A melody continued from yours (see /help melody)",
    positional_name="melody",
    positional_help="one word per 16th note: C4 - E4 - G4 r (- holds, r rests), or attach midi",
    describe=lambda melody, config: ("A melody by the Melody RNN",
                                     f"A melody written by the Melody RNN ({config})", "Melody"),
),)
