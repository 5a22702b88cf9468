"""The quality report's performance and chorale rows (settings in report.py's docstring), one model at a time:
the report runs them for every shipped config, a trainer for the bundle it has just stored (its card)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from generation.music.notes import Note, frames_notes
from generation.quality import texture as tx
from generation.quality.common import BAR, BARS, DATASETS, SEED, Row, Stat, mean_stat, ratio_stat, sum_by

PERFORMANCE_STEPS = 3000  # 30 s of 10 ms steps


# --- performance ------------------------------------------------------------------------------------------

def performance_figures(pieces: Sequence[Sequence[Note]], clusters: Sequence[Any] | None = None) -> dict[str, Stat]:
    if not pieces:
        return {}
    longest, long_share = zip(*(tx.note_lengths(p, 0.01) for p in pieces), strict=True)
    long_counts: list[tuple[float, float]] = [(sum(n.end - n.start > tx.LONG_NOTE_S * 100 for n in p), len(p))
                                              for p in pieces]
    if clusters is not None:  # a ratio's counts summed per piece
        long_counts = sum_by(long_counts, clusters)
    return {"simultaneous notes (mean sounding, when any)": mean_stat((tx.simultaneous_notes(p) for p in pieces),
                                                                      clusters),
            "longest note (s)": mean_stat(longest, clusters),
            "share of notes longer than 5 s": ratio_stat(long_counts),
            "key clarity (best Krumhansl r)": mean_stat((tx.estimate_key(p).clarity for p in pieces), clusters)}


def read_human_performance(path: Path) -> list[Note]:
    """A MIDI performance on the 10 ms grid with the sustain pedal applied (texture.apply_sustain)."""
    import pretty_midi

    out: list[Note] = []
    for inst in pretty_midi.PrettyMIDI(str(path)).instruments:
        if inst.is_drum:
            continue
        notes = [Note(round(n.start * 100), max(round(n.start * 100) + 1, round(n.end * 100)), n.pitch,
                      max(1, min(127, n.velocity))) for n in inst.notes]
        pedal = sorted((round(c.time * 100), c.value) for c in inst.control_changes if c.number == 64)
        out += tx.apply_sustain(notes, pedal)
    return sorted(out)


def human_performance_windows(root: Path) -> tuple[list[list[Note]], list[str]]:
    """30 s windows of every held-out ASAP performance (end to end from the first note, plus the last 30 s), and
    their pieces."""
    from generation.families.performance.dataset import is_validation, piece_of

    windows, pieces = [], []
    for path in sorted(root.rglob("*.mid")):
        piece = piece_of(path, root)
        if not is_validation(piece):
            continue
        notes = read_human_performance(path)
        if not notes:
            continue
        first, last = notes[0].start, max(n.end for n in notes)
        starts = list(range(first, last - PERFORMANCE_STEPS + 1, PERFORMANCE_STEPS))
        if starts and starts[-1] + PERFORMANCE_STEPS < last:
            starts.append(last - PERFORMANCE_STEPS)  # the ending too (often a chord held on the pedal)
        for start in starts:
            windows.append(tx.window(notes, start, start + PERFORMANCE_STEPS))
            pieces.append(piece)
    return windows, pieces


def human_performance(root: Path = DATASETS / "asap") -> tuple[dict[str, Stat], str]:
    """The human side of the performance rows, and its source."""
    windows, pieces = human_performance_windows(root)
    return performance_figures(windows, pieces), f"ASAP held-out, pedal applied, {len(windows)} 30 s windows"


def performance_config_rows(generator: Any, config: str, samples: int, human: dict[str, Stat], source: str
                            ) -> list[Row]:
    """One Performance RNN's rows: `samples` outputs of 30 s from nothing, no control, T=1.0."""
    from generation.engine.sampling import SearchSettings

    made = generator.generate_notes([], PERFORMANCE_STEPS, num_outputs=samples, search=SearchSettings(1.0), seed=SEED)
    return [Row(f"{figure} [{config}]", stat, human.get(figure), source)
            for figure, stat in performance_figures(made).items()]


def performance_rows(samples: int) -> list[Row]:
    from generation.engine.bundle import installed_configs
    from generation.families.performance.config import CONFIGS
    from generation.families.performance.generator import PerformanceGenerator

    human, source = human_performance()
    rows = []
    for config in [c for c in CONFIGS if c in installed_configs()]:
        rows += performance_config_rows(PerformanceGenerator.load(config), config, samples, human, source)
    return rows


# --- chorales (polyphony, pianoroll) -------------------------------------------------------------------------

def chorale_figures(pieces: Sequence[Sequence[Note]], half_steps: int) -> dict[str, Stat]:
    return {"dissonant pairs (m2, M2, tritone, M7 share)": ratio_stat(tx.dissonant_pairs(p) for p in pieces),
            "parallel 5ths/octaves per 100 chord changes": ratio_stat((tx.parallel_perfects(p) for p in pieces),
                                                                      100.0),
            "same key in bars 1-4 and 5-8": mean_stat(float(tx.same_key_halves(p, half_steps)) for p in pieces)}


def chorale_rows(ours: Sequence[Sequence[Note]], human: Sequence[Sequence[Note]], half_steps: int, label: str,
                 source: str) -> list[Row]:
    mine, theirs = chorale_figures(ours, half_steps), chorale_figures(human, half_steps)
    return [Row(f"{figure} [{label}]", stat, theirs[figure], source) for figure, stat in mine.items()]


def polyphony_rows(samples: int, generator: Any = None, test: Sequence[Sequence[Note]] | None = None,
                   label: str = "polyphony") -> list[Row]:
    """8 bars from a C major chord beside the JSB test chorales (16ths); default: the shipped model and data."""
    from generation.engine.sampling import SearchSettings
    from generation.families.polyphony.dataset import load_jsb
    from generation.families.polyphony.generator import PolyphonyGenerator

    steps = BARS * BAR
    primer = [Note(0, 4, p) for p in (67, 64, 60)]
    generator = generator or PolyphonyGenerator.load()
    made = generator.generate(primer, steps, condition_on_primer=True, inject_primer=True, num_outputs=samples,
                              search=SearchSettings(1.0), seed=SEED)
    test = load_jsb()["test"] if test is None else test
    human = [tx.window(p, 0, steps) for p in test if p and max(n.end for n in p) >= steps]
    return chorale_rows(made, human, steps // 2, f"{label}, 8 bars from C major",
                        f"JSB test chorales, first 8 bars (16ths), {len(human)} chorales")


def pianoroll_rows(samples: int, generator: Any = None, test: Sequence[np.ndarray] | None = None,
                   label: str = "rnn-nade-bach") -> list[Row]:
    """8 bars (quarters) from a C major frame beside the JSB test chorales; default: the shipped rnn-nade-bach."""
    from generation.engine.sampling import SearchSettings
    from generation.families.pianoroll.dataset import load_jsb, roll_to_frames
    from generation.families.pianoroll.generator import PianorollGenerator

    steps = BARS * 4
    generator = generator or PianorollGenerator.load(label)
    rolls = generator.generate([frozenset({60, 64, 67})], steps, samples, SearchSettings(1.0), SEED)
    made = [frames_notes(frames) for frames in rolls]
    if test is None:
        test = load_jsb(DATASETS / "jsb_chorales" / "jsb-chorales-quarter.json", "test")
    human = [frames_notes(roll_to_frames(r[:steps])) for r in test if len(r) >= steps]
    return chorale_rows(made, human, steps // 2, f"{label}, 8 bars from C major",
                        f"JSB test chorales, first 8 bars (quarters), {len(human)} chorales")
