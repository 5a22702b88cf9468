"""/pianoroll: the Pianoroll RNN-NADE's chat command (options, help, and the request it builds)."""

from __future__ import annotations

import dataclasses
from typing import Any

from generation.errors import InputError
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
from generation.families.pianoroll.config import CONFIGS, MAX_PITCH, MIN_PITCH
from generation.music.primer import parse_primer_pianoroll

OPTIONS: tuple[Option, ...] = (
    config_option("which piano-roll model", tuple(CONFIGS), "rnn-nade", spelling="-"),
    bars("length in bars of 4/4", 4),
    dataclasses.replace(QPM, default=60.0, help="tempo, quarter notes per minute (Magenta's default: 60)"),
    TEMPERATURE, outputs("pieces"), SEED,
)


def build(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
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
            if not MIN_PITCH <= pitch <= MAX_PITCH:
                raise line.error(words[0][0], f"primer: pitch {pitch} is not a piano key ({MIN_PITCH}-"
                                 f"{MAX_PITCH})", words[0][1])
    num_steps = values.get("bars", 4) * 4 * CONFIGS[config].steps_per_quarter
    if len(frames) >= num_steps:
        raise line.error_at("bars:", f"the primer has {len(frames)} steps, the piece only {num_steps}; add bars")
    return {"config": config, "primer_pianoroll": tuple(tuple(sorted(f)) for f in frames), "num_steps": num_steps}


COMMANDS = (ChatCommand(
    name="pianoroll",
    usage="/pianoroll [PRIMER] [option:value ...]  - piano music from a piano-roll primer (RNN-NADE)",
    example="e.g. /pianoroll [(55,), (55,64,), (55,64,72,)] config:rnn-nade-bach",
    positional="primer: the pitches sounding at each step, e.g. [(60, 64, 67), (62,), ()]; one step is a 16th "
               "note for rnn-nade and a quarter note for rnn-nade-bach",
    options=OPTIONS, build=build,
    description="Piano music from a piano-roll primer (see /help)",
    positional_name="primer",
    positional_help="pitches per step, e.g. [(60, 64, 67), (62,), ()]",
    attachment_reader="", default_qpm=60.0,
    describe=lambda primer, config: (
        f"{'A Bach-style piano piece' if config.endswith('bach') else 'A piano piece'} by RNN-NADE",
        f"{'A Bach-style piano piece' if config.endswith('bach') else 'A piano piece'} written note by note by "
        f"RNN-NADE ({config})", "Piece"),
),)
