"""/continue: Magenta Studio's Continue in chat: more bars of an attached MIDI file's melody (Melody RNN) or, for a
file of drums, of its drums (Drums RNN); each output is the file's part followed by the new bars.

Declared by the melody family, as Studio's Continue is a Melody RNN tool first; a drum part is handed to the
drums family by choosing one of its configs (bot/commands.py sends a request to the family that runs its config).
"""

from __future__ import annotations

from typing import Any

from generation.data.leadsheet import NO_EVENT, NOTE_OFF
from generation.families.chat import SEED, TEMPERATURE, ChatCommand, CommandLine, Option, choice, numeric, outputs
from generation.families.drums.config import CONFIGS as DRUMS_CONFIGS
from generation.families.drums.config import STYLE_CONTROLS
from generation.families.melody.config import CONFIGS as MELODY_CONFIGS

# The melody, bass and drum parts of a file, drums found on channel 10 or by their keys on another channel.
PARTS_READER = "generation.families.music_vae.inputs:read_parts_bytes"
PARTS = ("melody", "drums")
CONFIGS_OF: dict[str, tuple[str, ...]] = {"melody": tuple(MELODY_CONFIGS), "drums": tuple(DRUMS_CONFIGS)}
DEFAULT_CONFIG = {"melody": "attention_rnn", "drums": "drum_kit"}
STYLED = "drum_kit_style"
BAR = 16  # 16th notes in a 4/4 bar, both families' step
MAX_ADDED_BARS = 32
MIN_NOTES = 2  # a single note says nothing about where a tune goes; /melody starts from one by default
WHERE = ("attach a MIDI file (web chat: the file button; Discord: the midi option) or give the share link of an "
         "earlier result")
_NAMES = {"melody": "a melody", "bass": "a bass line", "drums": "drums"}
_ALL_CONFIGS = CONFIGS_OF["melody"] + CONFIGS_OF["drums"]
OPTIONS: tuple[Option, ...] = (
    numeric("bars", "bars to add after the file's music", 4, int, 1, MAX_ADDED_BARS),
    Option("part", "the part to continue (default: the file's melody, or its drums when it has no melody)", None,
           choice(PARTS), " | ".join(PARTS), choices=PARTS),
    Option("config", "the model: a Melody RNN for a melody (default attention_rnn), a Drums RNN for drums "
           "(default drum_kit)", None, choice(_ALL_CONFIGS), " | ".join(_ALL_CONFIGS), choices=_ALL_CONFIGS),
    Option("style", f"drums only: the style {STYLED} carries on in", None, choice(STYLE_CONTROLS),
           " | ".join(STYLE_CONTROLS), choices=STYLE_CONTROLS),
    TEMPERATURE, outputs("continuations"), SEED,
)


def build(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
          attached: tuple[Any, ...] | None) -> dict[str, Any]:
    if words:
        raise line.error(words[0][0], f"/continue reads a MIDI file, not typed notes: {WHERE}", words[0][1])
    if not attached:
        raise line.error(line.tokens[0], f"/continue needs a MIDI file to continue: {WHERE}", 0)
    found = dict(attached)
    part = _part(line, values, found)
    style = values.get("style", "")
    config = values.get("config", STYLED if style else DEFAULT_CONFIG[part])
    if style and config != STYLED:
        raise line.error_at("style:", f"{config} cannot take a style; use config:{STYLED} or leave config: out")
    if config == STYLED and not style:
        raise line.error_at("config:", f"{STYLED} plays in a style: add style:{'|'.join(STYLE_CONTROLS)}")
    events = found[part]
    played = sum(1 for e in events if (e >= 0 if part == "melody" else e))
    if played < MIN_NOTES:
        what = "note" if part == "melody" else "drum hit"
        raise line.error(line.tokens[0], f"the file's {part} has {played} {what}{'s' if played != 1 else ''}; "
                         f"/continue needs at least {MIN_NOTES} {what}s to continue from", 0)
    primer = _to_bar_line(list(events), part)
    num_steps = len(primer) + values.get("bars", 4) * BAR
    if part == "melody":
        return {"config": config, "primer": tuple(primer), "num_steps": num_steps}
    return {"config": config, "primer": tuple(tuple(sorted(s)) for s in primer), "num_steps": num_steps,
            "style": style}


def _part(line: CommandLine, values: dict[str, Any], found: dict[str, Any]) -> str:
    """The part to continue: part: if given, else the kind of config: or style:, else the melody if any."""
    config, style = values.get("config"), values.get("style")
    kind = next((k for k, configs in CONFIGS_OF.items() if config in configs), "drums" if style else None)
    part = values.get("part") or kind or ("melody" if "melody" in found else "drums")
    if kind and kind != part:
        option = "config:" if config else "style:"
        raise line.error_at(option, f"{option}{config or style} plays {kind}, and part:{part} asks for the "
                            f"{part}; the {part} takes config:{' | '.join(CONFIGS_OF[part])}")
    if part not in found:
        has = " and ".join(_NAMES.get(k, k) for k in found) or "no notes in its first 64 bars"
        why = ("no notes on MIDI channel 10 and no track that plays drum-kit keys" if part == "drums"
               else "only drums")
        allowed = " or ".join(f"part:{k}" for k in PARTS if k in found) or WHERE
        raise line.error(line.tokens[0], f"the file has no {part} part ({why}; it has {has}); /continue "
                         f"continues a melody or drums (channel 10). Allowed: {allowed}", 0)
    return part


def _to_bar_line(events: list[Any], part: str) -> list[Any]:
    """The part made whole bars, so the new bars start on a bar line; a melody's last note ends where it did."""
    missing = -len(events) % BAR
    if not missing:
        return events
    if part == "drums":
        return events + [()] * missing
    sounding = next((e >= 0 for e in reversed(events) if e != NO_EVENT), False)
    return events + ([NOTE_OFF] if sounding else [NO_EVENT]) + [NO_EVENT] * (missing - 1)


def _describe(words: str, config: str) -> tuple[str, str, str]:
    model = "Drums RNN" if config in DRUMS_CONFIGS else "Melody RNN"
    return f"A MIDI file continued by the {model}", f"A MIDI file continued by the {model} ({config})", "Continuation"


COMMANDS = (ChatCommand(
    name="continue",
    usage="/continue [option:value ...]  + a MIDI file - more bars of its melody or drums (Magenta Studio's "
          "Continue)",
    example="e.g. /continue bars:8  (attach a MIDI file)    /continue https://.../s/A part:drums config:drum_kit",
    positional="nothing to type: the MIDI file is attached, or named by the share link of an earlier result",
    options=OPTIONS, build=build,
    description="More bars of an attached MIDI melody or drum part (Magenta Studio's Continue)",
    positional_name="link",
    positional_help="the share link of an earlier result, instead of attaching a file",
    attachment_reader=PARTS_READER,
    attachment_help="a MIDI file: its melody, or its drums (channel 10)",
    needs_files=True,
    describe=_describe,
),)
