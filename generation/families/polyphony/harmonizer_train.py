"""Train the lead-sheet harmoniser: count the chord HMM on our lead sheets' training split, choose its two
decoding weights on a development slice of that split, refit on the whole split, score held-out tunes, and
write the bundle (log-probability tables as weights) and its MODEL_CARD.md."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.data.leadsheet import LeadSheet
from generation.engine.bundle import Bundle
from generation.families.improv.dataset import is_validation
from generation.families.polyphony import chord_hmm as hmm
from generation.families.polyphony.harmonizer import CONFIG, LeadSheetHarmonizer
from generation.music.notes import melody_events_notes

log = logging.getLogger(__name__)
LICENCES = {
    "nottingham": "Nottingham Music Database, cleaned ABC (jukedeck/nottingham-dataset): GPL-3.0",
    "openewld": "OpenEWLD (00sapo/OpenEWLD, public-domain subset of Wikifonia): MIT licence, public-domain songs",
}
HELD_OUT = 10  # percent: the improv trainer's split (improv/dataset.is_validation), so held-out tunes stay out
DEV = 20  # percent: the training tunes hashed in [HELD_OUT, DEV) choose the decoding weights
MELODY_WEIGHTS = (0.5, 0.75, 1.0, 1.25, 1.5)
END_WEIGHTS = (0.0, 0.5, 1.0)
DEV_BARS = 8


@dataclass(frozen=True)
class Record:
    """A training tune: its half-bar segments, the chord state of each, and its key (Krumhansl, whole sheet)."""

    name: str
    segments: hmm.Segments
    states: list[int | None]
    tonic: int
    minor: bool


def load_sheets(datasets: Path) -> dict[str, list[LeadSheet]]:
    from generation.data.nottingham import load_nottingham
    from generation.data.openewld import load_openewld

    return {"nottingham": load_nottingham(datasets / "nottingham" / "ABC_cleaned"),
            "openewld": load_openewld(datasets / "openewld" / "dataset")}


def record(sheet: LeadSheet) -> Record:
    """Segments, chord states and key of a lead sheet (the key as the quality report reads a lead sheet's)."""
    from generation.quality.leadsheet_rows import voiced_chords
    from generation.quality.texture import estimate_key

    chords = hmm.parse_figures(sheet.chords)
    seg = hmm.segments(sheet.melody, sheet.bar_starts, len(sheet.melody))
    key = estimate_key(melody_events_notes(sheet.melody) + voiced_chords(chords))
    return Record(sheet.name, seg, hmm.segment_states(chords, seg.spans), key.tonic, key.minor)


def count(records: Sequence[Record]) -> hmm.Counts:
    counts = hmm.Counts.empty()
    for r in records:
        counts.add(r.segments, r.states, r.tonic, r.minor)
    return counts


def opening(r: Record, bars: int) -> tuple[hmm.Segments, list[int | None]]:
    """The segments of a record's first `bars` bars (half bars of 4/4: 2 per bar)."""
    n = 2 * bars
    s = r.segments
    return hmm.Segments(s.spans[:n], s.bar_start[:n], s.weights[:n]), r.states[:n]


def chord_accuracy(model: hmm.ChordHmm, records: Sequence[Record], bars: int | None) -> dict[str, float]:
    """Shares of chorded segments where the decoded chord is the sheet's (state), has its root, and of decoded
    chord tones within the sheet's chord; `bars`: only each tune's opening."""
    same = root = tones = tone_total = total = 0
    for r in records:
        seg, states = opening(r, bars) if bars else (r.segments, r.states)
        for ours, theirs in zip(model.best(seg).states, states, strict=True):
            if theirs is None:
                continue
            total += 1
            same += ours == theirs
            root += ours // hmm.NQ == theirs // hmm.NQ
            mine = hmm.state_pitch_classes(ours)
            tones += len(mine & hmm.state_pitch_classes(theirs))
            tone_total += len(mine)
    return {"chord": same / max(total, 1), "root": root / max(total, 1), "tones": tones / max(tone_total, 1),
            "segments": total}


@dataclass(frozen=True)
class TrainResult:
    bundle: Bundle
    dev_grid: list[dict[str, Any]]


def train(sheets: dict[str, list[LeadSheet]], smoothing: hmm.Smoothing | None = None) -> TrainResult:
    """Count, choose the decoding weights on the development slice, refit on the whole training split."""
    smoothing = smoothing or hmm.Smoothing()
    began = time.perf_counter()
    train_sheets = {k: [s for s in v if not is_validation(s.name, HELD_OUT)] for k, v in sheets.items()}
    records = [record(s) for v in train_sheets.values() for s in v]
    dev = [r for r in records if is_validation(r.name, DEV)]
    fit_part = [r for r in records if not is_validation(r.name, DEV)]
    log.info("%d training tunes (%d to fit, %d development), read in %.1f s", len(records), len(fit_part),
             len(dev), time.perf_counter() - began)
    counts = count(fit_part)
    grid = []
    for melody_weight in MELODY_WEIGHTS:
        for end_weight in END_WEIGHTS:
            sm = hmm.Smoothing(**{**asdict(smoothing), "melody_weight": melody_weight, "end_weight": end_weight})
            model = hmm.ChordHmm(hmm.fit(counts, sm), melody_weight, end_weight)
            scores = chord_accuracy(model, dev, DEV_BARS)
            grid.append({"melody_weight": melody_weight, "end_weight": end_weight, **scores})
            log.info("melody weight %.2f, end weight %.1f: development chord accuracy %.3f, tones %.3f",
                     melody_weight, end_weight, scores["chord"], scores["tones"])
    best = max(grid, key=lambda g: (g["chord"], g["tones"]))
    chosen = hmm.Smoothing(**{**asdict(smoothing), "melody_weight": best["melody_weight"],
                              "end_weight": best["end_weight"]})
    full = count(records)
    tables = hmm.fit(full, chosen)
    info: dict[str, Any] = {
        "data": {
            "datasets": {k: {"pieces": len(v), "train": len(train_sheets[k]), "licence": LICENCES[k]}
                         for k, v in sheets.items()},
            "split": f"held out: the improv trainer's split (improv/dataset.is_validation, {HELD_OUT} % of tunes "
                     f"by name hash); development: training tunes hashed in [{HELD_OUT}, {DEV}) %",
            "train_tunes": len(records), "fit_tunes": len(fit_part), "dev_tunes": len(dev),
            "segments": int(full.transition.sum() + full.initial.sum()),
            "tunes_per_mode": {"major": int(full.modes[0]), "minor": int(full.modes[1])},
            "states_allowed": {"major": int(tables["allowed"][0].sum()), "minor": int(tables["allowed"][1].sum())},
        },
        "smoothing": asdict(chosen),
        "decoding": {"melody_weight": chosen.melody_weight, "end_weight": chosen.end_weight},
        "development": {"grid": grid, "chosen": best},
        "training": {"seconds": time.perf_counter() - began},
        "parameters": int(sum(np.asarray(v).size for v in tables.values())),
    }
    bundle = Bundle("polyphony", CONFIG, (), 0, {k: np.asarray(v, np.float32) for k, v in tables.items()}, info)
    return TrainResult(bundle, grid)


def write(result: TrainResult, folder: Path, sheets: dict[str, list[LeadSheet]], command: str) -> dict[str, Any]:
    """Save the bundle, score the stored (float16) tables on held-out tunes, and write the card."""
    result.bundle.save(folder)
    return rescore(folder, sheets, command)


def rescore(folder: Path, sheets: dict[str, list[LeadSheet]], command: str, quality_samples: int = 100
            ) -> dict[str, Any]:
    """Score the stored tables in `folder` on held-out tunes and rewrite bundle.json (not the tables) and the card.
    The quality report's harmonize rows (the first `quality_samples` held-out Nottingham openings) cover this
    model and, beside it, Magenta's path through the shipped Polyphony RNN."""
    from generation.families.polyphony.harmonizer_card import held_out_quality, report_rows, write_card

    stored = LeadSheetHarmonizer.load(folder)
    held_records = [record(s) for v in sheets.values() for s in v if is_validation(s.name, HELD_OUT)]
    info = dict(stored.bundle.info)
    info["held_out_chords"] = {"opening_8_bars": chord_accuracy(stored.hmm, held_records, DEV_BARS),
                               "whole_tunes": chord_accuracy(stored.hmm, held_records, None),
                               "tunes": len(held_records)}
    info["quality"] = held_out_quality(stored, sheets)
    info["quality_rows"] = report_rows(stored, sheets, quality_samples)
    Bundle(stored.bundle.family, CONFIG, (), 0, stored.bundle.weights, info).save_info(folder)
    write_card(folder, info, command)
    return info
