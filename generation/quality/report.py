"""Quality report: our shipped models beside held-out human music, by the same measures (`make quality`).

One table per family: figure | ours (mean ± standard error, n) | human (mean ± se, n) | human source. The
measures are defined in generation/quality/texture.py. Settings (issue 11):

- performance: every shipped Performance RNN config, 30 s from nothing, no control (plain sampling, T=1.0).
  Human: ASAP performances of the held-out pieces (performance/dataset.is_validation), read with the sustain
  pedal applied (CC64 >= 64 holds released notes, texture.apply_sustain), cut into every whole 30 s window from
  the first note; n = pieces (windows and performances of a piece are averaged first).
- polyphony: Polyphony RNN, 8 bars (128 16th steps) from a C major chord (G4 E4 C4 held one beat, as /chorale).
  Human: the first 8 bars of each JSB test chorale (Jsb16thSeparated.json, 16th grid).
- pianoroll: rnn-nade-bach, 8 bars (32 quarter steps) from a C major chord frame (C4 E4 G4, as /pianoroll).
  Human: the first 8 bars of each JSB test chorale on the quarter grid (jsb-chorales-quarter.json), read into
  notes the same way as the model's frames.
- harmonize: the first 8 bars of held-out 4/4 Nottingham tunes (improv/dataset.is_validation) with chord symbols,
  harmonised by /harmonize's default (leadsheet_harmonizer, picking its own chords: the tune's are not given)
  and by Magenta's path (polyphony config, melody injected, no conditioning); harmony = the output's notes
  that are not the melody's. The tune's key is the Krumhansl key of its lead sheet (melody and chord
  symbols voiced plainly, together): on an 8-bar folk melody alone Krumhansl often names the dominant or the
  relative key (the tunes' own chord symbols then match it in 63 % of segments, against 81 % for the lead-sheet
  key). Human: the same tunes' own chord symbols voiced plainly (slash bass or root in octave 2, chord tones in
  octave 3), for the key figure only: no human voicing of these tunes is held.
- improv: every Improv RNN config at temperature 1.0, primer C4 (the /improv default), over the first
  8 bars of held-out 4/4 lead sheets' own progressions (Nottingham and OpenEWLD, improv/dataset.is_validation);
  human: the same held-out sheets' melodies over the same 8 bars.

Ratios (pairs, notes, beats) pool counts over samples; their standard error is the ratio estimator's (counts
summed per sample). Other figures are means over samples. Seeds are fixed: a rerun prints the same numbers.
The rows are built one model at a time (texture_rows.py, leadsheet_rows.py), so that each training command
puts its config's rows on the model's card.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from generation.quality.common import DATASETS, Row, mean_stat, ratio_stat
from generation.quality.leadsheet_rows import harmonize_rows, held_out_openings, improv_rows
from generation.quality.texture_rows import performance_rows, pianoroll_rows, polyphony_rows

__all__ = ["DATASETS", "held_out_openings", "mean_stat", "ratio_stat"]  # where callers have long found them
FAMILIES = ("performance", "polyphony", "pianoroll", "harmonize", "improv")
# Outputs per model (performance, chorales), or tunes at most (harmonize, improv: every held-out 4/4 opening,
# 49 Nottingham and 47 OpenEWLD). The whole report takes about a minute on this 2-core CPU.
DEFAULT_SAMPLES = {"performance": 32, "polyphony": 100, "pianoroll": 100, "harmonize": 100, "improv": 100}


SECTIONS: dict[str, Callable[[int], list[Row]]] = {
    "performance": performance_rows, "polyphony": polyphony_rows, "pianoroll": pianoroll_rows,
    "harmonize": harmonize_rows, "improv": improv_rows,
}


def table(family: str, rows: Sequence[Row]) -> str:
    cells = [("figure", "ours (mean ± se, n)", "human (mean ± se, n)", "human source")]
    cells += [(r.figure, str(r.ours) if r.ours else "-", str(r.human) if r.human else "-", r.source) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = [f"## {family}", *("| " + " | ".join(c[i].ljust(widths[i]) for i in range(4)) + " |" for c in cells)]
    lines.insert(2, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=0,
                        help="outputs (or tunes) per model; default: each family's own (see DEFAULT_SAMPLES)")
    parser.add_argument("--only", default=",".join(FAMILIES), help=f"comma-separated, of {', '.join(FAMILIES)}")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    chosen = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in SECTIONS]
    if unknown:
        parser.error(f"unknown family {unknown[0]!r}; choose from {', '.join(FAMILIES)}")
    report: dict[str, Any] = {}
    for family in chosen:
        began = time.perf_counter()
        rows = SECTIONS[family](args.samples or DEFAULT_SAMPLES[family])
        seconds = time.perf_counter() - began
        print(table(family, rows) + f"\n({seconds:.0f} s)\n", flush=True)
        report[family] = {"seconds": seconds, "rows": [asdict(r) for r in rows]}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
