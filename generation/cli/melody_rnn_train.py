"""`melody_rnn_train`: train a Melody RNN config (Magenta's basic_rnn, mono_rnn, lookback_rnn, attention_rnn) on
lead-sheet melodies (Nottingham, OpenEWLD) and POP909's MELODY tracks; write its bundle + model card."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from generation.cli.train_flags import add_loop_flags, parse_hparams, start_training
from generation.families.melody.config import CONFIGS

DEFAULT_DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
FOLDERS = {"nottingham": "nottingham/ABC_cleaned", "openewld": "openewld/dataset", "pop909": "pop909/POP909"}
SOURCES = tuple(FOLDERS)
HPARAMS = {"batch_size": int, "rnn_layer_sizes": list, "dropout_keep_prob": float, "clip_norm": float,
           "learning_rate": float}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="melody_rnn_train", description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=list(CONFIGS), required=True)
    p.add_argument("--hparams", default="", help="Magenta's form, e.g. 'batch_size=64,rnn_layer_sizes=[64,64]' "
                   f"({', '.join(HPARAMS)}; defaults: the config's, as Magenta's)")
    p.add_argument("--datasets_dir", type=Path, default=DEFAULT_DATASETS)
    p.add_argument("--sources", default=",".join(SOURCES), help=f"comma-separated, from {', '.join(SOURCES)}")
    p.add_argument("--window", type=int, default=128, help="steps per training example (from a bar line)")
    p.add_argument("--eval_outputs", type=int, default=100, help="melodies generated for each card figure")
    p.add_argument("--run_dir", type=Path, help="Magenta's name for --output_dir")
    add_loop_flags(p, steps=3000, learning_rate=None, final_learning_rate=None, eval_every=200, clip_norm=None,
                   init_help="carry on training a bundle of the same config")
    args = p.parse_args(argv)
    config = CONFIGS[args.config]
    try:
        hp = parse_hparams(args.hparams, HPARAMS)
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    if not sources or set(sources) - set(SOURCES):
        p.error(f"--sources takes some of {', '.join(SOURCES)}, not {args.sources!r}")
    args.learning_rate = args.learning_rate or hp.get("learning_rate", config.learning_rate)
    args.final_learning_rate = args.final_learning_rate or args.learning_rate / 10
    args.clip_norm = args.clip_norm or hp.get("clip_norm", config.clip_norm)
    settings = start_training(args)  # TensorFlow loads here

    from generation.engine.bundle import default_bundle_dir
    from generation.engine.training import run
    from generation.errors import InputError
    from generation.families.melody.dataset import load_melodies
    from generation.families.melody.train import MelodySettings, MelodyTrainer

    missing = [s for s in sources if not (args.datasets_dir / FOLDERS[s]).is_dir()]
    if missing:
        raise SystemExit(f"error: no {', '.join(missing)} data under {args.datasets_dir} (expected "
                         f"{', '.join(FOLDERS[s] for s in missing)}); pass --datasets_dir or leave them out of "
                         "--sources")
    stats: Counter[str] = Counter()
    melodies = load_melodies(args.datasets_dir, stats, sources)
    pieces = {s: stats[f"{s}: pieces"] for s in sources}
    options = MelodySettings(layer_sizes=tuple(hp.get("rnn_layer_sizes", config.layer_sizes)),
                             batch_size=hp.get("batch_size", config.batch_size), window=args.window,
                             dropout=1 - hp.get("dropout_keep_prob", config.dropout_keep_prob),
                             eval_outputs=args.eval_outputs)
    try:
        trainer = MelodyTrainer(config, melodies, options, pieces)
        run(trainer, settings, args.output_dir or args.run_dir or default_bundle_dir(config.name), args.init_from,
            args.card_only)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
