"""`improv_rnn_train`: train an Improv RNN config on the project's lead sheets and write its bundle + model card."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path

from generation.cli.train_flags import add_loop_flags, start_training
from generation.families.improv.config import CONFIGS

DEFAULT_DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="improv_rnn_train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=list(CONFIGS), required=True)
    parser.add_argument("--datasets_dir", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--layer_sizes", default="", help="e.g. 128,128 (default: the config's)")
    parser.add_argument("--eval_outputs", type=int, default=100,
                        help="melodies per progression for the card (5 progressions)")
    parser.add_argument("--quality_samples", type=int, default=100,
                        help="held-out lead-sheet openings per corpus at most for the card's quality report rows "
                        "(default: the report's 100, i.e. all of them)")
    add_loop_flags(parser, steps=3000, learning_rate=0.005, final_learning_rate=0.0005, eval_every=250,
                   init_help="start from a trained bundle: the same config's (carry on training), or for an "
                   "attention config a plain one of the same sizes (e.g. models/basic_improv), which it begins as "
                   "before learning to use attention")
    args = parser.parse_args(argv)
    settings = start_training(args)  # TensorFlow loads here

    from generation.data.nottingham import load_nottingham
    from generation.data.openewld import load_openewld
    from generation.engine.bundle import default_bundle_dir
    from generation.engine.training import run
    from generation.errors import InputError
    from generation.families.improv.train import ImprovSettings, ImprovTrainer

    config = CONFIGS[args.config]
    if args.layer_sizes:
        config = dataclasses.replace(config, layer_sizes=tuple(int(u) for u in args.layer_sizes.split(",")))
    sheets = {
        "nottingham": load_nottingham(args.datasets_dir / "nottingham" / "ABC_cleaned"),
        "openewld": load_openewld(args.datasets_dir / "openewld" / "dataset"),
    }
    for name, group in sheets.items():
        if not group:
            raise SystemExit(f"error: no {name} lead sheets under {args.datasets_dir}; pass --datasets_dir")
    trainer = ImprovTrainer(config, sheets, ImprovSettings(args.batch_size, eval_outputs=args.eval_outputs,
                                                           quality_samples=args.quality_samples))
    try:
        run(trainer, settings, args.output_dir or default_bundle_dir(config.name), args.init_from, args.card_only)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
