"""`performance_rnn_train`: train a Performance RNN config on ASAP performances; write its bundle + model card."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generation.models.performance.config import CONFIGS

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
    parser.add_argument("--output_dir", type=Path, help="bundle folder (default: models/<config>)")
    parser.add_argument("--num_training_steps", type=int, default=1000)
    parser.add_argument("--time_limit_minutes", type=float, default=0.0, help="stop at an evaluation after this")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--window", type=int, default=200, help="events per training window")
    parser.add_argument("--layer_sizes", default="", help="e.g. 256,256 (default: the config's)")
    parser.add_argument("--learning_rate", type=float, default=0.003)
    parser.add_argument("--eval_every", type=int, default=100)
    parser.add_argument("--init_from", type=Path,
                        help="start from a trained bundle of any performance config (e.g. "
                        "models/performance_with_dynamics): control rows start at zero, vocabularies are mapped")
    parser.add_argument("--card_only", action="store_true", help="re-score the trained bundle and rewrite its card")
    parser.add_argument("--eval_outputs", type=int, default=4, help="outputs per control request for the card")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from generation.models.tf_runtime import use_training_threads  # TensorFlow loads here

    use_training_threads()  # every core for training's batches (inference uses one thread)

    from generation.models.bundle import Bundle, default_bundle_dir
    from generation.models.performance.dataset import Corpus, drop_velocity, is_validation, load_asap
    from generation.models.performance.train import TrainSettings, evaluate, initial_weights, train

    config = CONFIGS[args.config]
    if args.layer_sizes:
        config = dataclasses.replace(config, layer_sizes=tuple(int(u) for u in args.layer_sizes.split(",")))
    out = args.output_dir or default_bundle_dir(config.name)
    pieces = load_asap(args.datasets_dir / "asap", args.performances_per_piece, args.cache)

    def sequences(valid: bool) -> list[Any]:
        seqs = [s for piece, group in pieces.items() if is_validation(piece) == valid for s in group]
        return [drop_velocity(s) for s in seqs] if not config.num_velocity_bins else seqs

    train_corpus, valid_corpus = Corpus(config, sequences(False)), Corpus(config, sequences(True))
    settings = TrainSettings(steps=args.num_training_steps, batch_size=args.batch_size, window=args.window,
                             learning_rate=args.learning_rate, eval_every=args.eval_every,
                             time_limit_s=args.time_limit_minutes * 60)
    data_info: dict[str, Any] = {
        "dataset": "asap", "licence": LICENCE,
        "pieces": len(pieces), "performances": sum(len(g) for g in pieces.values()),
        "performances_per_piece": args.performances_per_piece,
        "train_pieces": sum(not is_validation(p) for p in pieces),
        "validation_pieces": sum(is_validation(p) for p in pieces),
        "split": "about 10% of pieces held out by a hash of the piece folder (every performance of a piece on "
                 "one side)",
        "augmentation": f"transposition by up to +-{settings.transpose} semitones per window (as Magenta); no "
                        "time stretch",
        "train_events": train_corpus.num_events, "validation_events": valid_corpus.num_events,
    }
    if not args.card_only:
        init = None
        if args.init_from:
            base = Bundle.load(args.init_from)
            init = initial_weights(config, CONFIGS[base.config], base.weights)
            steps_before = base.info.get("training", {}).get("steps", 0)
            data_info["initialised_from"] = f"{base.config} ({steps_before} steps, {args.init_from})"
            if base.config == config.name:  # carrying on: keep the earlier runs' summaries for the card
                earlier = base.info.get("data", {}).get("earlier_runs", [])
                training = base.info.get("training", {})
                last = training.get("history", [{}])[-1]
                data_info["earlier_runs"] = [*earlier, {"steps": steps_before, "minutes": last.get("seconds", 0) / 60,
                                                        "valid_nll": last.get("valid_nll"),
                                                        "valid_accuracy": last.get("valid_accuracy")}]
            if tuple(base.layer_sizes) != config.layer_sizes:
                config = dataclasses.replace(config, layer_sizes=tuple(base.layer_sizes))
                train_corpus.config = valid_corpus.config = config

        def save(model: Any, history: list[dict[str, float]], final: bool = False) -> None:
            info = {"data": data_info, "training": {**dataclasses.asdict(settings), "history": history,
                                                    "steps": history[-1]["step"] if history else 0,
                                                    "finished": final}}
            Bundle("performance", config.name, config.layer_sizes, 0, model.numpy_weights(), info).save(out)

        if init is not None:
            from generation.models.rnn import EventRnn

            start_model = EventRnn(config.input_size, config.num_classes, config.layer_sizes, weights=init)
            nll0, acc0 = evaluate(start_model, valid_corpus, valid_corpus.fixed_windows(settings.window, 160),
                                  settings.window)
            data_info["validation_at_start"] = {"nll": nll0, "accuracy": acc0}
            logging.info("starting from %s: validation %.4f nats/event, accuracy %.3f", args.init_from, nll0, acc0)
        start = time.monotonic()
        result = train(config, train_corpus, valid_corpus, settings, on_checkpoint=save, init_from=init)
        save(result.model, result.history, final=True)
        logging.info("trained %s in %.0f s", config.name, time.monotonic() - start)

    from generation.models.performance.generator import PerformanceGenerator
    from generation.models.performance.model_card import write_card
    from generation.quality.performance_controls import control_figures

    bundle = Bundle.load(out)
    generator = PerformanceGenerator(bundle)
    # The stored weights are float16: score exactly what ships on the held-out pieces.
    nll, acc = evaluate(generator.model, valid_corpus, valid_corpus.fixed_windows(settings.window, 160),
                        settings.window)
    info = dict(bundle.info)
    info["data"] = {**data_info, **{k: v for k, v in info.get("data", {}).items() if k not in data_info}}
    info["parameters"] = int(sum(w.size for w in bundle.weights.values()))
    info["stored_weights_validation"] = {"nll": nll, "accuracy": acc, "windows": 160, "window": settings.window}
    logging.info("stored weights: validation %.4f nats/event, accuracy %.3f", nll, acc)
    info["controls"] = control_figures(generator, outputs=args.eval_outputs)
    Bundle(bundle.family, bundle.config, bundle.layer_sizes, 0, bundle.weights, info).save(out)
    write_card(out, config, info)
    logging.info("wrote %s", out / "MODEL_CARD.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
