"""A user's MIDI file read as a trio for /trio: its melody, bass and drum parts, or a refusal naming the part missing.

Untrusted input: the file's size and events are held to the primer limits before pretty_midi reads it (in the
bot, inside primer_sandbox's child process: `read_trio_bytes` is a reader of named parts). No TensorFlow.

The rules, in order:
- Drums: the tracks on MIDI channel 10. With none there, a track on another channel is the drums when every
  note is a General MIDI percussion key (35-81), its program is not a bass (GM 33-40), and either its name or
  program says percussion ("drum", "kit", "perc", ...; GM 113-120), or it plays like a kit: short notes (median
  an 8th or less), each key struck 3 times or more on average, at least 80% of its notes on the kit's main keys
  (kicks, snares, hi-hats, crash, ride) and at least 10% of its onsets struck together (a kick with a hi-hat).
- Bass: the tracks with a GM bass program (33-40, 0-based 32-39), else those whose notes are mostly (over half)
  below C3 (MIDI 48); of several, the lowest on average. Its bottom line: the lowest note of each onset.
- Melody: of the other pitched tracks, the highest on average. Its top line: the highest note of each onset.
Each line is monophonic, a note cut at the next onset. A part not found is an InputError naming the file, the
part and what counts as one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

import numpy as np

from generation.data.leadsheet import NO_EVENT, NOTE_OFF
from generation.errors import InputError
from generation.families.drums.encoding import DrumStep
from generation.families.melody.dataset import notes_to_events
from generation.families.music_vae.config import STEPS_PER_BAR
from generation.music.midi_limits import PRIMER_LIMITS, check_size, check_structure, count_events

if TYPE_CHECKING:
    import pretty_midi

GridNote = tuple[int, int, int]  # (onset step, end step, pitch)
MAX_BARS = 64  # read at most 64 bars: the model takes 16 of them
MAX_STEPS = MAX_BARS * STEPS_PER_BAR
DRUM_KEYS = range(35, 82)  # GM percussion: Acoustic Bass Drum (35) to Open Triangle (81)
KIT_KEYS = frozenset({35, 36, 37, 38, 40, 42, 44, 46, 49, 51, 57})  # kicks, snares, hi-hats, crash, ride
DRUM_NAME = re.compile(r"drum|kit|perc|kick|snare|hi-?hat|cymbal|beat", re.IGNORECASE)
DRUM_PROGRAMS = range(112, 120)  # GM 113-120: tinkle bell, agogo, steel drums, woodblock, taiko, toms, synth drum
BASS_PROGRAMS = range(32, 40)  # GM 33-40: the basses
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
    instruments = [i for i in midi.instruments if i.notes]
    if not instruments:
        raise InputError(f"{what} has no notes; /trio needs a melody, a bass and drums.")
    _, tempi = midi.get_tempo_changes()
    qpm = round(float(tempi[0]), 3) if len(tempi) else 120.0
    quarter = float(midi.resolution)

    def step(t: float) -> float:  # by ticks, so a tempo change keeps the bar lines where they are
        return midi.time_to_tick(t) * 4 / quarter

    first = min(n.start for i in instruments for n in i.notes)
    downbeats = [b for b in midi.get_downbeats() if b <= first + 1e-6]
    origin = step(float(downbeats[-1])) if downbeats else 0.0
    grid: list[list[GridNote]] = []
    for inst in instruments:
        ons = [(round(step(n.start) - origin), round(step(n.end) - origin), n.pitch) for n in inst.notes]
        grid.append([(on, max(on + 1, end), p) for on, end, p in ons if on < MAX_STEPS])
    last_end = max((end for notes in grid for _, end, _ in notes), default=0)
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
    return TrioParts(melody=pad(line(grid[melody_id], lowest=False), length),
                     bass=pad(line(grid[bass_id], lowest=True), length),
                     drums=tuple(frozenset(h) for h in hits), qpm=qpm, tracks=tracks, notes=tuple(notes))


def read_trio_bytes(data: bytes, what: str, name: str) -> tuple[dict[str, list[Any]], float]:
    """`read_trio` of an attachment's bytes, as primer_sandbox's readers answer: ({"melody": events, "bass":
    events, "drums": [pitches] per step}, qpm). `what` ("the attachment trio.mid") names the file in refusals.

    Raises:
        InputError: beyond a limit, not MIDI, without notes, or a part missing.
    """
    parts = _parse(data, what)
    return {"melody": list(parts.melody), "bass": list(parts.bass),
            "drums": [sorted(s) for s in parts.drums]}, parts.qpm


def read_trio_file(path: Path, name: str = "") -> TrioParts:
    """`read_trio` of a file on disk, held to the primer limits before it is parsed (the command line's input).

    Raises:
        InputError: missing, beyond a limit, not MIDI, without notes, or a part missing.
    """
    name = name or path.name
    if not path.is_file():
        raise InputError(f"MIDI file {str(path)!r} does not exist.")
    check_size(path.stat().st_size, f"the MIDI file {name}", PRIMER_LIMITS)
    return _parse(path.read_bytes(), name)


def _parse(data: bytes, what: str) -> TrioParts:
    """Check the layout and count the events against the limits (bounding the parser's work), then parse."""
    import pretty_midi

    check_structure(data, what, PRIMER_LIMITS)
    count_events(data, what, PRIMER_LIMITS)
    try:
        midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as e:  # pretty_midi/mido raise many types for corrupt files
        raise InputError(f"{what} is not a readable MIDI file ({type(e).__name__}).") from e
    return read_trio(midi, what)


def plays_drums(inst: pretty_midi.Instrument, notes: Sequence[GridNote], step: Any) -> bool:
    """Whether a track off channel 10 is drums, by the rule in this module's docstring."""
    pitches = [p for _, _, p in notes]
    if not pitches or not all(p in DRUM_KEYS for p in pitches) or inst.program in BASS_PROGRAMS:
        return False
    if DRUM_NAME.search(inst.name or "") or inst.program in DRUM_PROGRAMS:
        return True
    short = median(step(n.end) - step(n.start) for n in inst.notes) <= 2.0
    repeated = len(pitches) >= 3 * len(set(pitches))
    on_kit = sum(p in KIT_KEYS for p in pitches) / len(pitches) >= 0.8
    onsets = [on for on, _, _ in notes]
    together = sum(n > 1 for n in np.unique(onsets, return_counts=True)[1]) >= 0.1 * len(set(onsets))
    return short and repeated and on_kit and together


def line(notes: Sequence[GridNote], lowest: bool) -> list[int]:
    """A monophonic line: the lowest (or highest) note of each onset, each note cut at the next onset."""
    chosen: dict[int, GridNote] = {}
    for note in notes:
        held = chosen.get(note[0])
        if held is None or (note[2] < held[2] if lowest else note[2] > held[2]):
            chosen[note[0]] = note
    return notes_to_events(chosen.values())


def pad(events: list[int], length: int) -> tuple[int, ...]:
    """Events cut or extended with silence to `length` (a note still sounding stops where the events end)."""
    if len(events) >= length:
        return tuple(events[:length])
    sounding = next((e >= 0 for e in reversed(events) if e != NO_EVENT), False)
    return tuple((events + ([NOTE_OFF] if sounding else []) + [NO_EVENT] * length)[:length])


def track_name(inst: pretty_midi.Instrument, index: int) -> str:
    return f"the track {inst.name.strip()!r}" if inst.name.strip() else f"track {index + 1}"
