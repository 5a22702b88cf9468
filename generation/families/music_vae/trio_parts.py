"""A user's MIDI file read as a trio for /trio: its melody, bass and drum parts, or a refusal naming the part missing.

Untrusted input: the file's size and events are held to the primer limits before pretty_midi reads it (in the
bot, inside primer_sandbox's child process: `read_trio_bytes` is a reader of named parts). No TensorFlow.

The rules, in order:
- Drums: the tracks on MIDI channel 10. With none there, a track on another channel that plays drums by
  `midi_grid.plays_drums`, the rule every reader of ours uses: every note a General MIDI percussion key (35-81),
  no bass program (GM 33-40), and a percussion name or program, or short hits (a 16th or less) mostly (80%) on
  the kit's main keys with hits struck together or three kit pieces.
- Bass: the tracks with a GM bass program (33-40, 0-based 32-39), else those whose notes are mostly (over half)
  below C3 (MIDI 48); of several, the lowest on average. Its bottom line: the lowest note of each onset.
- Melody: of the other pitched tracks, the highest on average. Its top line: the highest note of each onset.
Each line is monophonic, a note cut at the next onset. A part not found is an InputError naming the file, the
part and what counts as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from generation.errors import InputError
from generation.families.drums.encoding import DrumStep
from generation.families.music_vae.config import STEPS_PER_BAR
from generation.families.music_vae.midi_grid import (
    BASS_PROGRAMS,
    MAX_STEPS,
    file_bytes,
    line,
    note_grid,
    pad_events,
    parse_midi,
    plays_drums,
    track_name,
)

if TYPE_CHECKING:
    import pretty_midi

MAX_BARS = MAX_STEPS // STEPS_PER_BAR  # read at most 64 bars: the model takes 16 of them
BASS_BELOW = 48  # C3
MELODY_ALLOWED = "any pitched track other than the bass and the drums"
BASS_ALLOWED = "a track with a bass program (GM 33-40) or notes mostly below C3 (MIDI 48)"
DRUMS_ALLOWED = ("a track on MIDI channel 10, or one playing drum-kit keys (GM 35-81: kick, snare, hi-hats) in "
                 "short hits")


@dataclass(frozen=True)
class TrioParts:
    """The three parts of one file on a common grid of 16th steps, step 0 the bar line before its first note.

    Attributes:
        melody, bass: melody events (-2 no event, -1 note off, else MIDI pitch).
        drums: the GM drum pitches struck at each step.
        qpm: the file's first tempo.
        tracks: which track each part came from ("melody": "the track 'Lead'").
        notes: what was guessed, for the user (drums found on another channel, a bass found by register).
    """

    melody: tuple[int, ...]
    bass: tuple[int, ...]
    drums: tuple[DrumStep, ...]
    qpm: float
    tracks: dict[str, str]
    notes: tuple[str, ...] = ()


def read_trio(midi: pretty_midi.PrettyMIDI, what: str) -> TrioParts:
    """The melody, bass and drums of a parsed MIDI file (`what` names it in messages, e.g. "trio.mid").

    Raises:
        InputError: no notes, or a part missing: the message names the file, the part and what is allowed.
    """
    found = note_grid(midi, f"{what} has no notes; /trio needs a melody, a bass and drums.")
    instruments, grid, step, qpm, last_end = found.instruments, found.notes, found.step, found.qpm, found.last_end
    length = min(-(-last_end // STEPS_PER_BAR) * STEPS_PER_BAR, MAX_STEPS)
    notes: list[str] = []
    if last_end > MAX_STEPS:
        notes.append(f"{what}: only its first {MAX_BARS} bars are read")

    drum_ids = [i for i, inst in enumerate(instruments) if inst.is_drum and grid[i]]
    if not drum_ids:
        drum_ids = [i for i, inst in enumerate(instruments) if grid[i] and plays_drums(inst, grid[i], step)]
        notes += [f"{what}: {track_name(instruments[i], i)} is not on MIDI channel 10 but plays drums, so it is "
                  "read as the drums" for i in drum_ids]
    pitched = [i for i in range(len(instruments)) if i not in drum_ids and grid[i]]
    mean = {i: float(np.mean([p for _, _, p in grid[i]])) for i in pitched}
    by_program = [i for i in pitched if instruments[i].program in BASS_PROGRAMS]
    by_register = [i for i in pitched if np.mean([p < BASS_BELOW for _, _, p in grid[i]]) > 0.5]
    bass_id = min(by_program or by_register, key=lambda i: mean[i], default=None)
    melody_id = max((i for i in pitched if i != bass_id), key=lambda i: mean[i], default=None)
    if melody_id is None or bass_id is None or not drum_ids:
        missing = [f"no {part} part (give {allowed})" for part, allowed, found in (
            ("melody", MELODY_ALLOWED, melody_id is not None), ("bass", BASS_ALLOWED, bass_id is not None),
            ("drum", DRUMS_ALLOWED, bool(drum_ids))) if not found]
        raise InputError(f"{what} has {' and '.join(missing)}; /trio needs a melody, a bass and drums.")
    if not by_program:
        notes.append(f"{what}: {track_name(instruments[bass_id], bass_id)} has no bass program but plays mostly "
                     "below C3, so it is read as the bass")
    hits: list[set[int]] = [set() for _ in range(length)]
    for i in drum_ids:
        for on, _, pitch in grid[i]:
            hits[on].add(pitch)
    tracks = {"melody": track_name(instruments[melody_id], melody_id),
              "bass": track_name(instruments[bass_id], bass_id),
              "drums": ", ".join(track_name(instruments[i], i) for i in drum_ids)}
    return TrioParts(melody=pad_events(line(grid[melody_id], lowest=False), length),
                     bass=pad_events(line(grid[bass_id], lowest=True), length),
                     drums=tuple(frozenset(h) for h in hits), qpm=qpm, tracks=tracks, notes=tuple(notes))


def read_trio_bytes(data: bytes, what: str, name: str) -> tuple[dict[str, list[Any]], float]:
    """`read_trio` of an attachment's bytes, as primer_sandbox's readers answer: ({"melody": events, "bass":
    events, "drums": [pitches] per step}, qpm). `what` ("the attachment trio.mid") names the file in refusals.

    Raises:
        InputError: beyond a limit, not MIDI, without notes, or a part missing.
    """
    parts = read_trio(parse_midi(data, what), what)
    return {"melody": list(parts.melody), "bass": list(parts.bass),
            "drums": [sorted(s) for s in parts.drums]}, parts.qpm


def read_trio_file(path: Path, name: str = "") -> TrioParts:
    """`read_trio` of a file on disk, held to the primer limits before it is parsed (the command line's input).

    Raises:
        InputError: missing, beyond a limit, not MIDI, without notes, or a part missing.
    """
    name = name or path.name
    return read_trio(parse_midi(file_bytes(path, name), name), name)




