"""Texture measures on note lists (pure numpy): notes at once, note lengths, key, dissonance, parallels, harmony fit.

Every measure takes `generation.music.notes.Note`s on a step grid (start inclusive, end exclusive) and is applied
in the same way to our models' outputs and to human music (generation/quality/report.py). Definitions:

- simultaneous notes: the number of notes sounding at each step of the grid, averaged over the steps where at
  least one note sounds (silence does not pull the figure down).
- longest note / share of long notes: note durations in seconds (steps x step length); the share counts notes
  lasting more than 5 s.
- key and key clarity (Krumhansl-Schmuckler): the pitch-class histogram weighted by duration is correlated
  (Pearson) with the 24 rotations of the Krumhansl-Kessler major and minor profiles; the best-correlating
  rotation is the key and its correlation the clarity (1 = a textbook key; 0 when every pitch class weighs the
  same, where no key can be told).
- onset chords: at every step where some note begins, the pitches sounding then (sorted, low to high).
- dissonant pairs: over all onset chords, the share of pairs of sounding notes whose interval mod 12 is 1, 2,
  6 or 11 semitones (minor 2nd, major 2nd, tritone, major 7th, compound ones included).
- parallel 5ths/octaves per 100 chord changes: consecutive distinct onset chords are a chord change. Voices are
  the chord's notes by rank from the bottom; when both chords have the same number of notes every pair of
  voices is checked, otherwise only the outer pair (lowest and highest). A parallel is a pair whose two voices
  both move in the same direction (neither stays) and whose interval is a perfect 5th (7 mod 12) or an
  octave/unison (0 mod 12) before and after, compound intervals included.
- same key in two halves: the key estimated on each half separately (notes cut at the boundary) is the same
  tonic and mode.
- notes per bar (melodies): note onsets divided by bars.
- harmony in the tune's key: the share of segments (e.g. 4 bars) whose harmony notes have the tune's key (the
  caller estimates it; report.py uses the whole lead sheet, see there).
- harmony chord tones: the share of harmony notes (by onset) whose pitch class is a chord tone (root, 3rd, 5th,
  7th; `Chord.chord_tones`) or the slash bass of the chord symbol sounding at its onset; steps without a chord
  are not counted.
- bass on root / on a chord tone: at strong beats (steps given by the caller, beats 1 and 3 of 4/4), the
  lowest sounding harmony note is the chord's root (its slash bass for a slash chord) / a chord tone.
- sustain pedal (human performances): while CC64 is >= 64 a note released keeps sounding until the pedal
  goes up, or until the same key is struck again, whichever is first (as note-seq's sustain handling).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from generation.music.chords import Chord
from generation.music.notes import Note

KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
DISSONANT = frozenset({1, 2, 6, 11})  # m2, M2, tritone, M7 (mod 12)
PERFECT = frozenset({0, 7})  # octave/unison, 5th (mod 12)
LONG_NOTE_S = 5.0
PEDAL_DOWN = 64
_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class Key:
    """A key estimate: tonic pitch class, mode, and how well the notes fit it (Pearson r, -1 to 1)."""

    tonic: int
    minor: bool
    clarity: float

    def __str__(self) -> str:
        return f"{_NAMES[self.tonic]} {'minor' if self.minor else 'major'}"

    def same_key(self, other: Key) -> bool:
        return self.tonic == other.tonic and self.minor == other.minor


def sounding_counts(notes: Sequence[Note]) -> np.ndarray:
    """Notes sounding at each step from 0 to the last note's end."""
    if not notes:
        return np.zeros(0, np.int64)
    length = max(n.end for n in notes)
    delta = np.zeros(length + 1, np.int64)
    np.add.at(delta, [max(n.start, 0) for n in notes], 1)
    np.add.at(delta, [n.end for n in notes], -1)
    return np.cumsum(delta)[:length]


def simultaneous_notes(notes: Sequence[Note]) -> float:
    """Mean notes sounding per step, over steps where anything sounds (nan without notes)."""
    counts = sounding_counts(notes)
    sounding = counts[counts > 0]
    return float(sounding.mean()) if len(sounding) else float("nan")


def note_lengths(notes: Sequence[Note], step_seconds: float, threshold_s: float = LONG_NOTE_S
                 ) -> tuple[float, float]:
    """(longest note in seconds, share of notes longer than `threshold_s`)."""
    if not notes:
        return float("nan"), float("nan")
    seconds = np.array([n.end - n.start for n in notes], float) * step_seconds
    return float(seconds.max()), float((seconds > threshold_s).mean())


def pitch_class_histogram(notes: Sequence[Note]) -> np.ndarray:
    """Total duration (steps) of each pitch class, C to B."""
    hist = np.zeros(12)
    for n in notes:
        hist[n.pitch % 12] += n.end - n.start
    return hist


def estimate_key(notes: Sequence[Note]) -> Key:
    """The Krumhansl-Schmuckler key of the notes (clarity 0 when the histogram is flat or empty)."""
    hist = pitch_class_histogram(notes)
    if np.ptp(hist) == 0:
        return Key(0, False, 0.0)
    best = Key(0, False, -2.0)
    for minor, profile in ((False, KK_MAJOR), (True, KK_MINOR)):
        for tonic in range(12):
            r = float(np.corrcoef(hist, np.roll(profile, tonic))[0, 1])
            if r > best.clarity:
                best = Key(tonic, minor, r)
    return best


def window(notes: Sequence[Note], start: int, end: int) -> list[Note]:
    """The notes sounding in [start, end), cut at its edges, moved so that `start` is step 0."""
    return [Note(max(n.start, start) - start, min(n.end, end) - start, n.pitch, n.velocity)
            for n in notes if n.end > start and n.start < end]


def onset_chords(notes: Sequence[Note]) -> list[tuple[int, ...]]:
    """The sorted distinct pitches sounding at each step where a note begins, in time order."""
    if not notes:
        return []
    starts = np.array([n.start for n in notes])
    ends = np.array([n.end for n in notes])
    pitches = np.array([n.pitch for n in notes])
    return [tuple(sorted(set(pitches[(starts <= s) & (ends > s)].tolist()))) for s in np.unique(starts)]


def dissonant_pairs(notes: Sequence[Note]) -> tuple[int, int]:
    """(dissonant pairs, all pairs) of sounding notes, summed over onset chords."""
    bad = total = 0
    for chord in onset_chords(notes):
        for low, high in combinations(chord, 2):
            total += 1
            bad += (high - low) % 12 in DISSONANT
    return bad, total


def parallel_perfects(notes: Sequence[Note]) -> tuple[int, int]:
    """(parallel 5ths/octaves, chord changes) between consecutive distinct onset chords."""
    chords = [c for c in onset_chords(notes) if c]
    parallels = changes = 0
    for before, after in zip(chords, chords[1:], strict=False):
        if before == after:
            continue
        changes += 1
        if len(before) < 2 or len(after) < 2:
            continue
        if len(before) == len(after):
            pairs = list(combinations(range(len(before)), 2))
            parallels += sum(_parallel(before[i], before[j], after[i], after[j]) for i, j in pairs)
        else:
            parallels += _parallel(before[0], before[-1], after[0], after[-1])
    return parallels, changes


def _parallel(low0: int, high0: int, low1: int, high1: int) -> bool:
    """Both voices move the same way (neither stays) and keep a perfect 5th or octave (mod 12)."""
    moves = (low1 - low0, high1 - high0)
    same_way = moves[0] * moves[1] > 0
    interval = (high0 - low0) % 12
    return same_way and interval in PERFECT and (high1 - low1) % 12 == interval


def same_key_halves(notes: Sequence[Note], half_steps: int) -> bool:
    """Whether steps [0, half) and [half, 2 half) have the same estimated key."""
    return estimate_key(window(notes, 0, half_steps)).same_key(estimate_key(window(notes, half_steps, 2 * half_steps)))


def notes_per_bar(notes: Sequence[Note], bars: float) -> float:
    """Note onsets per bar."""
    return len(notes) / bars


def harmony_in_key(key: Key, harmony: Sequence[Note], segment_steps: int, total_steps: int) -> float:
    """Share of segments (with harmony notes) whose harmony has the given key (nan if none)."""
    hits = []
    for start in range(0, total_steps, segment_steps):
        part = window(harmony, start, min(start + segment_steps, total_steps))
        if part:
            hits.append(estimate_key(part).same_key(key))
    return float(np.mean(hits)) if hits else float("nan")


def _belongs(chord: Chord) -> frozenset[int]:
    """What counts as a note of the chord symbol: its chord tones and its slash bass."""
    tones = chord.chord_tones()
    return tones | {chord.bass} if chord.bass is not None else tones


def chord_tone_notes(harmony: Sequence[Note], chords: Sequence[Chord]) -> tuple[int, int]:
    """(harmony notes belonging to the chord at their onset, harmony notes with a chord at their onset)."""
    hits = total = 0
    for n in harmony:
        if 0 <= n.start < len(chords) and not chords[n.start].is_no_chord:
            total += 1
            hits += n.pitch % 12 in _belongs(chords[n.start])
    return hits, total


def bass_on_chord(harmony: Sequence[Note], chords: Sequence[Chord], strong_steps: Sequence[int]
                  ) -> tuple[int, int, int]:
    """(strong beats with the lowest harmony note on the root, ... on a chord tone, strong beats counted).

    A beat counts when a chord is given there and some harmony note sounds.
    """
    on_root = on_tone = total = 0
    for step in strong_steps:
        if not 0 <= step < len(chords) or chords[step].is_no_chord:
            continue
        sounding = [n.pitch for n in harmony if n.start <= step < n.end]
        if not sounding:
            continue
        chord, bass = chords[step], min(sounding) % 12
        total += 1
        on_root += bass == (chord.bass if chord.bass is not None else chord.root)
        on_tone += bass in _belongs(chord)
    return on_root, on_tone, total


def apply_sustain(notes: Sequence[Note], pedal: Sequence[tuple[int, int]]) -> list[Note]:
    """Notes held on by the sustain pedal: `pedal` is (step, CC64 value) in time order.

    A note released while the pedal is down (value >= 64) sounds until the pedal goes up, or until its key is
    struck again, whichever comes first; it never gets shorter.
    """
    downs: list[tuple[int, int]] = []  # [down, up) intervals
    down_at: int | None = None
    for step, value in pedal:
        if value >= PEDAL_DOWN and down_at is None:
            down_at = step
        elif value < PEDAL_DOWN and down_at is not None:
            downs.append((down_at, step))
            down_at = None
    if down_at is not None:
        downs.append((down_at, max([n.end for n in notes] + [down_at])))
    onsets: dict[int, list[int]] = {}
    for n in notes:
        onsets.setdefault(n.pitch, []).append(n.start)
    out = []
    for n in notes:
        end = n.end
        for d, u in downs:
            if d <= n.end < u:
                end = u
                break
        restruck = [s for s in onsets[n.pitch] if n.start < s < end]
        end = max(n.end, min(restruck, default=end))
        out.append(Note(n.start, end, n.pitch, n.velocity))
    return sorted(out)
