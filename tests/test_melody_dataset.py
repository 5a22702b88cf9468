"""Melody RNN training data: melodies cut as Magenta cuts them, from real POP909 and lead-sheet files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from generation.families.melody.config import CONFIGS
from generation.families.melody.dataset import (
    MAX_STEPS,
    Melody,
    cut_melodies,
    for_config,
    four_four_runs,
    held_out,
    notes_to_events,
    pop909_song,
)
from generation.families.melody.encoding import major_key

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def test_pop909_melody_lands_on_its_annotated_beats() -> None:
    """Song 001 (90 qpm, recorded tempo): 4/4 bars from step 0, the pickup 61 63 66 68 on the 16ths before the
    downbeat of bar 6, and 70 on that downbeat."""
    events, bars = pop909_song(DATASETS / "pop909" / "POP909" / "001")
    assert bars[:8] == list(range(0, 128, 16))
    onsets = [(i, e) for i, e in enumerate(events) if e >= 0]
    assert onsets[:5] == [(76, 61), (77, 63), (78, 66), (79, 68), (80, 70)]
    assert len(events) > 60 * 16  # the whole song, not just its start


def test_melodies_are_cut_at_long_rests_and_kept_only_in_4_4() -> None:
    """8 bars of tune, a 2-bar rest, 3 bars of tune, then 6/8 bars: one 8-bar melody; the 3-bar phrase is too short
    (Magenta's 7-bar minimum) and 6/8 bars are not read."""
    tune = [60, -2, 62, -2, 64, -2, 65, -2, 67, -2, 69, -2, 71, -2, 72, -1] * 8
    events = tune + [-2] * 32 + tune[:48] + [60, -2, -2] * 16
    bars = [*range(0, 16 * 13, 16), *range(16 * 13, 16 * 13 + 48, 12)]
    stats: Counter[str] = Counter()
    melodies = cut_melodies(events, bars, "t", "nottingham", stats)
    assert [m.events for m in melodies] == [tuple(tune)]
    assert stats["nottingham: melodies (or 512-step tails) dropped: shorter than 7 bars"] == 1
    assert four_four_runs(bars, len(events)) == [(0, 16 * 13)]


def test_long_melodies_are_kept_in_512_step_pieces() -> None:
    tune = [60, -2, 62, -2, 64, -2, 65, -2, 67, -2, 69, -2, 71, -2, 72, -1] * 48  # 48 bars
    melodies = cut_melodies(tune, range(0, len(tune), 16), "t", "pop909", Counter())
    assert [len(m.events) for m in melodies] == [MAX_STEPS, len(tune) - MAX_STEPS]


def test_overlapping_notes_become_one_line() -> None:
    """The highest note of a shared onset wins, a note is cut by the next onset, a gap becomes a note off."""
    assert notes_to_events([(0, 4, 60), (0, 2, 64), (2, 6, 62), (8, 9, 65)]) == [64, -2, 62, -2, -2, -2, -1, -2, 65]


def test_key_configs_train_in_c_and_mono_in_12_keys() -> None:
    """basic/lookback/attention see each melody in C major within 48-83, as Magenta's pipeline makes it;
    mono_rnn sees 12 transpositions of it, untouched otherwise."""
    d_major = tuple([62, -2, 66, -2, 69, -2, 73, -2, 74, -2, 71, -2, 69, -2, 66, -1] * 8)
    melody = Melody("p", "openewld", d_major)
    (moved,) = for_config([melody], CONFIGS["lookback_rnn"], Counter())
    assert major_key(moved.tolist()) == 0 and moved[moved >= 0].min() >= 48 and moved.max() < 84
    mono = for_config([melody], CONFIGS["mono_rnn"], Counter())
    assert len(mono) == 12
    assert sorted(int(m[0]) - 62 for m in mono) == list(range(-5, 7))
    for m in mono:
        assert np.array_equal(np.where(m >= 0, m - (m[0] - 62), m), d_major)


def test_the_split_is_stable_and_about_a_tenth() -> None:
    names = [f"pop909/{i:03d}" for i in range(1, 910)]
    share = sum(held_out(n) for n in names) / len(names)
    assert 0.05 < share < 0.15
    assert [held_out(n) for n in names] == [held_out(n) for n in names]
