"""`drums_rnn_train`: train a Drums RNN config (Magenta's drum_kit, or drum_kit_style told the style to play) on the
Groove MIDI Dataset's train split; write its bundle + model card."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from generation.cli.train_flags import add_loop_flags, parse_hparams, start_training
from generation.families.drums.config import CONFIGS

DEFAULT_GROOVE = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "groove"
HPARAMS = {"batch_size": int, "rnn_layer_sizes": list, "dropout_keep_prob": float, "clip_norm": float,
           "learning_rate": float}
# Magenta's drum_kit hparams (drums_rnn_model.default_configs).
MAGENTA = {"batch_size": 128, "rnn_layer_sizes": [256, 256, 256], "dropout_keep_prob": 0.5, "clip_norm": 3.0,
           "learning_rate": 0.001}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="drums_rnn_train", description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=list(CONFIGS), required=True)
    p.add_argument("--hparams", default="", help="Magenta's form, e.g. 'batch_size=64,rnn_layer_sizes=[128,128]' "
                   f"({', '.join(HPARAMS)}; defaults: Magenta's drum_kit, "
                   + ", ".join(f"{k}={v}" for k, v in MAGENTA.items()).replace(" ", "") + ")")
    p.add_argument("--groove_dir", type=Path, default=DEFAULT_GROOVE, help="the Groove MIDI Dataset (info.csv)")
    p.add_argument("--window", type=int, default=128, help="steps per training example (from a bar line)")
    p.add_argument("--eval_outputs", type=int, default=50,
                   help="tracks generated per style (drum_kit: in all) for the card's figures")
    p.add_argument("--run_dir", type=Path, help="Magenta's name for --output_dir")
    add_loop_flags(p, steps=3000, learning_rate=None, final_learning_rate=None, eval_every=200, clip_norm=None,
                   init_help="carry on training a bundle of the same config")
    args = p.parse_args(argv)
    config = CONFIGS[args.config]
    try:
        hp = {**MAGENTA, **parse_hparams(args.hparams, HPARAMS)}
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    args.learning_rate = args.learning_rate or hp["learning_rate"]
    args.final_learning_rate = args.final_learning_rate or args.learning_rate / 10
    args.clip_norm = args.clip_norm or hp["clip_norm"]
    if not (args.groove_dir / "info.csv").is_file():
        p.error(f"no Groove MIDI Dataset at {args.groove_dir} (info.csv missing); pass --groove_dir")
    settings = start_training(args)  # TensorFlow loads here

    from generation.engine.bundle import default_bundle_dir
    from generation.engine.training import run
    from generation.errors import InputError
    from generation.families.drums.groove import read_takes
    from generation.families.drums.train import DrumsSettings, DrumsTrainer, read_tracks

    tracks = read_tracks(read_takes(args.groove_dir))
    options = DrumsSettings(layer_sizes=tuple(hp["rnn_layer_sizes"]), batch_size=hp["batch_size"],
                            window=args.window, dropout=1 - hp["dropout_keep_prob"], eval_outputs=args.eval_outputs)
    try:
        trainer = DrumsTrainer(config, tracks, options)
        run(trainer, settings, args.output_dir or args.run_dir or default_bundle_dir(config.name), args.init_from,
            args.card_only)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
