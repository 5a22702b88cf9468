"""`improv_rnn_train`: train an Improv RNN config on the project's lead sheets and write its bundle + model card."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generation.models.improv.config import CONFIGS

DEFAULT_DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
LICENCES = {
    "nottingham": "Nottingham Music Database (jukedeck/nottingham-dataset, cleaned ABC): GPL-3.0",
    "openewld": "OpenEWLD (00sapo/OpenEWLD, public-domain subset of Wikifonia): MIT licence, public-domain songs",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="improv_rnn_train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=list(CONFIGS), required=True)
    parser.add_argument("--datasets_dir", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--output_dir", type=Path, help="bundle folder (default: models/<config>)")
    parser.add_argument("--num_training_steps", type=int, default=3000)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--layer_sizes", default="", help="e.g. 128,128 (default: the config's)")
    parser.add_argument("--learning_rate", type=float, default=0.005)
    parser.add_argument("--eval_every", type=int, default=250)
    parser.add_argument("--eval_outputs", type=int, default=100,
                        help="melodies per progression for the card (5 progressions)")
    parser.add_argument("--init_from", type=Path,
                        help="start from a trained bundle: the same config's (carry on training), or for an "
                        "attention config a plain one of the same sizes (e.g. models/basic_improv), which it "
                        "begins as before learning to use attention")
    parser.add_argument("--card_only", action="store_true",
                        help="re-evaluate an already trained bundle and rewrite its card")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from generation.models.tf_runtime import use_training_threads  # TensorFlow loads here

    use_training_threads()  # every core for training's batches (inference uses one thread)

    import dataclasses

    import numpy as np

    from generation.data.nottingham import load_nottingham
    from generation.data.openewld import load_openewld
    from generation.models.bundle import Bundle, default_bundle_dir
    from generation.models.improv.dataset import build_corpus, is_validation
    from generation.models.improv.generator import ImprovGenerator
    from generation.models.improv.model_card import write_card
    from generation.models.improv.train import TrainSettings, evaluate, train
    from generation.quality.improv_report import evaluate_generator, human_reference

    config = CONFIGS[args.config]
    if args.layer_sizes:
        config = dataclasses.replace(config, layer_sizes=tuple(int(u) for u in args.layer_sizes.split(",")))
    out = args.output_dir or default_bundle_dir(config.name)
    sheets = {
        "nottingham": load_nottingham(args.datasets_dir / "nottingham" / "ABC_cleaned"),
        "openewld": load_openewld(args.datasets_dir / "openewld" / "dataset"),
    }
    all_sheets = [s for group in sheets.values() for s in group]
    train_sheets = [s for s in all_sheets if not is_validation(s.name)]
    valid_sheets = [s for s in all_sheets if is_validation(s.name)]
    settings = TrainSettings(steps=args.num_training_steps, batch_size=args.batch_size,
                             learning_rate=args.learning_rate, eval_every=args.eval_every)
    data_info = {
        "datasets": {k: {"pieces": len(v), "licence": LICENCES[k]} for k, v in sheets.items()},
        "train_pieces": len(train_sheets),
        "validation_pieces": len(valid_sheets),
        "split": "10% of pieces held out by a hash of the piece name",
        "augmentation": "all 12 transpositions (-5..+6 semitones), octave-fitted into the model's range",
    }

    if not args.card_only:
        train_corpus = build_corpus(train_sheets, config, transpositions=range(-5, 7))
        valid_corpus = build_corpus(valid_sheets, config)
        data_info.update(train_steps=train_corpus.num_steps, validation_steps=valid_corpus.num_steps,
                         corpus_notes={k: v for k, v in train_corpus.stats.items()})

        def save(model: Any, history: list[dict[str, float]], final: bool = False) -> None:
            info = {"data": data_info, "training": {**dataclasses.asdict(settings), "history": history,
                                                    "finished": final}}
            Bundle("improv", config.name, config.layer_sizes, config.attn_length, model.numpy_weights(),
                   info).save(out)

        start = time.monotonic()
        init = None
        if args.init_from:
            base = Bundle.load(args.init_from)
            init = base.weights
            steps_before = base.info.get("training", {}).get("steps", 0)
            data_info["initialised_from"] = f"{base.config} ({steps_before} steps, {args.init_from})"
            start_model = (_start(config, init) if base.config != config.name else
                           ImprovGenerator(base).model)
            nll0, acc0 = evaluate(start_model, valid_corpus, valid_corpus.windows(settings.window),
                                  settings.window)
            data_info["validation_at_start"] = {"nll": nll0, "accuracy": acc0}
            logging.info("starting from %s: validation %.4f nats/step", base.config, nll0)
        result = train(config, train_corpus, valid_corpus, settings, on_checkpoint=save, init_from=init)
        save(result.model, result.history, final=True)
        logging.info("trained %s in %.0f s", config.name, time.monotonic() - start)

    bundle = Bundle.load(out)
    generator = ImprovGenerator(bundle)
    # The stored weights are float16: score exactly what ships on the held-out pieces.
    valid_corpus = build_corpus(valid_sheets, config)
    stored_nll, stored_acc = evaluate(generator.model, valid_corpus, valid_corpus.windows(settings.window),
                                      settings.window)
    quality = {
        f"temperature_{t}": evaluate_generator(generator, args.eval_outputs, t, seed=7) for t in (1.0, 0.8)
    }
    human = {
        "nottingham": human_reference(sheets["nottingham"]),
        "openewld_4_4": human_reference(sheets["openewld"], four_four_only=True),
        "validation_pieces": human_reference(valid_sheets),
    }
    info = dict(bundle.info)
    info["quality"] = quality
    info["human"] = human
    info["parameters"] = int(sum(np.prod(w.shape) for w in bundle.weights.values()))
    info["stored_weights_validation"] = {"nll": stored_nll, "accuracy": stored_acc,
                                         "steps": valid_corpus.num_steps}
    Bundle(bundle.family, bundle.config, bundle.layer_sizes, bundle.attn_length, bundle.weights, info).save(out)
    write_card(out, config, info)
    logging.info("wrote %s", out / "MODEL_CARD.md")
    return 0


def _start(config: Any, weights: dict[str, Any]) -> Any:
    """The attention model as it starts from plain weights (for the card's starting figure)."""
    from generation.models.rnn import EventRnn, attention_from_plain

    model = EventRnn(config.input_size, config.num_classes, config.layer_sizes, config.attn_length)
    attention_from_plain(weights, model)
    return model


if __name__ == "__main__":
    raise SystemExit(main())
