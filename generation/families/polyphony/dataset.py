"""JSB chorales -> Polyphony RNN training data: windows from bar lines, re-encoded from START, transposed on the fly."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generation.families.polyphony.encoding import NEW_NOTE, NUM_CLASSES, notes_to_events, voices_to_notes
from generation.music.notes import Note

JSB_FILE = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "jsb_chorales" / "Jsb16thSeparated.json"
STEPS_PER_BAR = 16


def load_jsb(path: Path = JSB_FILE) -> dict[str, list[list[Note]]]:
    """The chorales of each split ("train", "valid", "test") as notes on the 16th grid."""
    raw = json.loads(path.read_text())
    return {split: [voices_to_notes(piece) for piece in pieces] for split, pieces in raw.items()}


def window_notes(notes: list[Note], start: int, steps: int) -> list[Note]:
    """The notes sounding in [start, start + steps), moved to start at step 0 (notes cut at the edges)."""
    return [Note(max(n.start, start) - start, min(n.end, start + steps) - start, n.pitch, n.velocity)
            for n in notes if n.end > start and n.start < start + steps]


@dataclass
class Windows:
    """Fixed-length event windows (padded with -1), each a piece fragment encoded from START."""

    events: np.ndarray  # [N, length + 1] int32, -1 past the fragment's end
    pitch_range: tuple[int, int]

    @property
    def num_events(self) -> int:
        return int((self.events[:, 1:] >= 0).sum())

    def batch(self, rows: np.ndarray, shifts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows (optionally transposed by `shifts` semitones) -> one-hot inputs [B, L, C], labels [B, L], mask."""
        ev = self.events[rows].copy()
        if shifts is not None:
            pitched = ev >= NEW_NOTE
            ev = np.where(pitched, ev + shifts[:, None], ev)
        mask = (ev[:, 1:] >= 0).astype(np.float32)
        ev = np.maximum(ev, 0)
        inputs = np.eye(NUM_CLASSES, dtype=np.float32)[ev[:, :-1]]
        return inputs, ev[:, 1:].astype(np.int32), mask


def build_windows(pieces: list[list[Note]], window_steps: int, hop_steps: int, max_events: int) -> Windows:
    """Fragments of `window_steps` steps starting every `hop_steps` (bar lines), cut to `max_events` + 1 events.

    Each fragment is encoded afresh (START, notes sounding at its first step as NEW_NOTE), the way
    generation sees music: from the zero state after START.
    """
    rows = []
    for notes in pieces:
        length = max(n.end for n in notes)
        for start in range(0, max(1, length - window_steps // 2), hop_steps):
            steps = min(window_steps, length - start)
            ev = notes_to_events(window_notes(notes, start, steps), steps)[: max_events + 1]
            rows.append(ev + [-1] * (max_events + 1 - len(ev)))
    pitches = [n.pitch for notes in pieces for n in notes]
    return Windows(np.array(rows, np.int32), (min(pitches), max(pitches)))


def whole_pieces(pieces: list[list[Note]]) -> Windows:
    """Each piece whole, from START to its last step (validation: NLL per event as generation sees it)."""
    seqs = [notes_to_events(notes, max(n.end for n in notes)) for notes in pieces]
    longest = max(len(s) for s in seqs)
    rows = [s + [-1] * (longest - len(s)) for s in seqs]
    pitches = [n.pitch for notes in pieces for n in notes]
    return Windows(np.array(rows, np.int32), (min(pitches), max(pitches)))
