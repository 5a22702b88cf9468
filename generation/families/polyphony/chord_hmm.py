"""A chord HMM over half bars learnt from lead sheets: Roman-numeral states, melody pitch classes as emissions.

States are (root relative to the key's tonic, quality) for a major and a minor key: 12 x 7 per mode. A tune is
cut into half bars (4/4 and 6/8-like bars; whole bars otherwise); the emission of a half bar is its melody's
pitch-class weights (beats sounding, a little per onset, more for the note on the half bar's first step; scaled
to the same total in every half bar, so a slow tune is heard as clearly as a jig), read relative to the tonic;
transitions depend on whether the half bar starts a bar (chords change far more often on bar lines). Everything
is relative to the key, so one set of tables serves every transposition; at run time the key is latent: the
best (key, chord path) over the 24 keys wins. Counting and decoding are pure numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from generation.music.chords import Chord, ChordError, Quality, parse_chord

QUALITIES = ("", "m", "7", "m7", "maj7", "dim", "aug")
INTERVALS = ((0, 4, 7), (0, 3, 7), (0, 4, 7, 10), (0, 3, 7, 10), (0, 4, 7, 11), (0, 3, 6), (0, 4, 8))
NQ = len(QUALITIES)
S = 12 * NQ  # states per mode: root * NQ + quality
NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
ONSET_WEIGHT = 0.25  # beats a note's onset adds to its pitch class (short notes still count)
DOWNBEAT_WEIGHT = 1.0  # beats added for the note sounding as the half bar begins (what a musician harmonises)
SEGMENT_WEIGHT = 3.0  # every half bar with melody weighs this much in all (about the folk tunes' mean)


def quality_of(chord: Chord) -> int | None:
    """The reduced quality index of a chord symbol (None for no chord)."""
    if chord.root is None or chord.quality is None:
        return None
    iv = {(pc - chord.root) % 12 for pc in chord.pitch_classes}
    if chord.quality is Quality.MINOR:
        return 3 if 10 in iv else 1
    if chord.quality is Quality.DIMINISHED:
        return 5
    if chord.quality is Quality.AUGMENTED:
        return 6
    if 10 in iv:  # major and sus chords with a minor 7th are dominants
        return 2
    return 4 if 11 in iv and chord.quality is Quality.MAJOR else 0


def state_of(chord: Chord) -> int | None:
    """Absolute state (root * NQ + quality) of a chord symbol, or None."""
    q = quality_of(chord)
    return None if q is None or chord.root is None else chord.root * NQ + q


def state_name(state: int) -> str:
    return NAMES[state // NQ] + QUALITIES[state % NQ]


def state_pitch_classes(state: int) -> frozenset[int]:
    root = state // NQ
    return frozenset((root + i) % 12 for i in INTERVALS[state % NQ])


def transpose_state(state: int, semitones: int) -> int:
    return ((state // NQ + semitones) % 12) * NQ + state % NQ


@dataclass(frozen=True)
class Segments:
    """A piece cut into half bars: span [start, end) steps, whether each starts a bar, melody weights."""

    spans: tuple[tuple[int, int], ...]
    bar_start: np.ndarray  # [T] bool
    weights: np.ndarray  # [T, 12] melody pitch-class weights (beats)


def bar_spans(bar_starts: Sequence[int], total: int) -> list[tuple[int, int, bool]]:
    """(start, end, starts a bar) of each segment: halves of 16- and 12-step bars, whole bars otherwise."""
    out = []
    edges = [*bar_starts, total]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b <= a:
            continue
        if b - a in (12, 16):
            mid = a + (b - a) // 2
            out += [(a, mid, True), (mid, b, False)]
        else:
            out.append((a, b, True))
    return out


def melody_weights(melody: Sequence[int], spans: Sequence[tuple[int, int, bool]]) -> np.ndarray:
    """[T, 12]: per segment, beats each pitch class sounds, ONSET_WEIGHT per onset and DOWNBEAT_WEIGHT for the
    note sounding at its start, scaled to SEGMENT_WEIGHT in all (zero without melody)."""
    w = np.zeros((len(spans), 12))
    sounding = np.full(len(melody), -1)
    onset = np.zeros(len(melody), bool)
    current = -1
    for t, e in enumerate(melody):
        if e >= 0:
            current, onset[t] = e, True
        elif e == -1:
            current = -1
        sounding[t] = current
    for i, (a, b, _) in enumerate(spans):
        for t in range(a, min(b, len(melody))):
            if sounding[t] >= 0:
                w[i, sounding[t] % 12] += 0.25 + ONSET_WEIGHT * onset[t] + DOWNBEAT_WEIGHT * (t == a)
    total = w.sum(axis=1, keepdims=True)
    return np.where(total > 0, w * SEGMENT_WEIGHT / np.maximum(total, 1e-9), 0.0)


def segments(melody: Sequence[int], bar_starts: Sequence[int], total: int) -> Segments:
    spans = bar_spans(bar_starts, total)
    return Segments(tuple((a, b) for a, b, _ in spans), np.array([s for _, _, s in spans], bool),
                    melody_weights(melody, spans))


def segment_states(chords: Sequence[Chord], spans: Sequence[tuple[int, int]]) -> list[int | None]:
    """The chord state of each segment: the one sounding longest in it (None if no chord sounds most)."""
    out: list[int | None] = []
    for a, b in spans:
        counts: dict[int | None, int] = {}
        for c in chords[a:b]:
            s = state_of(c)
            counts[s] = counts.get(s, 0) + 1
        best = max(counts, key=lambda s: (counts[s], s is not None)) if counts else None
        out.append(best)
    return out


def parse_figures(figures: Sequence[str | None]) -> list[Chord]:
    """Per-step figures -> chords; unreadable ones are no chord."""
    cache: dict[str | None, Chord] = {}
    out = []
    for f in figures:
        if f not in cache:
            try:
                cache[f] = parse_chord(f) if f else parse_chord("N.C.")
            except ChordError:
                cache[f] = parse_chord("N.C.")
        out.append(cache[f])
    return out


@dataclass
class Counts:
    """Counting tables per mode (0 major, 1 minor), states relative to the tonic."""

    initial: np.ndarray  # [2, S]
    final: np.ndarray  # [2, S]
    transition: np.ndarray  # [2, 2, S, S]: mode, next starts a bar, previous, next
    emission: np.ndarray  # [2, S, 12]: melody weight per pitch class relative to the tonic
    modes: np.ndarray  # [2] tunes

    @classmethod
    def empty(cls) -> Counts:
        return cls(np.zeros((2, S)), np.zeros((2, S)), np.zeros((2, 2, S, S)), np.zeros((2, S, 12)), np.zeros(2))

    def add(self, seg: Segments, states: Sequence[int | None], tonic: int, minor: bool) -> None:
        """Count one tune (states absolute; None segments break the chain)."""
        m = int(minor)
        rel = [None if s is None else transpose_state(s, -tonic) for s in states]
        seen = [r for r in rel if r is not None]
        if not seen:
            return
        self.modes[m] += 1
        self.initial[m, seen[0]] += 1
        self.final[m, seen[-1]] += 1
        w = np.roll(seg.weights, -tonic, axis=1)
        for t, r in enumerate(rel):
            if r is None:
                continue
            self.emission[m, r] += w[t]
            if t and rel[t - 1] is not None:
                self.transition[m, int(seg.bar_start[t]), rel[t - 1], r] += 1


@dataclass(frozen=True)
class Smoothing:
    """How counts become probabilities, and how much the melody weighs against the chord grammar."""

    min_share: float = 0.0015  # states rarer than this share of a mode's segments are never chosen
    transition_prior: float = 0.5  # pseudo-counts spread as the state unigram over each row
    emission_prior: float = 8.0  # beats of the quality's root-relative profile added to each state
    melody_weight: float = 1.0  # multiplies the emission log-likelihood
    end_weight: float = 0.5  # multiplies log P(last chord)


NEVER = -1e4  # log-probability of a pruned state (float16 keeps it)


def fit(counts: Counts, sm: Smoothing) -> dict[str, np.ndarray]:
    """Log-probability tables (the bundle's weights) from counts."""
    unigram = counts.emission.sum(axis=2) + 1e-9  # [2, S] beats per state
    seg_counts = counts.transition.sum(axis=(1, 2)) + counts.initial  # segments per state
    allowed = seg_counts >= sm.min_share * seg_counts.sum(axis=1, keepdims=True)
    # The root-relative profile of each quality, pooled over modes and roots, backs off rare states' emissions.
    profile = np.zeros((NQ, 12))
    for m in range(2):
        for s in range(S):
            profile[s % NQ] += np.roll(counts.emission[m, s], -(s // NQ))
    profile = (profile + 0.1) / (profile + 0.1).sum(axis=1, keepdims=True)
    emission = np.zeros((2, S, 12))
    for s in range(S):
        back = np.roll(profile[s % NQ], s // NQ)
        emission[:, s] = (counts.emission[:, s] + sm.emission_prior * back) / (
            unigram[:, s, None] + sm.emission_prior)
    uni = np.where(allowed, seg_counts, 0.0)
    uni = uni / uni.sum(axis=1, keepdims=True)
    trans = counts.transition + sm.transition_prior * uni[:, None, None, :] + 1e-12
    trans = trans / trans.sum(axis=3, keepdims=True)
    prior = sm.transition_prior
    initial = (counts.initial + prior * uni) / (counts.initial.sum(1, keepdims=True) + prior)
    final = (counts.final + prior * uni) / (counts.final.sum(1, keepdims=True) + prior)
    mask = np.where(allowed, 0.0, NEVER)
    return {"log_initial": np.log(initial + 1e-12) + mask, "log_final": np.log(final + 1e-12) + mask,
            "log_transition": np.log(trans) + mask[:, None, None, :], "log_emission": np.log(emission),
            "log_mode": np.log((counts.modes + 1) / (counts.modes.sum() + 2)), "allowed": allowed.astype(np.float32)}


@dataclass(frozen=True)
class Decoded:
    """A chord path: absolute states per segment, the key it was read in, and its log score."""

    states: tuple[int, ...]
    tonic: int
    minor: bool
    score: float


class ChordHmm:
    """Decoding with the fitted tables."""

    def __init__(self, tables: dict[str, np.ndarray], melody_weight: float, end_weight: float) -> None:
        self.t = {k: np.asarray(v, np.float64) for k, v in tables.items()}
        self.melody_weight, self.end_weight = melody_weight, end_weight

    def _emissions(self, seg: Segments, tonic: int, m: int) -> np.ndarray:
        w = np.roll(seg.weights, -tonic, axis=1)
        return self.melody_weight * (w @ self.t["log_emission"][m].T)  # [T, S]

    def viterbi(self, seg: Segments, tonic: int, minor: bool) -> Decoded:
        m = int(minor)
        em = self._emissions(seg, tonic, m)
        trans = self.t["log_transition"][m]
        delta = self.t["log_initial"][m] + em[0]
        back = np.zeros((len(em), S), np.int64)
        for t in range(1, len(em)):
            scores = delta[:, None] + trans[int(seg.bar_start[t])]
            back[t] = scores.argmax(axis=0)
            delta = scores.max(axis=0) + em[t]
        delta = delta + self.end_weight * self.t["log_final"][m]
        path = [int(delta.argmax())]
        for t in range(len(em) - 1, 0, -1):
            path.append(int(back[t, path[-1]]))
        states = tuple(transpose_state(s, tonic) for s in reversed(path))
        return Decoded(states, tonic, minor, float(delta.max() + self.t["log_mode"][m]))

    def best(self, seg: Segments) -> Decoded:
        """The most likely chord path over every key."""
        return max((self.viterbi(seg, tonic, minor) for minor in (False, True) for tonic in range(12)),
                   key=lambda d: d.score)

    def sample(self, seg: Segments, tonic: int, minor: bool, temperature: float, rng: np.random.Generator
               ) -> tuple[int, ...]:
        """A chord path drawn from the posterior in the given key, its log scores divided by `temperature`."""
        m = int(minor)
        em = self._emissions(seg, tonic, m) / temperature
        trans = self.t["log_transition"][m] / temperature
        alpha = np.zeros((len(em), S))
        alpha[0] = self.t["log_initial"][m] / temperature + em[0]
        for t in range(1, len(em)):
            alpha[t] = _logsumexp(alpha[t - 1][:, None] + trans[int(seg.bar_start[t])], axis=0) + em[t]
        last = alpha[-1] + self.end_weight * self.t["log_final"][m] / temperature
        path = [_draw(last, rng)]
        for t in range(len(em) - 1, 0, -1):
            path.append(_draw(alpha[t - 1] + trans[int(seg.bar_start[t])][:, path[-1]], rng))
        return tuple(transpose_state(s, tonic) for s in reversed(path))


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.exp(x - top).sum(axis=axis))


def _draw(logp: np.ndarray, rng: np.random.Generator) -> int:
    p = np.exp(logp - logp.max())
    return int(rng.choice(len(p), p=p / p.sum()))
