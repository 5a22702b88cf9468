"""`polyphony_rnn_train`: train the Polyphony RNN on the JSB chorales and write its bundle + model card."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generation.models.polyphony.dataset import JSB_FILE

CONFIG = "polyphony"
LICENCE = ("no licence file in the source repository (czhuang/JSB-Chorales-dataset); the music is "
           "J.S. Bach's and in the public domain")
SPLIT = "train/valid/test as in Boulanger-Lewandowski et al. (2012): 229/76/77 chorales"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="polyphony_rnn_train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=JSB_FILE, help="Jsb16thSeparated.json")
    parser.add_argument("--output_dir", type=Path, help="bundle folder (default: models/polyphony)")
    parser.add_argument("--num_training_steps", type=int, default=3000)
    parser.add_argument("--max_minutes", type=float, default=0.0,
                        help="stop after this many minutes even if steps remain (0 = no limit)")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--layer_sizes", default="256,256", help="LSTM units per layer (Magenta: 256,256,256)")
    parser.add_argument("--learning_rate", type=float, default=0.003)
    parser.add_argument("--eval_every", type=int, default=100)
    parser.add_argument("--card_outputs", type=int, default=20, help="pieces generated for the card's figures")
    parser.add_argument("--init_from", type=Path, help="carry on training this bundle (same sizes)")
    parser.add_argument("--card_only", action="store_true",
                        help="re-evaluate an already trained bundle and rewrite its card")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from generation.models.tf_runtime import use_training_threads  # TensorFlow loads here

    use_training_threads()  # every core for training's batches (inference uses one thread)

    from generation.models.bundle import Bundle, default_bundle_dir
    from generation.models.polyphony.dataset import build_windows, load_jsb, whole_pieces
    from generation.models.polyphony.train import TrainSettings, train

    out = args.output_dir or default_bundle_dir(CONFIG)
    pieces = load_jsb(args.data)
    settings = TrainSettings(steps=args.num_training_steps, max_minutes=args.max_minutes,
                             layer_sizes=tuple(int(u) for u in args.layer_sizes.split(",")),
                             batch_size=args.batch_size, learning_rate=args.learning_rate,
                             eval_every=args.eval_every)
    valid = whole_pieces(pieces["valid"])
    if not args.card_only:
        windows = build_windows(pieces["train"], settings.window_steps, 16, settings.window_events)
        data_info: dict[str, Any] = {
            "dataset": "JSB chorales, 16th-note grid, four voices (Jsb16thSeparated.json)",
            "licence": LICENCE,
            "split": SPLIT,
            "pieces": {k: len(v) for k, v in pieces.items()},
            "train_windows": len(windows.events),
            "train_events": windows.num_events,
            "validation_events": valid.num_events,
            "augmentation": f"a random transposition in {settings.transpose[0]}..+{settings.transpose[1]} "
                            "semitones per window",
            "windows": f"{settings.window_steps} steps (4 bars) from every bar line, re-encoded from START, "
                       f"at most {settings.window_events} events",
        }

        def save(model: Any, history: list[dict[str, float]], final: bool = False) -> None:
            training = {**dataclasses.asdict(settings), "history": history, "finished": final}
            Bundle("polyphony", CONFIG, settings.layer_sizes, 0, model.numpy_weights(),
                   {"data": data_info, "training": training}).save(out)

        init = None
        if args.init_from:
            base = Bundle.load(args.init_from)
            init = base.weights
            earlier = base.info.get("training", {})
            data_info["initialised_from"] = {
                "bundle": str(args.init_from), "steps": (earlier.get("history") or [{}])[-1].get("step", 0),
                "earlier_runs": [*base.info.get("data", {}).get("initialised_from", {}).get("earlier_runs", []),
                                 {k: v for k, v in earlier.items() if k != "history"} | {
                                     "history": earlier.get("history", [])}]}
        start = time.monotonic()
        result = train(windows, valid, settings, on_checkpoint=save, init_from=init)
        save(result.model, result.history, final=True)
        logging.info("trained %d steps in %.0f s", result.steps, time.monotonic() - start)

    write_card_figures(out, valid, args.card_outputs)
    return 0


def write_card_figures(out: Path, valid: Any, card_outputs: int) -> None:
    """Score the stored float16 weights, generate pieces for the quality figures, write bundle.json + card."""
    import numpy as np

    from generation.models.bundle import Bundle
    from generation.models.polyphony.generator import PolyphonyGenerator
    from generation.models.polyphony.model_card import quality_figures, write_card
    from generation.models.polyphony.train import evaluate

    bundle = Bundle.load(out)
    generator = PolyphonyGenerator(bundle)
    nll, acc = evaluate(generator.model, valid)
    info = dict(bundle.info)
    info["parameters"] = int(sum(np.prod(w.shape) for w in bundle.weights.values()))
    info["stored_weights_validation"] = {"nll": nll, "accuracy": acc, "events": valid.num_events}
    info["quality"] = quality_figures(generator, card_outputs)
    Bundle(bundle.family, bundle.config, bundle.layer_sizes, bundle.attn_length, bundle.weights, info).save(out)
    write_card(out, info)
    logging.info("wrote %s", out / "MODEL_CARD.md")


if __name__ == "__main__":
    raise SystemExit(main())
