"""ASAP performances -> event classes (sustain pedal applied, 10 ms steps), split by piece, batched windows."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.families.performance.config import STEPS_PER_SECOND, PerformanceConfig
from generation.families.performance.encoding import (
    NOTE_OFF0,
    SHIFT0,
    VELOCITY0,
    event_controls,
    event_input_table,
    notes_to_classes,
)
from generation.music.notes import Note

log = logging.getLogger(__name__)
CONTROL_LOOKAHEAD = 700  # events after a window that its 5 s control windows may need


def piece_of(path: Path, root: Path) -> str:
    """ASAP lays out <Composer>/<Work>/[<piece>/]<Performer>.mid: the piece is the folder."""
    return str(path.relative_to(root).parent)


def is_validation(piece: str) -> bool:
    """About 10% of pieces, by a stable hash of the piece (all performances of a piece on one side)."""
    return hashlib.sha1(piece.encode()).digest()[0] % 10 == 0


def read_performance(path: Path) -> list[Note]:
    """A MIDI performance's notes on the 10 ms grid, held on by the sustain pedal (CC64) as Magenta does."""
    import note_seq

    ns = note_seq.apply_sustain_control_changes(note_seq.midi_file_to_note_sequence(str(path)))
    notes = []
    for n in ns.notes:
        if n.is_drum:
            continue
        start = round(n.start_time * STEPS_PER_SECOND)
        notes.append(Note(start, max(start + 1, round(n.end_time * STEPS_PER_SECOND)), n.pitch,
                          max(1, min(127, n.velocity))))
    return sorted(notes)


def load_asap(root: Path, per_piece: int, cache: Path | None = None) -> dict[str, list[np.ndarray]]:
    """Event classes (with 32 velocity bins) of up to `per_piece` performances of every piece, by piece.

    The result is cached (npz) since reading MIDI with the pedal applied takes minutes on this CPU.
    """
    if cache is not None and cache.is_file():
        with np.load(cache) as npz:
            out: dict[str, list[np.ndarray]] = {}
            for key in npz.files:
                out.setdefault(key.rsplit("|", 1)[0], []).append(npz[key])
            return out
    by_piece: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*.mid")):
        by_piece.setdefault(piece_of(path, root), []).append(path)
    out = {}
    for i, (piece, paths) in enumerate(sorted(by_piece.items())):
        out[piece] = [notes_to_classes(read_performance(p), 32).astype(np.int16) for p in paths[:per_piece]]
        if i % 20 == 0:
            log.info("read %d/%d pieces", i + 1, len(by_piece))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {f"{piece}|{k}": a for piece, arrs in out.items() for k, a in enumerate(arrs)}
        np.savez_compressed(cache, **arrays)
    return out


def drop_velocity(classes: np.ndarray) -> np.ndarray:
    """The same performance without velocity events (the `performance` config)."""
    return classes[classes < VELOCITY0]


@dataclass
class Corpus:
    """Performances (event classes) for one config, cut into teacher-forced windows on demand."""

    config: PerformanceConfig
    sequences: list[np.ndarray]

    def __post_init__(self) -> None:
        self.table = event_input_table(self.config)

    @property
    def num_events(self) -> int:
        return sum(len(s) for s in self.sequences)

    def random_windows(self, rng: np.random.Generator, count: int, window: int) -> list[tuple[int, int]]:
        """(sequence, start) pairs, uniform over events."""
        lengths = np.array([max(1, len(s) - window - 1) for s in self.sequences], np.float64)
        seqs = rng.choice(len(self.sequences), size=count, p=lengths / lengths.sum())
        return [(int(s), int(rng.integers(0, lengths[s]))) for s in seqs]

    def fixed_windows(self, window: int, limit: int) -> list[tuple[int, int]]:
        """Non-overlapping windows (validation), at most `limit`, spread over all sequences."""
        picks = [(i, p) for i, s in enumerate(self.sequences) for p in range(0, len(s) - window - 1, window)]
        if len(picks) > limit:
            picks = [picks[int(k)] for k in np.linspace(0, len(picks) - 1, limit)]
        return picks

    def batch(self, picks: Sequence[tuple[int, int]], window: int, rng: np.random.Generator | None = None,
              transpose: int = 0, disable_prob: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs [B, T, input_size], labels [B, T], mask [B, T]; with `rng`, each window is transposed by up
        to +-`transpose` semitones and (optional-conditioning configs) has its controls off with
        `disable_prob`."""
        cfg = self.config
        inputs = np.zeros((len(picks), window, cfg.input_size), np.float32)
        labels = np.zeros((len(picks), window), np.int32)
        mask = np.zeros((len(picks), window), np.float32)
        for b, (i, p) in enumerate(picks):
            seg = self.sequences[i][p : p + window + 1 + CONTROL_LOOKAHEAD].astype(np.int32)
            if rng is not None and transpose:
                seg = _transpose(seg, int(rng.integers(-transpose, transpose + 1)))
            n = min(window + 1, len(seg))
            events = seg[:n]
            inputs[b, : n - 1, cfg.control_size:] = self.table[events[:-1]]
            if cfg.control_size:
                ctrl = event_controls(seg, cfg)[1:n]
                if cfg.optional_conditioning and rng is not None and rng.random() < disable_prob:
                    ctrl = np.zeros_like(ctrl)
                    ctrl[:, 0] = 1.0
                inputs[b, : n - 1, : cfg.control_size] = ctrl
            labels[b, : n - 1] = events[1:]
            mask[b, : n - 1] = 1.0
        return inputs, labels, mask


def _transpose(seg: np.ndarray, k: int) -> np.ndarray:
    notes = seg < SHIFT0
    pitch = seg % NOTE_OFF0
    if not k or not notes.any() or pitch[notes].min() + k < 0 or pitch[notes].max() + k > 127:
        return seg
    return np.where(notes, seg + k, seg)
