"""`performance_rnn_train`: train a Performance RNN config on ASAP performances; write its bundle + model card."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generation.cli.train_flags import add_loop_flags, start_training
from generation.families.performance.config import CONFIGS

DEFAULT_DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
DEFAULT_CACHE = Path(__file__).resolve().parents[2] / "runs" / "performance" / "asap_events.npz"
LICENCE = ("ASAP (fosfrancesco/asap-dataset, human piano performances): Creative Commons "
           "Attribution-NonCommercial-ShareAlike 4.0 (CC BY-NC-SA 4.0), NON-COMMERCIAL use only")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="performance_rnn_train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=list(CONFIGS), required=True)
    parser.add_argument("--datasets_dir", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the parsed events are cached")
    parser.add_argument("--performances_per_piece", type=int, default=3)
    parser.add_argument("--time_limit_minutes", type=float, default=0.0, help="the same as --max_minutes")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--window", type=int, default=200, help="events per training window")
    parser.add_argument("--layer_sizes", default="", help="e.g. 256,256 (default: the config's)")
    parser.add_argument("--eval_outputs", type=int, default=4, help="outputs per control request for the card")
    parser.add_argument("--quality_outputs", type=int, default=32,
                        help="outputs of 30 s for the card's quality report rows (default: the report's 32)")
    add_loop_flags(parser, steps=1000, learning_rate=0.003, final_learning_rate=0.0003, eval_every=100,
                   clip_norm=3.0, init_help="start from a trained bundle of any performance config (e.g. "
                   "models/performance_with_dynamics): control rows start at zero, vocabularies are mapped")
    args = parser.parse_args(argv)
    args.max_minutes = args.max_minutes or args.time_limit_minutes
    settings = start_training(args)  # TensorFlow loads here

    from generation.engine.bundle import default_bundle_dir
    from generation.engine.training import run
    from generation.errors import InputError
    from generation.families.performance.dataset import Corpus, drop_velocity, is_validation, load_asap
    from generation.families.performance.train import PerformanceSettings, PerformanceTrainer

    config = CONFIGS[args.config]
    if args.layer_sizes:
        config = dataclasses.replace(config, layer_sizes=tuple(int(u) for u in args.layer_sizes.split(",")))
    if not (args.cache.is_file() or (args.datasets_dir / "asap").is_dir()):
        raise SystemExit(f"error: no ASAP performances under {args.datasets_dir} and no cache at {args.cache}")
    pieces = load_asap(args.datasets_dir / "asap", args.performances_per_piece, args.cache)

    def sequences(valid: bool) -> list[Any]:
        seqs = [s for piece, group in pieces.items() if is_validation(piece) == valid for s in group]
        return [drop_velocity(s) for s in seqs] if not config.num_velocity_bins else seqs

    train_corpus, valid_corpus = Corpus(config, sequences(False)), Corpus(config, sequences(True))
    if not train_corpus.sequences or not valid_corpus.sequences:
        raise SystemExit(f"error: ASAP gives {len(train_corpus.sequences)} training and "
                         f"{len(valid_corpus.sequences)} held-out performances; both are needed")
    options = PerformanceSettings(batch_size=args.batch_size, window=args.window, eval_outputs=args.eval_outputs,
                                  quality_outputs=args.quality_outputs)
    data_info: dict[str, Any] = {
        "dataset": "asap", "licence": LICENCE,
        "pieces": len(pieces), "performances": sum(len(g) for g in pieces.values()),
        "performances_per_piece": args.performances_per_piece,
        "train_pieces": sum(not is_validation(p) for p in pieces),
        "validation_pieces": sum(is_validation(p) for p in pieces),
        "split": "about 10% of pieces held out by a hash of the piece folder (every performance of a piece on "
                 "one side)",
        "augmentation": f"transposition by up to +-{options.transpose} semitones per window (as Magenta); no "
                        "time stretch",
        "train_events": train_corpus.num_events, "validation_events": valid_corpus.num_events,
    }
    trainer = PerformanceTrainer(config, train_corpus, valid_corpus, data_info, options, args.datasets_dir / "asap")
    try:
        run(trainer, settings, args.output_dir or default_bundle_dir(config.name), args.init_from, args.card_only)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
