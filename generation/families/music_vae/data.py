"""MusicVAE training data: windows of the config's bars (2 or 16) cut on bar lines, as classes. Pure numpy.

Melodies: the melody family's melodies (dataset.load_melodies: Nottingham, OpenEWLD, POP909), a window from every
bar line (Magenta's slicing hop, for its 2-bar and 16-bar melody configs alike; a melody shorter than the window
gives none), windows without a note dropped, duplicates dropped; the split is the melody family's, by piece
(`held_out`). Training windows are transposed at random when drawn (the melody family's -5..+6 semitones;
Magenta's cat-mel_2bar uses -5..+5, its hierdec-mel_16bar none) within MIDI 21-108; held-out ones are scored as
they are.
Drums: the Groove MIDI Dataset's 4/4 takes, train split from every bar line, validation split in
non-overlapping windows (groove.windows), windows without a hit dropped, duplicates dropped from training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from generation.families.melody.dataset import MONO_TRANSPOSITIONS, Melody, held_out
from generation.families.music_vae.config import MAX_PITCH, MIN_PITCH, STEPS_PER_BAR, MusicVaeConfig

NO_NOTE = 10**3  # stands for "no pitch" when taking a window's lowest pitch


def melody_windows(melodies: Iterable[Melody], steps: int, stats: Counter[str]) -> np.ndarray:
    """Distinct windows of `steps` events from every bar line, each with a note in range: int16 [N, steps]."""
    seen: dict[tuple[int, ...], None] = {}  # insertion-ordered, so the windows come out in a stable order
    for melody in melodies:
        events = melody.events
        for start in range(0, len(events) - steps + 1, STEPS_PER_BAR):
            window = events[start:start + steps]
            notes = [e for e in window if e >= 0]
            if not notes:
                stats["windows without a note (dropped)"] += 1
            elif min(notes) < MIN_PITCH or max(notes) >= MAX_PITCH:
                stats["windows with a pitch outside 21-108 (dropped)"] += 1
            elif window in seen:
                stats["duplicate windows (dropped)"] += 1
            else:
                seen[window] = None
    return np.array(list(seen), np.int16).reshape(len(seen), steps)


def event_classes(events: np.ndarray, shift: np.ndarray | int = 0) -> np.ndarray:
    """Melody events [N, T] (each row moved by its shift) -> classes [N, T] (0 no event, 1 note off, 2.. pitches)."""
    events = np.asarray(events, np.int32)
    moved = events + np.asarray(shift, np.int32).reshape(-1, 1)
    return np.where(events >= 0, moved - MIN_PITCH + 2, events + 2).astype(np.int32)


@dataclass
class WindowSet:
    """Training windows of one config and the held-out ones, as drawn for batches and validation.

    Attributes:
        train: melody events (transposed when drawn) or drum classes, [N, steps].
        valid: held-out classes [M, steps], as they are.
        transpose: whether `train` holds melody events to transpose.
        info: counts for the card.
    """

    train: np.ndarray
    valid: np.ndarray
    transpose: bool
    info: dict[str, int]

    def __post_init__(self) -> None:
        if self.transpose:  # the shifts each window allows within MIDI 21-108
            notes = self.train >= 0
            low = np.where(notes, self.train, NO_NOTE).min(axis=1)
            high = np.where(notes, self.train, -NO_NOTE).max(axis=1)
            self._low = np.maximum(MONO_TRANSPOSITIONS[0], MIN_PITCH - low)
            self._high = np.minimum(MONO_TRANSPOSITIONS[-1], MAX_PITCH - 1 - high)

    def batch(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` training windows drawn at random (with a random transposition for melodies): classes [B, T]."""
        picks = rng.integers(0, len(self.train), size)
        if not self.transpose:
            return self.train[picks].astype(np.int32)
        shift = rng.integers(self._low[picks], self._high[picks] + 1)
        return event_classes(self.train[picks], shift)


def melody_set(melodies: Sequence[Melody], config: MusicVaeConfig) -> WindowSet:
    stats: Counter[str] = Counter()
    train = melody_windows((m for m in melodies if not held_out(m.piece)), config.steps, stats)
    valid = melody_windows((m for m in melodies if held_out(m.piece)), config.steps, stats)
    return WindowSet(train, event_classes(valid), True,
                     {"train_windows": len(train), "validation_windows": len(valid), **stats})


def drum_set(train_events: Iterable[np.ndarray], valid_events: Iterable[np.ndarray]) -> WindowSet:
    """From the events of Groove's training windows (every bar line) and validation windows (not overlapping)."""
    stats: Counter[str] = Counter()
    seen: dict[tuple[int, ...], None] = {}
    for events in train_events:
        key = tuple(int(e) for e in events)
        if key in seen:
            stats["duplicate windows (dropped)"] += 1
        seen[key] = None
    train = np.array(list(seen), np.int32)
    valid = np.array([np.asarray(e, np.int32) for e in valid_events], np.int32)
    return WindowSet(train, valid, False, {"train_windows": len(train), "validation_windows": len(valid), **stats})
