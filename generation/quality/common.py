"""What the quality report's sections share: its settings, a figure with its standard error (Stat), a table row
(Row), the two estimators, and the rows as JSON and as a model card's table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
SEED = 2024
BAR = 16  # 16th steps in a 4/4 bar
BARS = 8
CARD_HEADER = ("figure", "ours: mean ± se (n)", "human: mean ± se (n)", "human source")


@dataclass(frozen=True)
class Stat:
    mean: float
    se: float
    n: int

    def __str__(self) -> str:
        if not self.n:
            return "-"
        # Three significant digits for the mean (at most 5 decimals); the error to the same decimals.
        digits = 3 if self.mean == 0 else min(5, max(1, 2 - math.floor(math.log10(abs(self.mean)))))
        return f"{self.mean:.{digits}f} ± {self.se:.{digits}f} (n={self.n})"


@dataclass(frozen=True)
class Row:
    figure: str
    ours: Stat | None
    human: Stat | None
    source: str


def mean_stat(values: Iterable[float], clusters: Iterable[Any] | None = None) -> Stat:
    """Mean and standard error over samples (nan dropped); with clusters, over cluster means."""
    vals = list(values)
    if clusters is not None:
        groups: dict[Any, list[float]] = {}
        for v, c in zip(vals, clusters, strict=True):
            if not math.isnan(v):
                groups.setdefault(c, []).append(v)
        vals = [float(np.mean(g)) for g in groups.values()]
    arr = np.array([v for v in vals if not math.isnan(v)], float)
    if not len(arr):
        return Stat(float("nan"), float("nan"), 0)
    se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else float("nan")
    return Stat(float(arr.mean()), se, len(arr))


def ratio_stat(counts: Iterable[tuple[float, float]], scale: float = 1.0) -> Stat:
    """Pooled ratio sum(num) / sum(den) over samples, with the ratio estimator's standard error."""
    pairs = np.array([c for c in counts if c[1] > 0], float).reshape(-1, 2)
    n = len(pairs)
    if not n:
        return Stat(float("nan"), float("nan"), 0)
    ratio = pairs[:, 0].sum() / pairs[:, 1].sum()
    resid = pairs[:, 0] - ratio * pairs[:, 1]
    se = math.sqrt((resid**2).sum() / (n * (n - 1))) / pairs[:, 1].mean() if n > 1 else float("nan")
    return Stat(ratio * scale, se * scale, n)


def sum_by(counts: Sequence[tuple[float, float]], clusters: Sequence[Any]) -> list[tuple[float, float]]:
    """A ratio's (numerator, denominator) counts summed per cluster."""
    sums: dict[Any, list[float]] = {}
    for (a, b), c in zip(counts, clusters, strict=True):
        s = sums.setdefault(c, [0.0, 0.0])
        s[0] += a
        s[1] += b
    return [(a, b) for a, b in sums.values()]


def rows_to_json(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]


def rows_from_json(rows: Sequence[dict[str, Any]]) -> list[Row]:
    return [Row(r["figure"], Stat(**r["ours"]) if r.get("ours") else None,
                Stat(**r["human"]) if r.get("human") else None, r["source"]) for r in rows]


def card_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """A model card's Markdown table of report rows recorded as JSON (rows_to_json)."""
    lines = [f"| {' | '.join(CARD_HEADER)} |", "|---|---:|---:|---|"]
    for r in rows_from_json(rows):
        lines.append(f"| {r.figure} | {r.ours or '-'} | {r.human or '-'} | {r.source} |")
    return lines


def quality_lines(rows: Sequence[dict[str, Any]], steering: str) -> list[str]:
    """A card's "Quality beside human" section: what the rows are, how generation is steered, the table."""
    return ["This model's rows of the quality report (`python -m generation.quality.report`: the same code, "
            f"settings and seed {SEED}; the measures are defined in generation/quality/texture.py), beside held-out "
            "human music measured the same way. Mean ± standard error (n samples).", "",
            f"How generation is steered: {steering}", "", *card_table(rows)]
