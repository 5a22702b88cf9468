"""/drums: the Drums RNN's chat command (options, help, and the request it builds)."""

from __future__ import annotations

from typing import Any

from generation.errors import InputError
from generation.families.chat import (
    MAX_BARS,
    QPM,
    SEED,
    TEMPERATURE,
    ChatCommand,
    CommandLine,
    Option,
    bars,
    choice,
    config_option,
    outputs,
)
from generation.families.drums.config import CONFIGS, STYLE_CONTROLS
from generation.families.drums.midi import parse_primer_drums

STYLED = "drum_kit_style"
OPTIONS: tuple[Option, ...] = (
    Option("style", "the style to play", None, choice(STYLE_CONTROLS), " | ".join(STYLE_CONTROLS),
           choices=STYLE_CONTROLS),
    config_option("which Drums RNN", tuple(CONFIGS), "drum_kit"),
    bars("length in bars of 4/4 (default: 4 after the primer's bars)", None),
    QPM, TEMPERATURE, outputs("drum tracks"), SEED,
)


def build(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
          attached: tuple[tuple[int, ...], ...] | None) -> dict[str, Any]:
    style = values.get("style", "")
    config = values.get("config", STYLED if style else "drum_kit")
    if style and not CONFIGS[config].styles:
        raise line.error_at("style:", f"{config} cannot take a style; use config:{STYLED} or leave config: out")
    primer: tuple[frozenset[int], ...] = ()
    if attached:
        if words:
            raise line.error(words[0][0], "give a typed primer or an attached MIDI, not both", words[0][1])
        primer = tuple(frozenset(s) for s in attached)
    elif words:
        try:
            primer = tuple(parse_primer_drums(" ".join(w for w, _ in words)))
        except InputError as e:
            raise line.error(words[0][0], str(e).rstrip("."), words[0][1]) from None
    # Unless told the length: 4 bars after the primer's bars, counted to the nearest bar (a one-bar groove
    # whose last 16th is silent becomes five bars; a typed hit or two stays four).
    num_steps = values.get("bars", min(MAX_BARS, 4 + round(len(primer) / 16))) * 16
    if len(primer) >= num_steps:
        what = "the attached MIDI" if attached else "the primer"
        raise line.error_at("bars:", f"{what} has {len(primer)} steps, the track only {num_steps}; add bars")
    return {"config": config, "primer": tuple(tuple(sorted(s)) for s in primer), "num_steps": num_steps,
            "style": style}


COMMANDS = (ChatCommand(
    name="drums",
    usage="/drums [PRIMER] [option:value ...]  - a drum track (Drums RNN), in a style if you like",
    example="e.g. /drums style:funk bars:4 qpm:100    /drums [(36,), (), (42,), ()]    or attach a MIDI groove",
    positional="primer: the GM drum pitches struck at each 16th step, e.g. [(36,), (), (38, 42), ()] "
               "(36 kick, 38 snare, 42 hi-hat)",
    options=OPTIONS, build=build,
    description="A drum track, in a style if you like (see /help drums)",
    positional_name="primer",
    positional_help="GM drum pitches per 16th step, e.g. [(36,), (), (38, 42), ()]",
    attachment_reader="generation.families.drums.midi:read_primer_drum_bytes",
    attachment_help="a MIDI drum pattern to start from (channel 10)",
    describe=lambda primer, config: ("A drum track by the Drums RNN",
                                     f"A drum track played by the Drums RNN ({config})", "Drums"),
),)
