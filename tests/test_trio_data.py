"""Trio training windows as a trio model sees them: real POP909 songs give 256-step melody, bass and drum rows,
the bass under the melody, the melody the melody family's own reading of the song, drums from Groove's split
matching the song's side of the split, songs outside 4/4 left out and counted, the same build every time."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import training_data

from generation.families.melody.dataset import held_out, pop909_song
from generation.families.music_vae.trio_data import (
    BASS_CEILING,
    WINDOW_STEPS,
    TrioSet,
    classes,
    drum_loops,
    sounding,
    trio_set,
)

TRAIN_SONGS = ("002", "003", "010")
HELD_OUT_SONGS = ("007", "040")  # held out by the melody family's hash
NOT_FOUR_FOUR = ("062", "014")  # index.csv: 3 beats per measure; 3 quavers per beat (compound)
SONGS = TRAIN_SONGS + HELD_OUT_SONGS + NOT_FOUR_FOUR


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trainers' small datasets folder (a few Groove beat takes of each split) with our POP909 songs and
    POP909's index.csv."""
    root = training_data.build(tmp_path_factory.mktemp("datasets"))
    pop909 = root / "pop909" / "POP909"
    for song in SONGS:
        if not (pop909 / song).exists():
            shutil.copytree(training_data.SHARED / "pop909" / "POP909" / song, pop909 / song)
    shutil.copy(training_data.SHARED / "pop909" / "POP909" / "index.csv", pop909 / "index.csv")
    return root


@pytest.fixture(scope="module")
def trios(datasets: Path) -> TrioSet:
    return trio_set(datasets, songs=SONGS)


def test_windows_of_real_songs_are_256_steps_of_each_part_with_the_bass_under_the_melody(trios: TrioSet) -> None:
    assert [held_out(f"pop909/{s}") for s in HELD_OUT_SONGS] == [True, True]
    assert not any(held_out(f"pop909/{s}") for s in TRAIN_SONGS)
    n, m = len(trios.train_melody), len(trios.valid_melody)
    assert n > 100 and m >= 4, (n, m)  # three songs from every bar line; two songs in non-overlapping windows
    for rows, count in ((trios.train_melody, n), (trios.train_bass, n), (trios.train_drums, n),
                        (trios.valid_melody, m), (trios.valid_bass, m), (trios.valid_drums, m)):
        assert rows.shape == (count, WINDOW_STEPS) and rows.dtype == np.int16
    for melody, bass in ((trios.train_melody, trios.train_bass), (trios.valid_melody, trios.valid_bass)):
        assert melody.min() >= 0 and melody.max() < 90 and bass.min() >= 0
        assert bass.max() < BASS_CEILING - 21 + 2  # every bass note below G3
        below = []
        for mel_row, bass_row in zip(melody, bass, strict=True):
            top, low = sounding(_events(mel_row)), sounding(_events(bass_row))
            both = (top >= 0) & (low >= 0)
            assert both.sum() >= 16  # melody and bass sound together for a bar or more of each window
            below.append(float(np.mean(low[both] < top[both])))
        assert np.mean(below) > 0.97 and min(below) > 0.8
    assert trios.train_drums.max() < 512 and all((row > 0).sum() > 32 for row in trios.train_drums)
    assert trios.info["bass_below_melody"] > 0.97
    assert trios.info["songs_used"] == len(TRAIN_SONGS + HELD_OUT_SONGS)
    assert trios.info["train_windows"] == n and trios.info["validation_windows"] == m


def test_the_melody_is_the_melody_familys_reading_of_the_song(trios: TrioSet, datasets: Path) -> None:
    read: dict[str, list[int]] = {}
    for (piece, start, _), row in zip(trios.train_sources + trios.valid_sources,
                                      np.concatenate([trios.train_melody, trios.valid_melody]), strict=True):
        if piece not in read:
            read[piece], _ = pop909_song(datasets / "pop909" / "POP909" / piece.split("/")[1])
        events, ours = read[piece], _events(row)
        # pop909_song starts at the bar before the first melody note, ours before the first piano or melody
        # note: the same grid, shifted by whole bars.
        assert any(len(events) - (start - k) >= WINDOW_STEPS // 2 and
                   tuple(events[start - k:start - k + WINDOW_STEPS]) == ours[:len(events[start - k:])]
                   for k in range(0, start + 1, 16)), (piece, start)
    assert len(read) == len(TRAIN_SONGS + HELD_OUT_SONGS)


def test_drums_come_from_the_groove_split_of_the_songs_side(trios: TrioSet, datasets: Path) -> None:
    with (datasets / "groove" / "info.csv").open(newline="") as f:
        split = {row["id"]: row["split"] for row in csv.DictReader(f)}
    from collections import Counter

    from generation.families.drums.groove import read_takes

    loops = {loop.take.id: loop.events for loop in drum_loops(read_takes(datasets / "groove"), Counter())}
    for sources, drums, side in ((trios.train_sources, trios.train_drums, "train"),
                                 (trios.valid_sources, trios.valid_drums, "validation")):
        assert {split[take] for _, _, take in sources} == {side}
        for (_, _, take), row in zip(sources, drums, strict=True):
            loop = loops[take]  # the row is 16 bars of the take, from one of its bar lines, looped
            assert any(np.array_equal(row, np.take(loop, np.arange(b, b + WINDOW_STEPS), mode="wrap"))
                       for b in range(0, len(loop), 16))
    assert len({take for _, _, take in trios.train_sources}) >= 2


def test_songs_outside_4_4_are_left_out_and_counted_and_the_build_repeats(trios: TrioSet, datasets: Path) -> None:
    assert not any(piece.split("/")[1] in NOT_FOUR_FOUR for piece, _, _ in trios.train_sources + trios.valid_sources)
    assert trios.info["songs"] == len(SONGS)
    assert trios.info["songs not in 4/4 by index.csv (dropped)"] == len(NOT_FOUR_FOUR)
    again = trio_set(datasets, songs=("003",))
    mine = [i for i, (piece, _, _) in enumerate(trios.train_sources) if piece == "pop909/003"]
    assert again.train_sources == [trios.train_sources[i] for i in mine]
    assert np.array_equal(again.train_drums, trios.train_drums[mine])
    assert np.array_equal(again.train_bass, trios.train_bass[mine])


def test_a_batch_moves_melody_and_bass_by_one_shift_and_leaves_the_drums(trios: TrioSet) -> None:
    one = TrioSet(trios.train_melody[:1], trios.train_bass[:1], trios.train_drums[:1], trios.valid_melody[:1],
                  trios.valid_bass[:1], trios.valid_drums[:1])
    melody, bass, drums = one.batch(np.random.default_rng(3), 64)
    assert melody.shape == bass.shape == drums.shape == (64, WINDOW_STEPS)
    notes_m, notes_b = one.train_melody[0] >= 2, one.train_bass[0] >= 2
    shift_m = melody[:, notes_m] - one.train_melody[0][notes_m]
    shift_b = bass[:, notes_b] - one.train_bass[0][notes_b]
    assert (shift_m == shift_m[:, :1]).all() and (shift_b == shift_m[:, :1]).all()
    assert set(shift_m[:, 0]) <= set(range(-5, 7)) and len(set(shift_m[:, 0])) > 3
    assert (melody[:, ~notes_m] == one.train_melody[0][~notes_m]).all()
    assert (drums == one.train_drums[0]).all()
    assert np.array_equal(classes([-2, -1, 21, 108]), [0, 1, 2, 89])


def _events(row: np.ndarray) -> tuple[int, ...]:
    """Melody classes back to events."""
    return tuple(int(c) + 19 if c >= 2 else int(c) - 2 for c in row)
