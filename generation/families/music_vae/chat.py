"""/interpolate: MusicVAE's chat command (two MIDI files in, the latent path between them out)."""

from __future__ import annotations

from typing import Any

from generation.families.chat import QPM, SEED, ChatCommand, CommandLine, Option, numeric
from generation.families.music_vae.config import CONFIGS, SHIPPED, STEPS_PER_BAR, resolve

MELODY, DRUMS, LONG_MELODY = "cat-mel_2bar", "cat-drums_2bar", "hierdec-mel_16bar"
PART_OF_KIND = {"melody": "melody", "drums": "drums"}
MAX_INPUT_BARS = 16  # kept of each file; the model uses its first 2 or 16 (the worker aligns them)
BARS = {"2": 2, "16": 16}  # bars: -> each piece's length; 16 is the hierarchical melody model's
PATH_CONFIGS = tuple(name for name in SHIPPED if CONFIGS[name].kind != "trio")  # the trio's: /trio
LONG = LONG_MELODY in SHIPPED  # bars:16 is offered with its model


def _path_config(text: str) -> str:
    name = resolve(text).name
    if name not in PATH_CONFIGS:
        raise ValueError(f"{name} is /trio's model" if CONFIGS[name].kind == "trio" else f"{name} is not offered yet")
    return name


def _bars(text: str) -> int:
    if text not in BARS:
        raise ValueError("must be 2 or 16")
    return BARS[text]


ORDINAL = ("first", "second")
OPTIONS: tuple[Option, ...] = (
    numeric("steps", "pieces on the path, both files included", 5, int, 2, 11),
    *([Option("bars", f"each piece's length: 2, or 16 for whole 16-bar melodies ({LONG_MELODY})", 2, _bars,
              " | ".join(BARS), choices=tuple(BARS))] if LONG else []),
    Option("config", "which MusicVAE (default: melodies, or drums when only drums are in both files)", MELODY,
           _path_config, " | ".join(PATH_CONFIGS), choices=PATH_CONFIGS),
    QPM,
    numeric("temperature", "randomness of each decoded piece (0.5 = Magenta's)", 0.5, float, 0.1, 1.5,
            "0.1-1.5"),
    SEED,
)
WHERE = ("attach two MIDI files (web chat: pick both; Discord: midi1 and midi2) or give the share links of two "
         "earlier results")


def build(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
          attached: tuple[Any, ...] | None) -> dict[str, Any]:
    if words:
        raise line.error(words[0][0], f"/interpolate reads two MIDI files, not typed notes: {WHERE}", words[0][1])
    files = [dict(parts) for parts in attached or ()]
    if len(files) != 2:
        raise line.error(line.tokens[0], f"/interpolate needs two MIDI files and got {len(files)}: {WHERE}", 0)
    config = _config(line, values, files)
    part = PART_OF_KIND[CONFIGS[config].kind]
    for i, f in enumerate(files):
        if part not in f:
            found = " and ".join(f) or "no notes"
            why = ("no notes on MIDI channel 10 and no track that plays drum-kit keys" if part == "drums"
                   else "only drums")
            raise line.error(line.tokens[0], f"the {ORDINAL[i]} file has no {part} part ({why}; it has {found}); "
                             f"{config} needs one in each file"
                             + ("; 16 bars are for melodies, drums go 2 bars at a time" if config == LONG_MELODY
                                else ""), 0)
        if _music_steps(f[part]) < STEPS_PER_BAR // 2:
            raise line.error(line.tokens[0], f"the {ORDINAL[i]} file's {part} has {_music_steps(f[part])} 16th "
                             f"notes from its first bar line with a note; /interpolate needs at least one 4/4 bar "
                             f"of each ({STEPS_PER_BAR} 16th notes; a bar at least half played counts)", 0)
    ends = tuple(tuple(f[part][:MAX_INPUT_BARS * STEPS_PER_BAR]) for f in files)
    return {"config": config, "steps": values.get("steps", 5), "melodies": ends if part == "melody" else (),
            "drums": ends if part == "drums" else (), "bars": CONFIGS[config].bars}


def _config(line: CommandLine, values: dict[str, Any], files: list[dict[str, Any]]) -> str:
    """config: when given (bars: must agree with it); else bars:16's model, or the part both files have, melody
    first."""
    config, bars = values.get("config"), values.get("bars")
    if config is not None:
        if bars is not None and CONFIGS[config].bars != bars:
            raise line.error_at("bars:", f"{config} is a {CONFIGS[config].bars}-bar model, not a {bars}-bar one; "
                                "give config: or bars:, not both")
        return str(config)
    if bars == 16:
        return LONG_MELODY
    drums_only = all("drums" in f for f in files) and not all("melody" in f for f in files)
    return DRUMS if drums_only else MELODY


def _music_steps(events: tuple[Any, ...]) -> int:
    """Steps from the bar line before the first note to the end (as the worker's alignment counts them)."""
    struck = [t for t, e in enumerate(events) if (e >= 0 if isinstance(e, int) else e)]
    return len(events) - struck[0] // STEPS_PER_BAR * STEPS_PER_BAR if struck else 0


COMMANDS = (ChatCommand(
    name="interpolate",
    usage="/interpolate [option:value ...]  + two MIDI files - MusicVAE walks from the first to the second",
    example="e.g. /interpolate steps:5  (attach two MIDI files)    /interpolate https://.../s/A https://.../s/B"
            + ("    /interpolate bars:16  (two whole 16-bar tunes, each piece 16 bars)" if LONG else ""),
    positional="nothing to type: the two MIDI files are attached, or named by the share links of two results",
    options=OPTIONS, build=build,
    description="Morph one MIDI clip into another with MusicVAE (attach two files)",
    positional_name="links",
    positional_help="share links of two earlier results, instead of attaching files",
    attachment_reader="generation.families.music_vae.inputs:read_parts_bytes",
    attachment_help="a MIDI clip (melody, or drums on channel 10)",
    attachments=2,
    default_temperature=0.5,
    describe=lambda words, config: ("An interpolation by MusicVAE",
                                    f"MusicVAE ({config}) morphing one clip into another", "Path"),
),)
