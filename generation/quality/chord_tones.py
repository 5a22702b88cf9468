"""Chord-tone ratio: the share of melody notes on beats 1 and 3 whose pitch class is a chord tone.

Chord tones are root, third, fifth and seventh (see `Chord.chord_tones`). Beats are quarter notes counted
from each bar line (a pickup is aligned to its bar's end by the loaders), so beats 1 and 3 are 16th-note
offsets 0 and 8 into a bar. Steps with no chord are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from generation.music.chords import Chord

STRONG_OFFSETS = (0, 8)


@dataclass(frozen=True)
class Tally:
    hits: int = 0
    notes: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.hits + other.hits, self.notes + other.notes)

    @property
    def ratio(self) -> float:
        return self.hits / self.notes if self.notes else float("nan")


def chord_tone_tally(
    melody: Sequence[int], chords: Sequence[Chord], bar_starts: Sequence[int], skip_steps: int = 0
) -> Tally:
    """Count strong-beat onsets and how many are chord tones.

    Args:
        melody: events per step (onsets are >= 0).
        chords: chord per step.
        bar_starts: steps where bars begin.
        skip_steps: leave out the first steps (a primer the model did not choose).
    """
    hits = notes = 0
    bars = [*bar_starts, len(melody)]
    for b in range(len(bars) - 1):
        for offset in STRONG_OFFSETS:
            step = bars[b] + offset
            if step >= bars[b + 1] or step < skip_steps or melody[step] < 0 or chords[step].is_no_chord:
                continue
            notes += 1
            hits += melody[step] % 12 in chords[step].chord_tones()
    return Tally(hits, notes)
