"""`polyphony_rnn_train`: train the Polyphony RNN on the JSB chorales and write its bundle + model card."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from generation.cli.train_flags import add_loop_flags, start_training

DEFAULT_DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="polyphony_rnn_train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        help="Jsb16thSeparated.json (default: ../shared/datasets/jsb_chorales/Jsb16thSeparated.json)")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--layer_sizes", default="256,256", help="LSTM units per layer (Magenta: 256,256,256)")
    parser.add_argument("--card_outputs", type=int, default=20, help="pieces generated for the card's figures")
    parser.add_argument("--quality_samples", type=int, default=100,
                        help="chorales generated and tunes harmonised for the card's quality report rows "
                        "(default: the report's 100)")
    parser.add_argument("--datasets_dir", type=Path, default=DEFAULT_DATASETS,
                        help="holds nottingham/ABC_cleaned, whose held-out tunes the card harmonises")
    add_loop_flags(parser, steps=3000, learning_rate=0.003, final_learning_rate=0.0003, eval_every=100)
    args = parser.parse_args(argv)
    settings = start_training(args)  # TensorFlow loads here

    from generation.engine.bundle import default_bundle_dir
    from generation.engine.training import run
    from generation.errors import InputError
    from generation.families.polyphony.dataset import JSB_FILE, load_jsb
    from generation.families.polyphony.train import CONFIG, PolyphonySettings, PolyphonyTrainer

    path = args.data or JSB_FILE
    if not path.is_file():
        raise SystemExit(f"error: no JSB chorales at {path}; pass --data")
    options = PolyphonySettings(layer_sizes=tuple(int(u) for u in args.layer_sizes.split(",")),
                                batch_size=args.batch_size, card_outputs=args.card_outputs,
                                quality_samples=args.quality_samples)
    trainer = PolyphonyTrainer(load_jsb(path), options, args.datasets_dir)
    try:
        run(trainer, settings, args.output_dir or default_bundle_dir(CONFIG), args.init_from, args.card_only)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
