"""GrooVAE's encoding (Magenta's GrooveConverter): hits, velocities and timing offsets per 16th step and drum class.

Pure numpy, no TensorFlow. A groove is a float array [steps, 27]: columns 0-8 the hits (0/1) of the 9 drum classes
(drums/encoding.py's mapping), 9-17 their velocities (MIDI velocity / 127), 18-26 their timing offsets (-0.5..0.5
of a step: how early or late the hit is played against its 16th); velocity and offset are 0 where nothing is
struck. A cell struck twice keeps its loudest hit, as Magenta's converter does. What the network reads as its
input (the control) is a row per step: the 9 hits of a quantised pattern (humanize) or one tap (drumify).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from generation.families.drums.encoding import CLASS_OF_PITCH, CLASS_PITCH
from generation.families.music_vae.config import NUM_DRUM_CLASSES
from generation.families.music_vae.groove_config import OUTPUT_SIZE, GrooveConfig

N = NUM_DRUM_CLASSES
HITS, VELOCITIES, OFFSETS = slice(0, N), slice(N, 2 * N), slice(2 * N, 3 * N)
MAX_OFFSET = 0.5  # of a step: a hit further off belongs to the next 16th
FIXED_VELOCITY = 100  # what a quantised pattern is written with (Magenta's DrumTrack velocity)


@dataclass(frozen=True)
class Hit:
    """One drum hit as played: its 16th step, GM drum pitch, MIDI velocity (1-127) and offset (steps)."""

    step: int
    pitch: int
    velocity: int
    offset: float = 0.0


def groove_of_onsets(onsets: Iterable[tuple[float, int, int]], steps: int) -> np.ndarray:
    """(position in 16th steps from the window's start, drum class, MIDI velocity) -> a groove [steps, 27].

    Each onset goes to its nearest 16th (a hit exactly half way goes to the later one); onsets whose nearest 16th
    is outside the window are dropped. A cell struck twice keeps the loudest hit.
    """
    groove = np.zeros((steps, OUTPUT_SIZE), np.float32)
    for position, drum, velocity in onsets:
        step = int(np.floor(position + 0.5))
        if not 0 <= step < steps:
            continue
        v = float(np.clip(velocity, 1, 127)) / 127.0
        if groove[step, drum] and groove[step, N + drum] >= v:
            continue
        groove[step, drum] = 1.0
        groove[step, N + drum] = v
        groove[step, 2 * N + drum] = float(np.clip(position - step, -MAX_OFFSET, MAX_OFFSET))
    return groove


def hits_of_steps(steps: Sequence[Iterable[int]]) -> np.ndarray:
    """A quantised pattern (the GM drum pitches struck per 16th step) -> its hits [len, 9]; pitches outside the 9
    classes are not heard, as in Magenta's drum models."""
    hits = np.zeros((len(steps), N), np.float32)
    for t, pitches in enumerate(steps):
        for p in pitches:
            if p in CLASS_OF_PITCH:
                hits[t, CLASS_OF_PITCH[p]] = 1.0
    return hits


def quantised(groove: np.ndarray) -> np.ndarray:
    """The humanize input of a groove [..., steps, 27]: its hits alone, [..., steps, 9]."""
    return np.asarray(groove)[..., HITS].copy()


def taps(groove: np.ndarray) -> np.ndarray:
    """The drumify input of a groove [..., steps, 27]: 1 where anything is struck, [..., steps, 1]."""
    return np.asarray(groove)[..., HITS].max(axis=-1, keepdims=True)


def control(groove: np.ndarray, config: GrooveConfig) -> np.ndarray:
    """The network's input rows for a groove (what the user gives): quantised hits or taps."""
    return quantised(groove) if config.mode == "humanize" else taps(groove)


def tap_rows(onsets: Sequence[bool | int]) -> np.ndarray:
    """Taps (truthy where a step has an onset) -> control rows [len, 1]."""
    return np.array([[1.0 if t else 0.0] for t in onsets], np.float32).reshape(len(onsets), 1)


def groove_hits(groove: np.ndarray, pattern: Sequence[Iterable[int]] | None = None) -> list[Hit]:
    """A groove's hits in time order. With `pattern` (a quantised pattern's pitches per step), its own pitches are
    played with the groove of their class (the same hits, now with velocity and timing); a pitch outside the 9
    classes keeps its step at the fixed velocity. Without it, each class is written as its usual GM pitch."""
    groove = np.asarray(groove)
    out: list[Hit] = []
    for t in range(len(groove)):
        if pattern is None:
            cells = [(CLASS_PITCH[k], k) for k in range(N) if groove[t, k] > 0.5]
        else:
            cells = [(p, CLASS_OF_PITCH.get(p, -1)) for p in sorted(pattern[t])]
        for pitch, k in cells:
            if k < 0:
                out.append(Hit(t, pitch, FIXED_VELOCITY, 0.0))
                continue
            velocity = int(np.clip(round(float(groove[t, N + k]) * 127), 1, 127))
            out.append(Hit(t, pitch, velocity, float(groove[t, 2 * N + k])))
    return sorted(out, key=lambda h: (h.step + h.offset, h.pitch))


def hits_groove(hits: Iterable[Hit], steps: int) -> np.ndarray:
    """Hits back to a groove [steps, 27] (pitches outside the 9 classes are not heard)."""
    return groove_of_onsets(((h.step + h.offset, CLASS_OF_PITCH[h.pitch], h.velocity) for h in hits
                             if h.pitch in CLASS_OF_PITCH), steps)
