"""`leadsheet_harmonizer_train`: count the lead-sheet harmoniser's chord HMM on Nottingham + OpenEWLD and write
its bundle and model card (models/leadsheet_harmonizer); a few minutes on a 2-core CPU (TensorFlow only for the
card's rows of Magenta's polyphony path beside it)."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

PROG = "leadsheet_harmonizer_train"
DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DATASETS,
                        help="folder holding nottingham/ABC_cleaned and openewld/dataset (default: ../shared/datasets)")
    parser.add_argument("--output_dir", type=Path, help="bundle folder (default: models/leadsheet_harmonizer)")
    parser.add_argument("--card_only", action="store_true",
                        help="re-score the stored tables and rewrite bundle.json's figures and the card (the tables "
                        "are not counted again nor rewritten)")
    parser.add_argument("--quality_samples", type=int, default=100,
                        help="held-out Nottingham openings at most for the card's quality report rows (default: the "
                        "report's 100, i.e. all of them)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from generation.engine.bundle import default_bundle_dir
    from generation.families.polyphony.harmonizer import CONFIG
    from generation.families.polyphony.harmonizer_train import load_sheets, rescore, train, write

    for sub in ("nottingham/ABC_cleaned", "openewld/dataset"):
        if not (args.datasets / sub).is_dir():
            raise SystemExit(f"{PROG}: error: no {sub} under {args.datasets}; pass --datasets")
    sheets = load_sheets(args.datasets)
    folder = args.output_dir or default_bundle_dir(CONFIG)
    if args.card_only:
        if not (folder / "weights.npz").is_file():
            raise SystemExit(f"{PROG}: error: no trained tables in {folder} to re-score; train first")
        info = rescore(folder, sheets, PROG, args.quality_samples)
    else:
        info = write(train(sheets), folder, sheets, PROG)
    print(json.dumps({"held_out_chords": info["held_out_chords"], "decoding": info["decoding"]}, indent=1))
    tables = "" if args.card_only else f", {folder / 'weights.npz'}"  # --card_only leaves the tables as they are
    print(f"wrote {folder / 'bundle.json'}{tables} and {folder / 'MODEL_CARD.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
