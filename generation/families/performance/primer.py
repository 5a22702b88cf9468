"""Primers and control values for Performance RNN, parsed at the edge into notes on the 10 ms grid (no TF)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

from generation.errors import InputError
from generation.families.performance.config import STEPS_PER_SECOND
from generation.music.notes import MAX_MIDI_BYTES, Note, melody_events_notes

PITCHES_STEPS = 50  # Magenta: primer pitches last one quarter note at 120 qpm (0.5 s)
MELODY_STEP = STEPS_PER_SECOND * 60 / 120 / 4  # a 16th note at 120 qpm, in 10 ms steps (12.5)
HISTOGRAM_HELP = "12 numbers >= 0, one per pitch class from C, e.g. \"[2,0,0,0,1,0,0,1,0,0,0,1]\""
PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_MAX_HISTOGRAM_CHARS = 400  # 12 numbers with generous decimals
# One optional pair of brackets around numbers separated by commas and/or spaces.
_HISTOGRAM = re.compile(r"[\[(]?[\s,]*+(?:[-+0-9.eE]++[\s,]*+)*+[\])]?")  # possessive: no backtracking
_NAME = re.compile(r"^([A-Ga-g])([#b\u266f\u266d]*)\d*$")


def pitches_primer(pitches: Sequence[int]) -> list[Note]:
    """Magenta's --primer_pitches: the pitches together for 0.5 s at velocity 100."""
    return [Note(0, PITCHES_STEPS, p, 100) for p in pitches]


def melody_primer(events: Sequence[int]) -> tuple[list[Note], int]:
    """Magenta's --primer_melody (16th notes at 120 qpm) as notes, and where the primer ends (10 ms steps)."""
    notes = [Note(round(n.start * MELODY_STEP), round(n.end * MELODY_STEP), n.pitch, n.velocity)
             for n in melody_events_notes(events)]
    return notes, round(len(events) * MELODY_STEP)


def midi_primer(path: Path, max_steps: int) -> list[Note]:
    """Every non-drum note of a MIDI file, in seconds from its start, on the 10 ms grid.

    Raises:
        InputError: missing, too large, unreadable, without notes, or as long as the output.
    """
    import pretty_midi

    if not path.is_file():
        raise InputError(f"MIDI file {str(path)!r} does not exist.")
    if path.stat().st_size > MAX_MIDI_BYTES:
        raise InputError(f"MIDI file {path.name!r} is larger than {MAX_MIDI_BYTES // 2**20} MB.")
    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as e:  # pretty_midi/mido raise many types for corrupt files
        raise InputError(f"MIDI file {path.name!r} is not a readable MIDI file ({type(e).__name__}).") from e
    notes = []
    for n in (n for inst in midi.instruments if not inst.is_drum for n in inst.notes):
        start = round(n.start * STEPS_PER_SECOND)
        notes.append(Note(start, max(start + 1, round(n.end * STEPS_PER_SECOND)), n.pitch,
                          max(1, min(127, n.velocity))))
    if not notes:
        raise InputError(f"MIDI file {path.name!r} has no (non-drum) notes.")
    end = max(n.end for n in notes)
    if end >= max_steps:
        raise InputError(f"the primer MIDI lasts {end / STEPS_PER_SECOND:g} s, as long as the output "
                         f"({max_steps / STEPS_PER_SECOND:g} s): raise --num_steps or shorten the primer.")
    return sorted(notes)


def parse_histogram(text: str) -> tuple[float, ...]:
    """Magenta's --pitch_class_histogram: "[2,0,0,0,1,0,0,1,0,0,0,1]" (relative weights, C first).

    Read as a flat list of numbers, not with a Python literal parser: a few KB of nested brackets made
    ast.literal_eval raise MemoryError/RecursionError, and 1e999 came back as infinity.

    Raises:
        InputError: not a list of 12 finite numbers >= 0 with a positive sum.
    """
    shown = text if len(text) <= 60 else text[:57] + "..."
    body = text.strip()
    if len(body) > _MAX_HISTOGRAM_CHARS or not _HISTOGRAM.fullmatch(body):
        raise InputError(f"pitch_class_histogram {shown!r} is not a list of numbers: expected {HISTOGRAM_HELP}.")
    words = [w for w in re.split(r"[\s,]+", body.strip("[]() \t")) if w]
    if len(words) != 12:
        raise InputError(f"pitch_class_histogram {shown!r} has {len(words)} values: expected {HISTOGRAM_HELP}.")
    try:
        value = [float(w) for w in words]
    except ValueError:
        value = []
    if len(value) != 12 or not all(math.isfinite(v) and v >= 0 for v in value) or sum(value) <= 0:
        raise InputError(f"pitch_class_histogram {shown!r}: every value must be a finite number >= 0 and at "
                         f"least one above 0; expected {HISTOGRAM_HELP}.")
    return tuple(value)


def histogram_from_names(text: str) -> tuple[float, ...]:
    """A friendlier histogram: note names ("C E G B", "F# A C#5"); each name counts once per mention.

    Raises:
        InputError: naming the word that is not a note name.
    """
    hist = [0.0] * 12
    words = text.replace(",", " ").split()
    if not words:
        raise InputError("notes: give note names such as \"C E G B\".")
    for word in words:
        m = _NAME.match(word)
        if not m:
            raise InputError(f"notes: {word!r} is not a note name (C, C#, Db ... B, an octave number is allowed).")
        pc = PITCH_CLASSES[m.group(1).upper()] + sum(1 if a in "#\u266f" else -1 for a in m.group(2))
        hist[pc % 12] += 1.0
    return tuple(hist)
