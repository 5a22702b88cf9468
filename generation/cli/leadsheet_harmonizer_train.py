"""`leadsheet_harmonizer_train`: count the lead-sheet harmoniser's chord HMM on Nottingham + OpenEWLD and write
its bundle and model card (models/leadsheet_harmonizer); a few minutes on a 2-core CPU, no TensorFlow."""

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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from generation.engine.bundle import default_bundle_dir
    from generation.families.polyphony.harmonizer import CONFIG
    from generation.families.polyphony.harmonizer_train import load_sheets, train, write

    for sub in ("nottingham/ABC_cleaned", "openewld/dataset"):
        if not (args.datasets / sub).is_dir():
            raise SystemExit(f"{PROG}: error: no {sub} under {args.datasets}; pass --datasets")
    sheets = load_sheets(args.datasets)
    result = train(sheets)
    folder = args.output_dir or default_bundle_dir(CONFIG)
    info = write(result, folder, sheets, PROG)
    print(json.dumps({"held_out_chords": info["held_out_chords"], "decoding": info["decoding"]}, indent=1))
    print(f"wrote {folder / 'bundle.json'}, {folder / 'weights.npz'} and {folder / 'MODEL_CARD.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
