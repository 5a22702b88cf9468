"""Chord-tone ratio: which strong-beat notes count, and which of them land on chord tones."""

from __future__ import annotations

import math

from generation.music.chords import Chord, parse_chord
from generation.quality.chord_tones import Tally, chord_tone_tally

HOLD, OFF = -2, -1


def _steps(*spans: tuple[str, int]) -> list[Chord]:
    """("C", 16), ("G7", 16) -> a chord per 16th-note step."""
    return [parse_chord(figure) for figure, n in spans for _ in range(n)]


def _melody(length: int, onsets: dict[int, int]) -> list[int]:
    """A melody of `length` steps that holds between the given onsets."""
    return [onsets.get(step, HOLD) for step in range(length)]


def test_hand_made_melody() -> None:
    """Two 4/4 bars over C then G7: beats 1 and 3 are scored, other onsets and held steps are not.

    Bar 1 (C):  beat 1 E (chord tone), an F on beat 2 (weak, ignored), beat 3 D (tension: miss).
    Bar 2 (G7): beat 1 F (the seventh: hit), beat 3 is still holding that F (no onset: ignored).
    """
    melody = _melody(32, {0: 64, 4: 65, 8: 62, 16: 65})
    tally = chord_tone_tally(melody, _steps(("C", 16), ("G7", 16)), bar_starts=[0, 16])
    assert tally == Tally(hits=2, notes=3)
    assert tally.ratio == 2 / 3


def test_octave_does_not_matter() -> None:
    """A chord tone in any octave counts: C2, E4 and G6 over C are all hits."""
    melody = _melody(48, {0: 36, 8: 64, 16: 91, 24: 62})
    tally = chord_tone_tally(melody, _steps(("C", 48)), bar_starts=[0, 16, 32])
    assert tally == Tally(hits=3, notes=4)


def test_pickup_bar_lines_are_respected() -> None:
    """With a one-beat pickup, the strong beats are counted from each bar line, not from step 0.

    Bars start at 0 (a 4-step pickup), 4 and 20. Strong beats: 0; 4 and 12; 20 and 28. An onset at step 8
    or 16 is beat 2 or 4 of bar 1, so it does not count, even though 8 and 16 are multiples of 8.
    """
    chords = _steps(("Am", 20), ("E7", 16))
    onsets = {
        0: 64,  # pickup downbeat, E over Am: hit
        4: 69,  # bar 1 beat 1, A over Am: hit
        8: 62,  # bar 1 beat 2 (weak): ignored, though it is no chord tone
        12: 65,  # bar 1 beat 3, F over Am: miss
        16: 71,  # bar 1 beat 4 (weak): ignored
        20: 68,  # bar 2 beat 1, G# over E7: hit
        28: 74,  # bar 2 beat 3, D over E7 (its seventh): hit
    }
    tally = chord_tone_tally(_melody(36, onsets), chords, bar_starts=[0, 4, 20])
    assert tally == Tally(hits=4, notes=5)


def test_short_bars_in_three_four() -> None:
    """In 3/4 (12-step bars) beats 1 and 3 are offsets 0 and 8 of each 12-step bar."""
    onsets = {0: 60, 4: 61, 8: 67, 12: 61, 20: 64}  # 0, 8, 12, 20 are strong; 12 is C# over C: miss
    tally = chord_tone_tally(_melody(24, onsets), _steps(("C", 24)), bar_starts=[0, 12])
    assert tally == Tally(hits=3, notes=4)


def test_skip_steps_leaves_out_the_primer() -> None:
    """Notes inside the primer are not the model's choice and are not counted."""
    melody = _melody(32, {0: 61, 8: 61, 16: 60, 24: 63})  # two misses in the primer, then a hit and a miss
    chords = _steps(("C", 32))
    assert chord_tone_tally(melody, chords, [0, 16]) == Tally(hits=1, notes=4)
    assert chord_tone_tally(melody, chords, [0, 16], skip_steps=9) == Tally(hits=1, notes=2)
    assert chord_tone_tally(melody, chords, [0, 16], skip_steps=8) == Tally(hits=1, notes=3)


def test_no_chord_steps_are_not_counted() -> None:
    """Over N.C. there is no chord to hit, so those notes are neither hits nor misses."""
    melody = _melody(32, {0: 61, 8: 62, 16: 67, 24: 66})
    chords = _steps(("N.C.", 16), ("G", 16))
    assert chord_tone_tally(melody, chords, [0, 16]) == Tally(hits=1, notes=2)


def test_rests_are_not_notes() -> None:
    """A note-off or a held rest on a strong beat is not a note."""
    melody = [OFF] + [HOLD] * 7 + [OFF] + [HOLD] * 7
    assert chord_tone_tally(melody, _steps(("C", 16)), [0]) == Tally(hits=0, notes=0)


def test_ratio_and_sum() -> None:
    """Tallies add across pieces; with no notes the ratio is undefined (nan), not zero."""
    assert Tally(2, 3) + Tally(1, 1) == Tally(3, 4)
    assert Tally(3, 4).ratio == 0.75
    assert math.isnan(Tally().ratio)
