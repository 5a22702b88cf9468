"""Voice a chord per span under a melody: bass on the chord's bass note, two inner voices, the melody on top.

Each span gets candidate voicings (bass, tenor, alto) from the chord's pitch classes, every voice strictly
below the lowest melody note sounding in the span; a dynamic programme picks the sequence with the least cost:
moving voices (smooth leading), missing 3rds/7ths, parallel 5ths/octaves between any two voices (the melody
included), voice overlap, and registers far from a choir's. A voice holding the same pitch across a half bar
is tied; every bar line strikes the chord again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from generation.music.notes import Note

BASS_RANGE = (33, 60)  # A1..C4
INNER_LOW = 43  # G2: no inner voice below
BASS_CENTRE, TENOR_CENTRE, ALTO_CENTRE = 45, 55, 62
MISSING = -1
VELOCITY = 80  # the harmony a little under the melody


@dataclass(frozen=True)
class Span:
    """A chord over [start, end): its root, pitch classes and bass pitch class."""

    start: int
    end: int
    root: int
    pitch_classes: frozenset[int]
    bass: int


def _ceiling(melody: Sequence[Note], start: int, end: int) -> int | None:
    """The lowest melody pitch sounding in [start, end), or the nearest melody note's; None without a melody."""
    inside = [n.pitch for n in melody if n.start < end and n.end > start]
    if inside:
        return min(inside)
    before = [n for n in melody if n.end <= start]
    after = [n for n in melody if n.start >= end]
    if before:
        return max(before, key=lambda n: n.end).pitch
    return min(after, key=lambda n: n.start).pitch if after else None


def _top_at(melody: Sequence[Note], step: int) -> int:
    return max((n.pitch for n in melody if n.start <= step < n.end), default=MISSING)


def candidates(span: Span, ceiling: int | None) -> np.ndarray:
    """[K, 3] voicings (bass, tenor, alto; MISSING where no room), all below `ceiling`."""
    top = 76 if ceiling is None else ceiling - 1
    basses = [p for p in range(BASS_RANGE[0], BASS_RANGE[1] + 1) if p % 12 == span.bass and p <= top - 4]
    out: list[tuple[int, int, int]] = []
    for b in basses:
        inner = [p for p in range(max(INNER_LOW, b + 3), top + 1) if p % 12 in span.pitch_classes
                 and p >= top - 19]
        pairs = [(t, a) for t, a in combinations(inner, 2) if a - t <= 12 and a >= top - 12]
        out += [(b, t, a) for t, a in pairs] or [(b, MISSING, a) for a in inner[-2:]] or [(b, MISSING, MISSING)]
    return np.array(out or [(MISSING, MISSING, MISSING)], np.int64).reshape(-1, 3)


def static_cost(span: Span, cands: np.ndarray, melody_pc: int) -> np.ndarray:
    """Per voicing: missing chord members, doubled 3rds, missing voices, registers."""
    cost = np.zeros(len(cands))
    third = [pc for pc in span.pitch_classes if (pc - span.root) % 12 in (3, 4)]
    seventh = [pc for pc in span.pitch_classes if (pc - span.root) % 12 in (10, 11)]
    fifth = [pc for pc in span.pitch_classes if (pc - span.root) % 12 in (6, 7, 8)]
    for k, (b, t, a) in enumerate(cands.tolist()):
        voices = [v for v in (b, t, a) if v != MISSING]
        present = {v % 12 for v in voices} | ({melody_pc} if melody_pc >= 0 else set())
        cost[k] += 4.0 * any(pc not in present for pc in third) + 2.0 * any(pc not in present for pc in seventh)
        cost[k] += 0.5 * any(pc not in present for pc in fifth) + 3.0 * (span.root not in present)
        inner = [v % 12 for v in (t, a) if v != MISSING]
        cost[k] += 1.0 if sum(pc in third for pc in inner + [melody_pc]) > 1 else 0.0  # doubled 3rd
        cost[k] += 0.5 * (len(inner) == 2 and inner[0] == inner[1])
        cost[k] += 6.0 * (3 - len(voices))
        cost[k] += 0.08 * abs(b - BASS_CENTRE) if b != MISSING else 0.0
        cost[k] += 0.05 * (abs(t - TENOR_CENTRE) if t != MISSING else 0) + 0.05 * (abs(a - ALTO_CENTRE)
                                                                                  if a != MISSING else 0)
        cost[k] += 1.0 * (t != MISSING and b != MISSING and t - b > 19)
    return cost


def move_cost(prev: np.ndarray, cur: np.ndarray, prev_top: int, cur_top: int) -> np.ndarray:
    """[K1, K2]: voice movement, parallel perfect intervals (melody included), voice overlap."""
    weights = (0.2, 0.6, 0.6)  # the bass may leap; the inner voices should move little
    cost = np.zeros((len(prev), len(cur)))
    for v, w in enumerate(weights):
        p, c = prev[:, v][:, None], cur[:, v][None, :]
        both = (p != MISSING) & (c != MISSING)
        cost += np.where(both, w * np.abs(p - c), 1.5 * ((p != MISSING) != (c != MISSING)))
    p4 = np.concatenate([prev, np.full((len(prev), 1), prev_top)], axis=1)
    c4 = np.concatenate([cur, np.full((len(cur), 1), cur_top)], axis=1)
    for i, j in combinations(range(4), 2):
        pi, pj, ci, cj = p4[:, i][:, None], p4[:, j][:, None], c4[:, i][None, :], c4[:, j][None, :]
        present = (pi != MISSING) & (pj != MISSING) & (ci != MISSING) & (cj != MISSING)
        before, after = (pj - pi) % 12, (cj - ci) % 12
        moved = (np.sign(ci - pi) == np.sign(cj - pj)) & (ci != pi)
        cost += 8.0 * (present & (before == after) & np.isin(before, (0, 7)) & moved)
    # Overlap: a voice moving past where its upper neighbour just was.
    for lo, hi in ((0, 1), (1, 2)):
        pl, ph = prev[:, lo][:, None], prev[:, hi][:, None]
        cl, ch = cur[:, lo][None, :], cur[:, hi][None, :]
        ok = (pl != MISSING) & (ph != MISSING) & (cl != MISSING) & (ch != MISSING)
        cost += 1.0 * (ok & ((cl > ph) | (ch < pl)))
    return cost


def voice(melody: Sequence[Note], spans: Sequence[Span], bar_starts: Sequence[int]) -> list[Note]:
    """Harmony notes (bass, tenor, alto) for the spans, under the melody's notes."""
    if not spans:
        return []
    cands = [candidates(s, _ceiling(melody, s.start, s.end)) for s in spans]
    tops = [_top_at(melody, s.start) for s in spans]
    # The melody note the previous voicing last sounded against: parallels are heard between neighbouring onsets.
    before = [_top_at(melody, s.start - 1) for s in spans]
    total = static_cost(spans[0], cands[0], tops[0] % 12 if tops[0] >= 0 else -1)
    back = []
    for i in range(1, len(spans)):
        here = static_cost(spans[i], cands[i], tops[i] % 12 if tops[i] >= 0 else -1)
        scores = total[:, None] + move_cost(cands[i - 1], cands[i], before[i], tops[i])
        back.append(scores.argmin(axis=0))
        total = scores.min(axis=0) + here
    pick = [int(total.argmin())]
    for b in reversed(back):
        pick.append(int(b[pick[-1]]))
    pick.reverse()
    bars = set(bar_starts)
    notes: list[Note] = []
    open_: dict[int, Note] = {}  # voice -> its note still sounding
    for span, cand, k in zip(spans, cands, pick, strict=True):
        for v, pitch in enumerate(cand[k].tolist()):
            held = open_.get(v)
            if held is not None and held.pitch == pitch and held.end == span.start and span.start not in bars:
                open_[v] = Note(held.start, span.end, pitch, VELOCITY)
                continue
            if held is not None:
                notes.append(held)
                del open_[v]
            if pitch != MISSING:
                open_[v] = Note(span.start, span.end, pitch, VELOCITY)
    notes += open_.values()
    return sorted(notes)
