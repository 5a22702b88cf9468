"""A user's MIDI file on MusicVAE's grid of 16th steps, and the rules both readers use (`inputs` for
/interpolate, /continue and /groove; `trio_parts` for /trio): which track plays drums, a part's monophonic line.

Untrusted input: `parse_midi` holds the bytes to the primer limits before pretty_midi reads them. No TensorFlow.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING

from generation.data.leadsheet import NO_EVENT, NOTE_OFF
from generation.errors import InputError
from generation.families.melody.dataset import notes_to_events
from generation.families.music_vae.config import STEPS_PER_BAR
from generation.music.midi_limits import PRIMER_LIMITS, check_size, check_structure, count_events

if TYPE_CHECKING:
    import pretty_midi

GridNote = tuple[int, int, int]  # (onset step, end step, pitch)
MAX_STEPS = 64 * STEPS_PER_BAR  # read at most 64 bars: the models use 2 or 16 of them
DRUM_KEYS = range(35, 82)  # General MIDI's percussion key map, Acoustic Bass Drum to Open Triangle
KIT_KEYS = frozenset({35, 36, 37, 38, 40, 42, 44, 46, 49, 51, 57})  # kicks, snares, hi-hats, crash, ride
DRUM_NAME = re.compile(r"drum|kit|perc|kick|snare|hi-?hat|cymbal|beat", re.IGNORECASE)
DRUM_PROGRAMS = range(112, 120)  # GM's percussive family (agogo, woodblock, taiko, synth drum ...)
BASS_PROGRAMS = range(32, 40)  # GM's basses (33-40, 0-based)


def parse_midi(data: bytes, what: str) -> pretty_midi.PrettyMIDI:
    """The file's bytes parsed, after its layout and events are counted against the limits (bounding the
    parser's work).

    Raises:
        InputError: beyond a limit, or not a readable MIDI file.
    """
    import pretty_midi

    check_structure(data, what, PRIMER_LIMITS)
    count_events(data, what, PRIMER_LIMITS)
    try:
        return pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as e:  # pretty_midi/mido raise many types for corrupt files
        raise InputError(f"{what} is not a readable MIDI file ({type(e).__name__}).") from e


def file_bytes(path: Path, name: str) -> bytes:
    """A MIDI file's bytes from disk, its size checked first (the command lines' input).

    Raises:
        InputError: missing or beyond the size limit.
    """
    if not path.is_file():
        raise InputError(f"MIDI file {str(path)!r} does not exist.")
    check_size(path.stat().st_size, f"the MIDI file {name}", PRIMER_LIMITS)
    return path.read_bytes()


@dataclass(frozen=True)
class NoteGrid:
    """The tracks with notes and each one's notes in steps from the bar line before the file's first note.

    Attributes:
        instruments: pretty_midi's instruments that hold notes, in the file's order.
        notes: per instrument, its notes (onset, end, pitch) starting within MAX_STEPS; every note 1 step or more.
        qpm: the file's first tempo.
        step: seconds -> steps from the file's start (by ticks: a later tempo change keeps the bar lines).
        origin: the step of that bar line.
    """

    instruments: list[pretty_midi.Instrument]
    notes: list[list[GridNote]]
    qpm: float
    step: Callable[[float], float]
    origin: float

    @property
    def last_end(self) -> int:
        return max((end for track in self.notes for _, end, _ in track), default=0)


def note_grid(midi: pretty_midi.PrettyMIDI, no_notes: str) -> NoteGrid:
    """The file on the grid.

    Raises:
        InputError: `no_notes`, when no track has a note.
    """
    instruments = [i for i in midi.instruments if i.notes]
    if not instruments:
        raise InputError(no_notes)
    _, tempi = midi.get_tempo_changes()
    qpm = round(float(tempi[0]), 3) if len(tempi) else 120.0  # 100, not 99.99999999999999
    quarter = float(midi.resolution)

    def step(t: float) -> float:
        return midi.time_to_tick(t) * 4 / quarter

    first = min(n.start for i in instruments for n in i.notes)
    downbeats = [b for b in midi.get_downbeats() if b <= first + 1e-6]
    origin = step(float(downbeats[-1])) if downbeats else 0.0
    notes = []
    for inst in instruments:
        ons = [(round(step(n.start) - origin), round(step(n.end) - origin), n.pitch) for n in inst.notes]
        notes.append([(on, max(on + 1, end), p) for on, end, p in ons if on < MAX_STEPS])
    return NoteGrid(instruments, notes, qpm, step, origin)


def plays_drums(inst: pretty_midi.Instrument, notes: Sequence[GridNote], step: Callable[[float], float]) -> bool:
    """A track off channel 10 that is drums: all its keys in GM's drum map, no bass program, and a drum name or
    program, or short hits mostly on the kit's keys (kick, snare, hats, cymbals) with hits together or three kit
    pieces."""
    pitches = [p for _, _, p in notes]
    if not pitches or not all(p in DRUM_KEYS for p in pitches) or inst.program in BASS_PROGRAMS:
        return False
    if DRUM_NAME.search(inst.name or "") or inst.program in DRUM_PROGRAMS:
        return True
    on_kit = sum(p in KIT_KEYS for p in pitches) / len(pitches)
    short = median(step(n.end) - step(n.start) for n in inst.notes) <= 1.0
    together = len({on for on, _, _ in notes}) < len(notes)
    return on_kit >= 0.8 and short and (together or len(set(pitches) & KIT_KEYS) >= 3)


def line(notes: Sequence[GridNote], lowest: bool) -> list[int]:
    """A monophonic line: the highest (or lowest) note of each onset, each note cut at the next onset."""
    chosen: dict[int, GridNote] = {}
    for note in notes:
        held = chosen.get(note[0])
        if held is None or (note[2] < held[2] if lowest else note[2] > held[2]):
            chosen[note[0]] = note
    return notes_to_events(chosen.values())


def pad_events(events: list[int], length: int) -> tuple[int, ...]:
    """Events cut or extended with silence to `length` (a note sounding at the end stops there)."""
    if len(events) >= length:
        return tuple(events[:length])
    return tuple((events + ([NOTE_OFF] if sounding(events) else []) + [NO_EVENT] * length)[:length])


def sounding(events: Sequence[int]) -> bool:
    """Whether a note is still sounding after the last event."""
    return next((e >= 0 for e in reversed(events) if e != NO_EVENT), False)


def track_name(inst: pretty_midi.Instrument, index: int) -> str:
    return f"the track {inst.name.strip()!r}" if inst.name.strip() else f"track {index + 1}"
