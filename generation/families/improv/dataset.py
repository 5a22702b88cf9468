"""Lead sheets -> Improv RNN training data: transposed, fitted into the model's range, split by piece."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from generation.data.leadsheet import LeadSheet
from generation.families.improv.config import ImprovConfig
from generation.families.improv.encoding import encode_chord, events_to_classes
from generation.music.chords import NO_CHORD, Chord, ChordError, parse_chord

log = logging.getLogger(__name__)


def is_validation(name: str, percent: int = 10) -> bool:
    """A stable held-out split by piece name (the same piece never lands on both sides)."""
    return int(hashlib.sha1(name.encode()).hexdigest(), 16) % 100 < percent


@dataclass
class Corpus:
    """Encoded pieces and the window starts to draw training examples from.

    Each piece (one per transposition) is a class sequence plus a chord-id sequence indexing `chord_table`.
    """

    config: ImprovConfig
    classes: list[np.ndarray] = field(default_factory=list)
    chord_ids: list[np.ndarray] = field(default_factory=list)
    starts: list[np.ndarray] = field(default_factory=list)
    chord_table: list[np.ndarray] = field(default_factory=list)
    chord_index: dict[Chord, int] = field(default_factory=dict)
    stats: Counter[str] = field(default_factory=Counter)

    def chord_id(self, chord: Chord) -> int:
        if chord not in self.chord_index:
            try:
                row = encode_chord(chord, self.config)
            except ChordError:
                self.stats["chords without a triad, read as no chord"] += 1
                return self.chord_id(NO_CHORD)
            self.chord_index[chord] = len(self.chord_table)
            self.chord_table.append(row)
        return self.chord_index[chord]

    @property
    def num_steps(self) -> int:
        return sum(len(c) for c in self.classes)

    def windows(self, length: int) -> list[tuple[int, int]]:
        return [(p, int(s)) for p, starts in enumerate(self.starts) for s in starts]

    def batch(self, picks: Sequence[tuple[int, int]], length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Windows of `length + 1` steps -> inputs [B, L, D], labels [B, L], mask [B, L] (0 past a piece's end)."""
        table = np.stack(self.chord_table)
        n = len(picks)
        cls = np.zeros((n, length + 1), np.int32)
        chords = np.zeros((n, length + 1), np.int32)
        mask = np.zeros((n, length), np.float32)
        for row, (p, s) in enumerate(picks):
            seg = self.classes[p][s : s + length + 1]
            cls[row, : len(seg)] = seg
            chords[row, : len(seg)] = self.chord_ids[p][s : s + length + 1]
            mask[row, : len(seg) - 1] = 1.0
        melody = np.eye(self.config.num_classes, dtype=np.float32)[cls[:, :-1]]
        inputs = np.concatenate([table[chords[:, 1:]], melody], axis=2)
        return inputs, cls[:, 1:], mask


def build_corpus(
    sheets: Iterable[LeadSheet],
    config: ImprovConfig,
    transpositions: Sequence[int] = (0,),
    min_window: int = 32,
    hop_bars: int = 2,
) -> Corpus:
    """Encode every sheet in every transposition that fits the model's range."""
    corpus = Corpus(config)
    parsed: dict[str | None, Chord] = {None: NO_CHORD}
    for sheet in sheets:
        chords = []
        for figure in sheet.chords:
            if figure not in parsed:
                try:
                    parsed[figure] = parse_chord(figure or "")
                except ChordError:
                    corpus.stats["unreadable chord figures, read as no chord"] += 1
                    parsed[figure] = NO_CHORD
            chords.append(parsed[figure])
        melody = np.array(sheet.melody)
        notes = melody[melody >= 0]
        if len(notes) == 0 or notes.max() - notes.min() >= config.max_note - config.min_note:
            corpus.stats["pieces skipped: melody wider than the model's range"] += 1
            continue
        starts = np.array([b for i, b in enumerate(sheet.bar_starts) if i % hop_bars == 0], np.int64)
        starts = starts[starts <= len(melody) - min_window]
        if len(starts) == 0:
            corpus.stats["pieces skipped: too short"] += 1
            continue
        corpus.stats["pieces"] += 1
        for shift in transpositions:
            octave = _octave_fit(int(notes.min()) + shift, int(notes.max()) + shift, config)
            if octave is None:
                corpus.stats["transpositions skipped: no octave fits the range"] += 1
                continue
            moved = np.where(melody >= 0, melody + shift + octave, melody)
            corpus.classes.append(events_to_classes(moved.tolist(), config))
            ids = [corpus.chord_id(c.transpose(shift)) for c in chords]
            corpus.chord_ids.append(np.array(ids, np.int32))
            corpus.starts.append(starts)
    log.info("corpus %s: %d sequences, %d steps, %s", config.name, len(corpus.classes), corpus.num_steps,
             dict(corpus.stats))
    return corpus


def _octave_fit(lo: int, hi: int, config: ImprovConfig) -> int | None:
    """The octave shift nearest zero that puts [lo, hi] inside the model's range, if there is one."""
    for k in sorted(range(-4, 5), key=abs):
        if lo + 12 * k >= config.min_note and hi + 12 * k < config.max_note:
            return 12 * k
    return None
