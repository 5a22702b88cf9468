"""Piano-roll training data: JSB chorales (the BL-2012 split) and POP909 songs, as [steps, 88] 0/1 arrays."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from generation.families.pianoroll.config import MAX_PITCH, MIN_PITCH, NUM_KEYS
from generation.music.notes import Note

log = logging.getLogger(__name__)
Roll = np.ndarray  # [steps, 88] uint8, key 0 = MIDI 21


def frames_to_roll(frames: Sequence[Iterable[int]]) -> Roll:
    """Pitch sets per step -> a [steps, 88] 0/1 array.

    Raises:
        ValueError: a pitch outside 21-108.
    """
    roll = np.zeros((len(frames), NUM_KEYS), np.uint8)
    for t, frame in enumerate(frames):
        for p in frame:
            if not MIN_PITCH <= p <= MAX_PITCH:
                raise ValueError(f"pitch {p} is outside the piano's 88 keys ({MIN_PITCH}-{MAX_PITCH})")
            roll[t, p - MIN_PITCH] = 1
    return roll


def roll_to_frames(roll: np.ndarray) -> list[frozenset[int]]:
    return [frozenset(int(k) + MIN_PITCH for k in np.flatnonzero(row)) for row in roll]


def load_jsb(path: Path, split: str) -> list[Roll]:
    """One split ("train", "valid", "test") of jsb-chorales-*.json: a list of pitch lists per step per piece."""
    pieces = json.loads(path.read_text())[split]
    return [frames_to_roll([[int(p) for p in step] for step in piece]) for piece in pieces]


def is_pop909_validation(song: str) -> bool:
    """Every 20th song (001, 021, ...) is held out."""
    return int(song) % 20 == 1


def load_pop909(folder: Path, steps_per_quarter: int = 4, cache: Path | None = None) -> dict[str, Roll]:
    """Each POP909 song's MELODY, BRIDGE and PIANO tracks merged into one roll, keyed by song number.

    Reading 909 MIDI files takes a minute, so the rolls are cached (an npz) when `cache` is given.
    """
    if cache is not None and cache.is_file():
        with np.load(cache) as npz:
            return {k: npz[k] for k in npz.files}
    from generation.music.notes import pianoroll_of, read_midi_notes  # pretty_midi only when reading

    rolls: dict[str, Roll] = {}
    for song in sorted(p for p in (folder / "POP909").iterdir() if p.is_dir()):
        notes, _ = read_midi_notes(song / f"{song.name}.mid", steps_per_quarter, max_steps=10**6)
        notes = [n for n in notes if MIN_PITCH <= n.pitch <= MAX_PITCH]
        if notes:
            rolls[song.name] = frames_to_roll(pianoroll_of(notes, max(n.end for n in notes)))
    if cache is not None:
        arrays: dict[str, Any] = dict(rolls)
        np.savez_compressed(cache, **arrays)
    log.info("read %d POP909 songs", len(rolls))
    return rolls


def shifts_in_range(roll: Roll, max_shift: int) -> list[int]:
    """Transpositions within +-max_shift semitones that keep every note on the 88 keys."""
    keys = np.flatnonzero(roll.any(axis=0))
    if not len(keys):
        return [0]
    return [s for s in range(-max_shift, max_shift + 1) if keys[0] + s >= 0 and keys[-1] + s < NUM_KEYS]


def batch(rolls: Sequence[Roll], picks: Sequence[tuple[int, int, int]], window: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """Frames [B, W, 88] float32 and a mask [B, W] for picks of (piece index, start step, transposition)."""
    length = min(window, max(len(rolls[i]) - s for i, s, _ in picks))
    frames = np.zeros((len(picks), length, NUM_KEYS), np.float32)
    mask = np.zeros((len(picks), length), np.float32)
    for b, (i, start, shift) in enumerate(picks):
        part = rolls[i][start : start + length]
        frames[b, : len(part)] = np.roll(part, shift, axis=1) if shift else part
        mask[b, : len(part)] = 1.0
    return frames, mask


def eval_picks(rolls: Sequence[Roll], window: int, max_chunks: int = 10**9) -> list[tuple[int, int, int]]:
    """Consecutive chunks of each piece (each scored from the zero state), at most max_chunks per piece."""
    return [(i, s, 0) for i, r in enumerate(rolls) for s in range(0, len(r), window)[:max_chunks]]


def frames_to_notes(frames: Sequence[Iterable[int]], velocity: int = 100) -> list[Note]:
    """Consecutive frames holding a pitch make one note (a frame does not say when a key was struck again)."""
    notes: list[Note] = []
    started: dict[int, int] = {}
    for t, frame in enumerate([*frames, ()]):
        now = set(frame)
        for pitch in [p for p in started if p not in now]:
            notes.append(Note(started.pop(pitch), t, pitch, velocity))
        for pitch in now - started.keys():
            started[pitch] = t
    return sorted(notes)
