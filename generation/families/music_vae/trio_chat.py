"""/trio: MusicVAE's three-part model (hierdec-trio_16bar) in chat: a 16-bar melody, bass and drums sampled, or
variations of an attached trio.

With a file, each output is decoded from a point `change:` of the way (on the great circle) from the file's own
encoding toward a fresh draw from the prior, each output its own draw. Why variations rather than a path from the
file to a sample: a user who attaches a trio wants it back as a trio, changed by an amount they choose, 16 bars per
output like a sample; change:0 is the model's own reading of the file (how well it hears it) and change:1 a fresh
sample. A path of several 16-bar pieces from one file to another is /interpolate's work.
"""

from __future__ import annotations

from typing import Any

from generation.families.chat import QPM, SEED, ChatCommand, CommandLine, Option, numeric, outputs
from generation.families.music_vae.config import STEPS_PER_BAR

TRIO = "hierdec-trio_16bar"
READER = "generation.families.music_vae.trio_parts:read_trio_bytes"
MAX_INPUT_BARS = 16  # kept of the file; the worker fits all three parts to the model's 16 bars together
DEFAULT_CHANGE = 0.3
WHERE = ("attach a MIDI file with a melody, a bass and drums (web chat: the file button; Discord: the midi option) "
         "or give the share link of an earlier /trio result")
OPTIONS: tuple[Option, ...] = (
    numeric("change", "with a file: how far each output moves from it to a new piece (0: the file as "
            "the model hears it)", DEFAULT_CHANGE, float, 0.0, 1.0, "0-1"),
    QPM,
    numeric("temperature", "randomness of each decoded note (0.5 = Magenta's)", 0.5, float, 0.1, 1.5, "0.1-1.5"),
    outputs("trios"),
    SEED,
)


def build(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
          attached: tuple[Any, ...] | None) -> dict[str, Any]:
    if words:
        raise line.error(words[0][0], f"/trio takes no notes: it samples a trio, or varies one: {WHERE}",
                         words[0][1])
    if not attached:
        if "change" in values:
            raise line.error_at("change:", f"change: says how far to move from an attached trio, and none is "
                                f"attached: {WHERE}, or leave change: out to sample a new trio")
        return {"config": TRIO, "steps": 1, "bars": 16}
    parts = dict(attached)
    steps = MAX_INPUT_BARS * STEPS_PER_BAR
    melody, bass = tuple(parts["melody"][:steps]), tuple(parts["bass"][:steps])
    drums = tuple(tuple(s) for s in parts["drums"][:steps])
    if not any(e >= 0 for e in melody + bass) and not any(drums):
        raise line.error(line.tokens[0], "the file's melody, bass and drums have no notes in its first 16 bars", 0)
    return {"config": TRIO, "steps": 1, "bars": 16, "melodies": (melody, bass), "drums": (drums,),
            "change": values.get("change", DEFAULT_CHANGE)}


COMMANDS = (ChatCommand(
    name="trio",
    usage="/trio [option:value ...]  - 16 bars of melody, bass and drums from MusicVAE (or variations of an attached "
          "trio)",
    example="e.g. /trio seed:7    /trio outputs:2 temperature:0.8    /trio change:0.5  (attach a MIDI file with a "
            "melody, a bass and drums)",
    positional="nothing to type: a new trio is sampled, or an attached one (or a result's share link) varied",
    options=OPTIONS, build=build,
    description="16 bars of melody, bass and drums (MusicVAE trio); attach a trio MIDI to vary it",
    positional_name="link",
    positional_help="the share link of an earlier /trio result, instead of attaching a file",
    attachment_reader=READER,
    attachment_help="a MIDI file with a melody, a bass (GM 33-40 or low notes) and drums (channel 10): varied",
    default_temperature=0.5,
    describe=lambda words, config: ("A trio by MusicVAE", f"MusicVAE ({config}): melody, bass and drums, 16 bars",
                                    "Trio"),
),)
