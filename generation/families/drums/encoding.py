"""Drum encodings, as Magenta's drum_kit: 9 drum classes, a step's set of classes as one of 512 events.

Pure numpy, no TensorFlow. note-seq's drum map sends every General MIDI drum pitch it knows to one of nine
classes (kick, snare, closed hi-hat, open hi-hat, low/mid/high tom, crash, ride); a step's event is the bit
mask sum(2**class) of the classes struck. Pitches outside the map are not heard by the model (Magenta's
`ignore_unknown_drums`). A class is written back as its first, most common pitch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from generation.families.drums.config import NUM_DRUM_CLASSES, DrumsConfig

DRUM_CLASS_NAMES = ("kick", "snare", "closed hi-hat", "open hi-hat", "low tom", "mid tom", "high tom", "crash",
                    "ride")  # fmt: skip
# Class -> the GM pitches it gathers, the one we write first (note-seq's DEFAULT_DRUM_TYPE_PITCHES).
_PITCHES_OF_CLASS: tuple[tuple[int, ...], ...] = (
    (36, 35),
    (38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85),
    (42, 44, 54, 68, 69, 70, 71, 73, 78, 80, 22),
    (46, 67, 72, 74, 79, 81, 26),
    (45, 29, 41, 43, 61, 64, 84),
    (48, 47, 60, 63, 77, 86, 87),
    (50, 30, 62, 76, 83),
    (49, 52, 55, 57, 58),
    (51, 53, 59, 82),
)
DEFAULT_QPM = 120.0
TEMPO_CENTRE, TEMPO_SCALE = 110.0, 40.0  # Groove's 4/4 takes: median 110 qpm, most within 80-150
CLASS_OF_PITCH: dict[int, int] = {p: k for k, pitches in enumerate(_PITCHES_OF_CLASS) for p in pitches}
CLASS_PITCH: tuple[int, ...] = tuple(pitches[0] for pitches in _PITCHES_OF_CLASS)  # written for each class
KICK, SNARE, CLOSED_HAT, OPEN_HAT, LOW_TOM, MID_TOM, HIGH_TOM, CRASH, RIDE = range(NUM_DRUM_CLASSES)

DrumStep = frozenset[int]  # MIDI drum pitches struck at one 16th step


def step_to_class(pitches: Iterable[int]) -> int:
    """The event (0..511) of a step: the bit mask of the classes its pitches belong to; unknown pitches drop."""
    mask = 0
    for p in pitches:
        k = CLASS_OF_PITCH.get(p)
        if k is not None:
            mask |= 1 << k
    return mask


_STEP_OF_EVENT: tuple[DrumStep, ...] = tuple(
    frozenset(CLASS_PITCH[k] for k in range(NUM_DRUM_CLASSES) if event >> k & 1) for event in range(2**NUM_DRUM_CLASSES)
)


def class_to_step(event: int) -> DrumStep:
    """The pitches written for an event (0..511): each class present as its representative pitch."""
    return _STEP_OF_EVENT[event]


def steps_to_classes(steps: Sequence[Iterable[int]]) -> np.ndarray:
    return np.array([step_to_class(s) for s in steps], np.int32)


def class_bits(events: np.ndarray) -> np.ndarray:
    """Events [...] -> which of the 9 classes each strikes, bool [..., 9]."""
    return (np.asarray(events)[..., None] >> np.arange(NUM_DRUM_CLASSES) & 1).astype(bool)


def unknown_pitches(steps: Sequence[Iterable[int]]) -> list[int]:
    """Pitches in `steps` that no drum class gathers (the model does not hear them), sorted."""
    return sorted({p for s in steps for p in s if p not in CLASS_OF_PITCH})


def counters(positions: np.ndarray, bits: int) -> np.ndarray:
    """Binary step counters: bit i of each position as +1.0 or -1.0, [len(positions), bits]."""
    positions = np.asarray(positions, np.int64)
    return np.where(positions[:, None] >> np.arange(bits) & 1, 1.0, -1.0).astype(np.float32)


def style_rows(style: str | None, count: int, config: DrumsConfig) -> np.ndarray:
    """The style one-hot repeated `count` times ([count, 0] for a config without styles).

    Raises:
        ValueError: a style the config does not know, or none where it needs one.
    """
    if not config.styles:
        if style is not None:
            raise ValueError(f"{config.name} has no style control")
        return np.zeros((count, 0), np.float32)
    if style not in config.styles:
        raise ValueError(f"style {style!r} is not one of {', '.join(config.styles)}")
    row = np.zeros(len(config.styles), np.float32)
    row[config.styles.index(style)] = 1.0
    return np.tile(row, (count, 1))


def tempo_value(qpm: float) -> float:
    """The tempo as the network hears it: 0 at 110 qpm (Groove's middle), +-1 per 40 qpm, held within +-2.5."""
    return float(np.clip((qpm - TEMPO_CENTRE) / TEMPO_SCALE, -2.5, 2.5))


def control_rows(total: int, config: DrumsConfig, style: str | None = None,
                 qpm: float = DEFAULT_QPM) -> np.ndarray:
    """Rows 0..total of what is fed beside the events: [counters(k), style, tempo], k the position counted."""
    tempo = np.full((total + 1, int(config.tempo)), tempo_value(qpm), np.float32)
    return np.concatenate([counters(np.arange(total + 1), config.counter_bits),
                           style_rows(style, total + 1, config), tempo], axis=1)


def model_inputs(events: np.ndarray, config: DrumsConfig, style: str | None = None,
                 qpm: float = DEFAULT_QPM) -> np.ndarray:
    """Teacher-forced inputs for a track of T events, Magenta's layout: [T - 1, input_size].

    Row t = [one-hot(event t), counters(t + 1), style, tempo]: the counters give the position of the step
    predicted.
    """
    events = np.asarray(events)
    onehot = np.eye(config.num_classes, dtype=np.float32)[events[:-1]]
    return np.concatenate([onehot, control_rows(len(events) - 1, config, style, qpm)[1:]], axis=1)


def sampler_row_order(config: DrumsConfig) -> np.ndarray:
    """For each input of the sampler's layout [controls, one-hot], its row in Magenta's [one-hot, controls]."""
    n = config.num_classes
    return np.concatenate([np.arange(n, n + config.control_size), np.arange(n)])
