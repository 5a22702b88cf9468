"""Per-style figures of drum bars: kick / snare / hi-hat / ride densities and the swing of off-beat 8ths.

The same functions measure Groove's held-out bars and our generated ones, so each figure of ours can stand
beside the human one. Densities count, per bar, the 16th steps on which a class is struck (a flam is one hit,
as the model sees it). Swing is how late the off-beat 8th lands, in beats (0 straight, 1/6 triplet swing,
1/4 a dotted 8th + 16th), measured on the time-keepers (hi-hats and ride, which carry the 8th-note feel). It
comes from the unquantised times where a bar has them (Groove) and from the grid otherwise (our outputs, where
a swung 8th can only land on the 4th 16th); `swing_grid` measures human bars on the grid too, the figure our
outputs can match. A beat counts toward swing when it has a hit in its second half and none near its 2nd 16th
(a beat of straight 16ths says nothing about 8th swing): its first hit after 3/8 of the beat is the off-beat 8th.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from generation.families.drums.config import STEPS_PER_BAR, STEPS_PER_QUARTER
from generation.families.drums.encoding import CLOSED_HAT, KICK, OPEN_HAT, RIDE, SNARE, class_bits

BEATS_PER_BAR = STEPS_PER_BAR // STEPS_PER_QUARTER
DENSITIES: dict[str, tuple[int, ...]] = {"kick": (KICK,), "snare": (SNARE,), "hihat": (CLOSED_HAT, OPEN_HAT),
                                         "ride": (RIDE,)}  # fmt: skip
TIME_KEEPERS = (CLOSED_HAT, OPEN_HAT, RIDE)
FIGURES = (*DENSITIES, "swing", "swing_grid")


@dataclass(frozen=True)
class DrumBar:
    """One 4/4 bar of drums.

    Attributes:
        events: 16 steps, each the bit mask of the drum classes struck (encoding.step_to_class).
        onsets: (beat in the bar, class) of every hit before quantising (may start a little before 0);
            empty where only the grid is known.
    """

    events: tuple[int, ...]
    onsets: tuple[tuple[float, int], ...] = ()

    def hit_times(self, classes: Sequence[int], grid: bool = False) -> np.ndarray:
        """Beat positions of the hits of `classes`: unquantised where known (unless `grid`), else on the grid."""
        if self.onsets and not grid:
            return np.array(sorted(t for t, k in self.onsets if k in classes))
        bits = class_bits(np.array(self.events, np.int64))[:, list(classes)]
        return np.repeat(np.arange(len(self.events)), bits.sum(axis=1)) / STEPS_PER_QUARTER


def bar_from_steps(events: Sequence[int]) -> DrumBar:
    """A bar known only on the grid (a generated one)."""
    if len(events) != STEPS_PER_BAR:
        raise ValueError(f"a bar has {STEPS_PER_BAR} steps, not {len(events)}")
    return DrumBar(tuple(int(e) for e in events))


def densities(bar: DrumBar) -> dict[str, int]:
    """Steps of the bar on which each figure's classes are struck."""
    bits = class_bits(np.array(bar.events, np.int64))
    return {name: int(bits[:, list(classes)].any(axis=1).sum()) for name, classes in DENSITIES.items()}


def offbeat_delays(bar: DrumBar, grid: bool = False) -> list[float]:
    """For each beat that shows 8th-note swing (see the module note), how late its off-beat 8th is, in beats."""
    times = bar.hit_times(TIME_KEEPERS, grid)
    delays = []
    for beat in range(BEATS_PER_BAR):
        pos = times - beat
        pos = pos[(pos >= -0.125) & (pos < 0.875)]  # the beat's hits, an early downbeat included
        if ((pos >= 0.125) & (pos < 0.375)).any():
            continue  # a 16th-note beat
        late = pos[pos >= 0.375]
        if len(late):
            delays.append(float(late.min() - 0.5))
    return delays


@dataclass(frozen=True)
class Figure:
    """A mean over bars with its standard error and the number of bars it rests on."""

    mean: float
    se: float
    n: int

    def __str__(self) -> str:
        if not self.n:
            return "-"
        digits = 2 if abs(self.mean) >= 1 else 3
        return f"{self.mean:.{digits}f} ± {self.se:.{digits}f}"


def _figure(values: Sequence[float]) -> Figure:
    if not values:
        return Figure(float("nan"), float("nan"), 0)
    arr = np.asarray(values, np.float64)
    se = float(arr.std(ddof=1) / np.sqrt(len(arr))) if len(arr) > 1 else float("nan")
    return Figure(float(arr.mean()), se, len(arr))


def style_figures(bars: Iterable[DrumBar]) -> dict[str, Figure]:
    """Each figure over `bars`: densities in hits per bar; swing as the mean over bars with swing beats of the
    bar's mean delay (so a standard error over bars)."""
    per_bar: dict[str, list[float]] = {name: [] for name in FIGURES}
    for bar in bars:
        for name, value in densities(bar).items():
            per_bar[name].append(value)
        for name, grid in (("swing", False), ("swing_grid", True)):
            delays = offbeat_delays(bar, grid)
            if delays:
                per_bar[name].append(float(np.mean(delays)))
    return {name: _figure(values) for name, values in per_bar.items()}
