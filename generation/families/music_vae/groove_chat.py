"""/groove and /drumify: Magenta Studio's Groove and Drumify in chat (GrooVAE), an attached MIDI file in, drums out.

/groove plays an attached drum part (channel 10, or a track of drum-kit keys) with a drummer's velocities and
timing, the same hits; /drumify plays drums on the onsets of an attached rhythm or melody (keep:on: the file's tune
with them, note for note). Any length: the part is read from the bar line before its first onset in whole bars,
up to 32, and played 2 bars at a time.
"""

from __future__ import annotations

from typing import Any

from generation.errors import InputError
from generation.families.chat import SEED, ChatCommand, CommandLine, Option, choice, numeric, on_off_option, outputs
from generation.families.music_vae.config import STEPS_PER_BAR
from generation.families.music_vae.groove_inputs import MAX_BARS, fit_bars, onsets_of_parts
from generation.families.music_vae.groove_keep import MAX_KEPT_NOTES, rows_within

HUMANIZE, DRUMIFY = "groovae_2bar_humanize", "groovae_2bar_tap_fixed_velocity"
PARTS_READER = "generation.families.music_vae.inputs:read_parts_bytes"
TUNE_READER = "generation.families.music_vae.groove_keep:read_tune_bytes"  # the parts, and the notes for keep:on
RHYTHM_PARTS = ("all", "melody", "bass", "drums")
WHERE = ("attach a MIDI file (web chat: the file button; Discord: the midi option) or give the share link of an "
         "earlier result")
_NAMES = {"melody": "a melody", "bass": "a bass line", "drums": "drums"}
TEMPERATURE = numeric("temperature", "how far the drummer's feel strays from the usual (0 = the middle feel; 0.5 = "
                      "Magenta's)", 0.5,
                      float, 0.0, 1.5, "0-1.5")


def _no_words(line: CommandLine, words: list[tuple[str, int]], attached: tuple[Any, ...] | None) -> dict[str, Any]:
    name = line.tokens[0]
    if words:
        raise line.error(words[0][0], f"{name} reads a MIDI file, not typed notes: {WHERE}", words[0][1])
    if not attached:
        raise line.error(name, f"{name} needs a MIDI file: {WHERE}", 0)
    return dict(attached)


def _has(found: dict[str, Any]) -> str:
    return " and ".join(_NAMES.get(k, k) for k in found) or "no notes"


def _fitted(line: CommandLine, struck: list[bool], what: str) -> tuple[int, int]:
    try:
        start, bars, _ = fit_bars(struck, what)
    except InputError as e:
        raise line.error(line.tokens[0], str(e).rstrip("."), 0) from None
    return start, bars


def build_groove(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
                 attached: tuple[Any, ...] | None) -> dict[str, Any]:
    found = _no_words(line, words, attached)
    if "drums" not in found:
        raise line.error(line.tokens[0], f"the file has no drums (no notes on MIDI channel 10 and no track that plays "
                         f"drum-kit keys; it has {_has(found)}); /groove humanises a drum part. Attach drums, or "
                         "use /drumify to have drums played on its rhythm", 0)
    drums = [tuple(s) for s in found["drums"]]
    start, bars = _fitted(line, [bool(s) for s in drums], "the file's drum part")
    body = (drums[start:] + [()] * (bars * STEPS_PER_BAR))[:bars * STEPS_PER_BAR]
    return {"config": HUMANIZE, "steps": 1, "groove": tuple(body)}


def build_drumify(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
                  attached: tuple[Any, ...] | None) -> dict[str, Any]:
    found = _no_words(line, words, attached)
    rows = found.pop("notes", None)  # the tune's notes, for keep:on
    part = values.get("part", "all")
    names = [p for p in RHYTHM_PARTS[1:] if p in found] if part == "all" else [part]
    if part != "all" and part not in found:
        allowed = " | ".join(["all", *(p for p in RHYTHM_PARTS[1:] if p in found)])
        raise line.error_at("part:", f"the file has no {part} part (it has {_has(found)}). Allowed: {allowed}")
    onsets = onsets_of_parts(found, names)
    what = "the file" if part == "all" else f"the file's {part}"
    start, bars = _fitted(line, onsets, what)
    if values.get("keep", False):  # the tune from its first bar line, the drums from the rhythm's first bar
        if not rows:
            why = ("it has only drums" if not {"melody", "bass"} & set(found) else
                   f"it has more than {MAX_KEPT_NOTES:,} notes in its first {MAX_BARS} bars")
            raise line.error_at("keep:", f"keep:on keeps the file's tune and adds drums, but {why}; keep:off plays "
                                "the drums alone")
        steps = (start + bars) * STEPS_PER_BAR
        taps = (onsets + [False] * steps)[:steps]
        try:
            kept = rows_within(rows, steps)
        except InputError as e:
            raise line.error_at("keep:", str(e).rstrip(".")) from None
        return {"config": DRUMIFY, "steps": 1, "taps": tuple(int(t) for t in taps), "keep": kept}
    body = (onsets[start:] + [False] * (bars * STEPS_PER_BAR))[:bars * STEPS_PER_BAR]
    return {"config": DRUMIFY, "steps": 1, "taps": tuple(int(t) for t in body)}


COMMON: tuple[Option, ...] = (TEMPERATURE, outputs("grooves"), SEED)
LIMITS = f"any length: played 2 bars at a time, up to {MAX_BARS} bars"
COMMANDS = (
    ChatCommand(
        name="groove",
        usage="/groove [option:value ...]  + a drum MIDI file - the same hits played with a drummer's velocities and "
              "timing (Magenta Studio's Groove)",
        example="e.g. /groove seed:7  (attach a drum MIDI file)    /groove https://.../s/A temperature:0.5",
        positional="nothing to type: the MIDI file is attached, or named by the share link of an earlier result",
        options=COMMON, build=build_groove,
        description="Humanise an attached drum MIDI: velocities and timing of a drummer (Magenta Studio's Groove)",
        positional_name="link", positional_help="the share link of an earlier result, instead of attaching a file",
        attachment_reader=PARTS_READER,
        attachment_help=f"a drum MIDI file (channel 10, or drum-kit keys); {LIMITS}",
        needs_files=True,
        default_temperature=TEMPERATURE.default,
        describe=lambda words, config: ("A drum part humanised by GrooVAE",
                                        f"GrooVAE ({config}): a drum part with a drummer's feel", "Groove"),
    ),
    ChatCommand(
        name="drumify",
        usage="/drumify [option:value ...]  + a MIDI rhythm or melody - drums played on its onsets (Magenta Studio's "
              "Drumify)",
        example="e.g. /drumify seed:3  (attach a MIDI file)    /drumify https://.../s/A part:melody    "
                "/drumify https://.../s/A keep:on  (the tune with drums added)",
        positional="nothing to type: the MIDI file is attached, or named by the share link of an earlier result",
        options=(Option("part", "whose onsets are the rhythm (default: every part of the file)", "all",
                        choice(RHYTHM_PARTS), " | ".join(RHYTHM_PARTS), choices=RHYTHM_PARTS),
                 on_off_option("keep", "keep the file's own notes and add the drums to them (its drums replaced)",
                               False), *COMMON),
        build=build_drumify,
        description="Drums for an attached rhythm or melody, played on its onsets (Magenta Studio's Drumify)",
        positional_name="link", positional_help="the share link of an earlier result, instead of attaching a file",
        attachment_reader=TUNE_READER,
        attachment_help=f"a MIDI rhythm or melody: its onsets are the taps; {LIMITS}",
        needs_files=True,
        default_temperature=TEMPERATURE.default,
        describe=lambda words, config: ("Drums played on a rhythm by GrooVAE",
                                        f"GrooVAE ({config}): drums on the onsets of a MIDI file", "Drums"),
    ),
)
