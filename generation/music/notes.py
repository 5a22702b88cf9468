"""Polyphonic music on a step grid: notes in steps, to and from MIDI (Polyphony RNN, Pianoroll RNN-NADE)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generation.errors import InputError

if TYPE_CHECKING:  # imported where MIDI is written or read: the bot's chat modules import this one
    import pretty_midi

MAX_MIDI_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True, order=True)
class Note:
    """A note on the step grid.

    Attributes:
        start: first step it sounds.
        end: the step it stops (exclusive), > start.
        pitch: MIDI pitch 0-127.
        velocity: MIDI velocity 1-127.
    """

    start: int
    end: int
    pitch: int
    velocity: int = 100


def notes_midi(
    tracks: Mapping[str, Sequence[Note]], steps_per_quarter: int, qpm: float, total_steps: int
) -> pretty_midi.PrettyMIDI:
    """A MIDI file with one piano track per entry of `tracks`, lasting exactly `total_steps` steps."""
    import pretty_midi

    step_s = 60.0 / qpm / steps_per_quarter
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    for name, notes in tracks.items():
        inst = pretty_midi.Instrument(0, name=name)
        inst.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start * step_s, n.end * step_s) for n in notes]
        midi.instruments.append(inst)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    # A text event at the very end, so the file lasts total_steps even if the music ends in silence.
    midi.text_events.append(pretty_midi.Text("end", total_steps * step_s))
    return midi


def pianoroll_of(notes: Sequence[Note], total_steps: int) -> list[frozenset[int]]:
    """The pitches sounding at each step."""
    frames: list[set[int]] = [set() for _ in range(total_steps)]
    for n in notes:
        for t in range(max(n.start, 0), min(n.end, total_steps)):
            frames[t].add(n.pitch)
    return [frozenset(f) for f in frames]


def read_midi_notes(path: Path, steps_per_quarter: int, max_steps: int, display_name: str = ""
                    ) -> tuple[list[Note], float]:
    """Every non-drum note of a MIDI file on the step grid (from the bar line before the first note), and its qpm.

    Raises:
        InputError: missing, too large, not MIDI, without notes, or longer than `max_steps`.
    """
    notes, qpm, _ = read_midi_grid(path, steps_per_quarter, max_steps, display_name)
    return notes, qpm


def read_midi_grid(path: Path, steps_per_quarter: int, max_steps: int, display_name: str = ""
                   ) -> tuple[list[Note], float, int]:
    """`read_midi_notes`, and the step where the file ends (its last event: an end marker after closing rests).

    Raises:
        InputError: missing, too large, not MIDI, without notes, or longer than `max_steps`.
    """
    name = display_name or path.name
    if not path.is_file():
        raise InputError(f"MIDI file {str(path)!r} does not exist.")
    size = path.stat().st_size
    if size > MAX_MIDI_BYTES:
        raise InputError(f"MIDI file is {size / 1e6:.1f} MB; at most {MAX_MIDI_BYTES // 2**20} MB is allowed.")
    import pretty_midi

    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as e:  # pretty_midi/mido raise many types for corrupt files
        raise InputError(f"MIDI file {name!r} is not a readable MIDI file ({type(e).__name__}).") from e
    raw = [n for inst in midi.instruments if not inst.is_drum for n in inst.notes]
    if not raw:
        raise InputError(f"MIDI file {name!r} has no (non-drum) notes.")
    _, tempi = midi.get_tempo_changes()
    qpm = float(tempi[0]) if len(tempi) else 120.0
    step_s = 60.0 / qpm / steps_per_quarter
    first = min(n.start for n in raw)
    downbeats = [b for b in midi.get_downbeats() if b <= first + 1e-6]
    origin = float(downbeats[-1]) if downbeats else 0.0
    notes = set()
    for n in raw:
        on = round((n.start - origin) / step_s)
        notes.add(Note(on, max(on + 1, round((n.end - origin) / step_s)), n.pitch, max(1, min(127, n.velocity))))
    length = max(n.end for n in notes)
    if length > max_steps:
        bar = 4 * steps_per_quarter
        raise InputError(f"MIDI file {name!r} lasts {length / bar:.1f} bars of 4/4; at most {max_steps / bar:g} "
                         "are allowed: shorten it or use its opening.")
    return sorted(notes), qpm, round((midi.get_end_time() - origin) / step_s)


def melody_events_notes(events: Sequence[int], velocity: int = 100) -> list[Note]:
    """Magenta melody events (one per step: -2 hold, -1 off, 0-127 on) -> notes; a note lasts to the next event."""
    notes: list[Note] = []
    current: tuple[int, int] | None = None  # (pitch, start)
    for step, event in enumerate([*events, -1]):
        if event >= -1:
            if current is not None:
                notes.append(Note(current[1], step, current[0], velocity))
            current = (event, step) if event >= 0 else None
    return notes


def frames_notes(frames: Sequence[frozenset[int] | Sequence[int]], velocity: int = 100) -> list[Note]:
    """Piano-roll frames -> notes: a pitch held over consecutive frames is one note."""
    notes: list[Note] = []
    started: dict[int, int] = {}
    for step, frame in enumerate([*frames, frozenset()]):
        now = set(frame)
        for pitch in [p for p in started if p not in now]:
            notes.append(Note(started.pop(pitch), step, pitch, velocity))
        for pitch in now - set(started):
            started[pitch] = step
    return sorted(notes)
