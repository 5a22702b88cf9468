"""Figures of grooves, the same code for the model's and the drummers' (pure numpy): how close a played groove is
to the drummer's take of the same window, and what a groove is like on its own.

Against the drummer (per window, then mean and standard error over windows): hit accuracy (cells of steps x 9
classes right) and hit F1; velocity mean absolute error (MIDI units) and timing offset mean absolute error (ms at
120 qpm, where a 16th lasts 125 ms) on the cells both struck; and the correlation of velocities with the
drummer's over those cells (windows with at least 3 such hits, both sides varying).
On its own: mean velocity, velocity spread (standard deviation within a window), mean |offset| (ms at 120 qpm),
and hits per bar of the kick, the snare, the hi-hats (closed or open) and all classes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from generation.families.drums.encoding import CLOSED_HAT, KICK, OPEN_HAT, SNARE
from generation.families.music_vae.config import NUM_DRUM_CLASSES, STEPS_PER_BAR

N = NUM_DRUM_CLASSES
MS_PER_STEP_AT_120 = 125.0
MIN_CORRELATION_HITS = 3
VERSUS = ("hit accuracy", "hit F1", "velocity MAE", "offset MAE (ms)", "velocity r")
ALONE = ("mean velocity", "velocity spread", "mean abs offset (ms)", "kick per bar", "snare per bar",
         "hi-hat per bar", "hits per bar")


def _mean_se(values: list[float]) -> list[float]:
    v = np.array([x for x in values if np.isfinite(x)], np.float64)
    if not len(v):
        return [float("nan"), float("nan")]
    return [float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")]


def _window_versus(played: np.ndarray, human: np.ndarray) -> dict[str, float]:
    p, h = played[:, :N] > 0.5, human[:, :N] > 0.5
    both = p & h
    tp, fp, fn = int(both.sum()), int((p & ~h).sum()), int((~p & h).sum())
    out = {"hit accuracy": float((p == h).mean()),
           "hit F1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0,
           "velocity MAE": float("nan"), "offset MAE (ms)": float("nan"), "velocity r": float("nan")}
    if tp:
        pv, hv = played[:, N:2 * N][both] * 127, human[:, N:2 * N][both] * 127
        out["velocity MAE"] = float(np.abs(pv - hv).mean())
        po, ho = played[:, 2 * N:][both], human[:, 2 * N:][both]
        out["offset MAE (ms)"] = float(np.abs(po - ho).mean() * MS_PER_STEP_AT_120)
        if tp >= MIN_CORRELATION_HITS and pv.std() > 1e-3 and hv.std() > 1e-3:
            out["velocity r"] = float(np.corrcoef(pv, hv)[0, 1])
    return out


def versus(played: np.ndarray, human: np.ndarray) -> dict[str, Any]:
    """How close grooves [W, T, 27] are to the drummer's [W, T, 27], window by window: {figure: [mean, se]}."""
    rows = [_window_versus(p, h) for p, h in zip(played, human, strict=True)]
    return {"windows": len(rows), **{k: _mean_se([r[k] for r in rows]) for k in VERSUS}}


def _struck(classes: tuple[int, ...], bars: float) -> Callable[[np.ndarray], float]:
    return lambda w: float((w[:, list(classes)] > 0.5).sum() / bars)


def alone(grooves: np.ndarray) -> dict[str, Any]:
    """Figures of grooves [W, T, 27] on their own: {figure: [mean, se]} over windows."""
    bars = grooves.shape[1] / STEPS_PER_BAR if grooves.ndim == 3 else 1.0

    def velocity(w: np.ndarray) -> np.ndarray:
        return w[:, N:2 * N][w[:, :N] > 0.5] * 127

    def spread(w: np.ndarray) -> float:
        v = velocity(w)
        return float(v.std(ddof=1)) if len(v) > 1 else float("nan")

    def offset(w: np.ndarray) -> float:
        o = w[:, 2 * N:][w[:, :N] > 0.5]
        return float(np.abs(o).mean() * MS_PER_STEP_AT_120) if len(o) else float("nan")

    functions: dict[str, Callable[[np.ndarray], float]] = {
        "mean velocity": lambda w: float(velocity(w).mean()) if velocity(w).size else float("nan"),
        "velocity spread": spread, "mean abs offset (ms)": offset,
        "kick per bar": _struck((KICK,), bars), "snare per bar": _struck((SNARE,), bars),
        "hi-hat per bar": _struck((CLOSED_HAT, OPEN_HAT), bars), "hits per bar": _struck(tuple(range(N)), bars)}
    return {"windows": len(grooves), **{k: _mean_se([f(w) for w in grooves]) for k, f in functions.items()}}


def pooled_velocity_r(played: np.ndarray, human: np.ndarray) -> float:
    """The correlation of velocities over every cell both struck, all windows pooled."""
    both = (played[..., :N] > 0.5) & (human[..., :N] > 0.5)
    pv, hv = played[..., N:2 * N][both], human[..., N:2 * N][both]
    return float(np.corrcoef(pv, hv)[0, 1]) if len(pv) > 2 and pv.std() > 1e-3 and hv.std() > 1e-3 else float("nan")
