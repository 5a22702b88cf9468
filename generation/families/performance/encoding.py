"""Performance events as Magenta's class indices, to and from notes on the 10 ms grid, plus control encodings.

Classes follow note-seq's PerformanceOneHotEncoding: note-on 0-127, note-off 128-255, time shift of 1-100
steps at 256-355, then (with dynamics) velocity bins 1-32 at 356-387. Pure numpy: no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from generation.families.performance.config import (
    DENSITY_BIN_RANGES,
    DENSITY_WINDOW_S,
    MAX_SHIFT_STEPS,
    PITCH_WINDOW_S,
    STEPS_PER_SECOND,
    PerformanceConfig,
)
from generation.music.notes import Note

NOTE_OFF0 = 128
SHIFT0 = 256
VELOCITY0 = SHIFT0 + MAX_SHIFT_STEPS
DEFAULT_VELOCITY = 100
MAX_NOTE_STEPS = 5 * STEPS_PER_SECOND  # Magenta's max_note_duration: no decoded note lasts longer
PRIOR_COUNT = 0.01  # Magenta's smoothing of pitch-class histograms


def velocity_to_bin(velocity: int, bins: int) -> int:
    """Magenta's velocity bin (1..bins) of a MIDI velocity 1-127."""
    return (max(1, min(127, velocity)) - 1) * bins // 127 + 1


def bin_to_velocity(b: int, bins: int) -> int:
    """The velocity Magenta writes for a bin: the bottom of its range."""
    return 1 + (b - 1) * -(-127 // bins)


def notes_to_classes(notes: Sequence[Note], num_velocity_bins: int, start: int = 0) -> np.ndarray:
    """Notes (10 ms steps) -> event classes; time runs from `start`. At one step, offs come before ons."""
    events: list[tuple[int, int, int, int]] = []  # (step, 0 off / 1 on, pitch, velocity)
    for n in notes:
        events.append((max(n.start, start), 1, n.pitch, n.velocity))
        events.append((max(n.end, n.start + 1, start), 0, n.pitch, 0))
    events.sort()
    out: list[int] = []
    now, current_bin = start, 0
    for step, is_on, pitch, velocity in events:
        gap = step - now
        while gap > 0:
            shift = min(gap, MAX_SHIFT_STEPS)
            out.append(SHIFT0 + shift - 1)
            gap -= shift
        now = step
        if not is_on:
            out.append(NOTE_OFF0 + pitch)
            continue
        if num_velocity_bins:
            b = velocity_to_bin(velocity, num_velocity_bins)
            if b != current_bin:
                out.append(VELOCITY0 + b - 1)
                current_bin = b
        out.append(pitch)
    return np.array(out, np.int32)


def classes_to_notes(classes: Sequence[int] | np.ndarray, num_velocity_bins: int, start: int = 0,
                     end: int | None = None, max_steps: int | None = MAX_NOTE_STEPS) -> list[Note]:
    """Event classes -> notes (10 ms steps from `start`). A note-off without its note is ignored; a note still
    on at the end stops at `end` (default: where the events end). As in Magenta's decoder, every note is cut
    to `max_steps` (5 s; None: no limit)."""
    notes: list[Note] = []
    sounding: dict[int, tuple[int, int]] = {}  # pitch -> (start step, velocity)
    now, velocity = start, DEFAULT_VELOCITY
    for c in map(int, classes):
        if c < NOTE_OFF0:
            if c in sounding:  # re-struck: the earlier note stops here
                s, v = sounding.pop(c)
                if now > s:
                    notes.append(Note(s, _cut(s, now, max_steps), c, v))
            sounding[c] = (now, velocity)
        elif c < SHIFT0:
            if c - NOTE_OFF0 in sounding:
                s, v = sounding.pop(c - NOTE_OFF0)
                notes.append(Note(s, _cut(s, max(now, s + 1), max_steps), c - NOTE_OFF0, v))
        elif c < VELOCITY0:
            now += c - SHIFT0 + 1
        elif num_velocity_bins:
            velocity = bin_to_velocity(c - VELOCITY0 + 1, num_velocity_bins)
    stop = now if end is None else end
    for pitch, (s, v) in sounding.items():
        notes.append(Note(s, _cut(s, max(s + 1, stop), max_steps), pitch, v))
    return sorted(notes)


def _cut(start: int, end: int, max_steps: int | None) -> int:
    return end if max_steps is None else min(end, start + max_steps)


def event_input_table(config: PerformanceConfig) -> np.ndarray:
    """[num_classes, event_input_size]: the input vector of each event class (one-hot, or note-seq's modulo)."""
    if not config.modulo:
        return np.eye(config.num_classes, dtype=np.float32)
    from note_seq.performance_encoder_decoder import ModuloPerformanceEventSequenceEncoderDecoder

    coder = ModuloPerformanceEventSequenceEncoderDecoder(num_velocity_bins=config.num_velocity_bins,
                                                         max_shift_steps=MAX_SHIFT_STEPS)
    rows = []
    for c in range(config.num_classes):
        event = coder.class_index_to_event(c, [])
        rows.append(coder.events_to_input([event], 0))
    return np.array(rows, np.float32)


def density_one_hot(notes_per_second: float) -> np.ndarray:
    """Magenta's 8-bin note-density one-hot (bin edges 1, 2, 4 ... 64 notes/s)."""
    out = np.zeros(len(DENSITY_BIN_RANGES) + 1, np.float32)
    out[int(np.searchsorted(DENSITY_BIN_RANGES, notes_per_second, side="right"))] = 1.0
    return out


def normalise_histogram(histogram: Sequence[float] | np.ndarray) -> np.ndarray:
    h = np.asarray(histogram, np.float32)
    total = float(h.sum())
    return h / total if total > 0 else np.full(12, 1 / 12, np.float32)


def control_vector(config: PerformanceConfig, notes_per_second: float, histogram: Sequence[float],
                   disabled: bool = False) -> np.ndarray:
    """The control part of one input row, in Magenta's order: [disable bit], density one-hot, histogram."""
    parts: list[np.ndarray] = []
    if config.optional_conditioning:
        parts.append(np.array([1.0 if disabled else 0.0], np.float32))
    if config.density:
        parts.append(np.zeros(8, np.float32) if disabled else density_one_hot(notes_per_second))
    if config.pitch:
        parts.append(np.zeros(12, np.float32) if disabled else normalise_histogram(histogram))
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def event_controls(classes: np.ndarray, config: PerformanceConfig, total_steps: int | None = None) -> np.ndarray:
    """The control rows each event of a performance would have had (training data): [len, control_size].

    As in Magenta, an event's controls describe the music from its time step on: note-ons per second in the
    next 3 s (divided by the time actually left, if less) and the pitch classes of note-ons in the next 5 s
    (plus a prior of 0.01 each; Magenta weights sounding time, we count onsets, which is what we steer).
    """
    n = len(classes)
    shifts = np.where((classes >= SHIFT0) & (classes < VELOCITY0), classes - SHIFT0 + 1, 0)
    times = np.concatenate([[0], np.cumsum(shifts)[:-1]]) if n else np.zeros(0, np.int64)
    end_time = int(times[-1] + shifts[-1]) if n else 0
    if total_steps is not None:
        end_time = max(end_time, total_steps)
    is_on = classes < NOTE_OFF0
    group = np.searchsorted(times, times, side="left")  # first event at the same time step
    parts: list[np.ndarray] = []
    if config.optional_conditioning:
        parts.append(np.zeros((n, 1), np.float32))
    if config.density:
        win = int(DENSITY_WINDOW_S * STEPS_PER_SECOND)
        cum_on = np.concatenate([[0], np.cumsum(is_on)])
        stop = np.searchsorted(times, times + win, side="left")
        span = np.minimum(win, end_time - times)
        density = np.where(span > 0, (cum_on[stop] - cum_on[group]) * STEPS_PER_SECOND / np.maximum(span, 1), 0.0)
        bins = np.searchsorted(DENSITY_BIN_RANGES, density, side="right")
        parts.append(np.eye(8, dtype=np.float32)[bins])
    if config.pitch:
        win = int(PITCH_WINDOW_S * STEPS_PER_SECOND)
        onehot = np.zeros((n + 1, 12), np.float32)
        onehot[1:][is_on, classes[is_on] % 12] = 1.0
        cum = np.cumsum(onehot, axis=0)
        stop = np.searchsorted(times, times + win, side="left")
        hist = cum[stop] - cum[group] + PRIOR_COUNT
        parts.append(hist / hist.sum(axis=1, keepdims=True))
    return np.concatenate(parts, axis=1) if parts else np.zeros((n, 0), np.float32)


def pitch_class_histogram(notes: Sequence[Note]) -> np.ndarray:
    """Note-on counts per pitch class (C first)."""
    h = np.zeros(12)
    for n in notes:
        h[n.pitch % 12] += 1
    return h


def cosine(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / denom) if denom else 0.0
