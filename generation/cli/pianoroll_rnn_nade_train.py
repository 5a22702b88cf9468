"""`pianoroll_rnn_nade_train`: train a Pianoroll RNN-NADE config and write its bundle + model card."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generation.models.pianoroll.config import CONFIGS

DEFAULT_DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
JSB_FILE = "jsb_chorales/jsb-chorales-quarter.json"
LICENCES = {
    "jsb_chorales": "JSB chorales (czhuang/JSB-Chorales-dataset, jsb-chorales-quarter.json): no licence file in "
    "the source repo; J.S. Bach's music is public domain; train/valid/test split of Boulanger-Lewandowski, "
    "Bengio & Vincent (ICML 2012)",
    "pop909": "POP909 (music-x-lab/POP909-Dataset): MIT licence (Copyright (c) 2020 Music X Lab)",
}
PUBLISHED_JSB_NLL = 5.19  # RNN-NADE, Boulanger-Lewandowski et al. 2012, nats per time step on the test split


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="pianoroll_rnn_nade_train", description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=list(CONFIGS), required=True)
    p.add_argument("--datasets_dir", type=Path, default=DEFAULT_DATASETS)
    p.add_argument("--output_dir", type=Path, help="bundle folder (default: models/<config>)")
    p.add_argument("--num_training_steps", type=int, default=1500, help="most Adam updates")
    p.add_argument("--max_minutes", type=float, default=0.0, help="stop after this much training time (0: none)")
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--window", type=int, default=0, help="frames per sequence (default: whole JSB pieces; "
                   "128 for POP909)")
    p.add_argument("--layer_sizes", default="", help="e.g. 200,200 (default: the config's)")
    p.add_argument("--nade_hidden", type=int, default=0, help="NADE hidden units (default: the config's)")
    p.add_argument("--learning_rate", type=float, default=0.002)
    p.add_argument("--final_learning_rate", type=float, default=0.0002)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--max_shift", type=int, default=6, help="transposition augmentation, +- semitones")
    p.add_argument("--eval_every", type=int, default=100)
    p.add_argument("--patience", type=int, default=0, help="stop after this many evaluations without progress")
    p.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: TensorFlow decides)")
    p.add_argument("--init_from", type=Path, help="carry on training this bundle (same config and sizes)")
    p.add_argument("--card_only", action="store_true", help="re-score the trained bundle and rewrite its card")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from generation.models.tf_runtime import set_thread_pools, use_training_threads  # TensorFlow loads here

    if args.threads:
        set_thread_pools(args.threads, args.threads)
    else:
        use_training_threads()  # every core for training's batches (inference uses one thread)
    from generation.models.bundle import Bundle, default_bundle_dir
    from generation.models.pianoroll.model_card import score_bundle, write_card
    from generation.models.pianoroll.train import TrainSettings, train

    config = CONFIGS[args.config]
    if args.layer_sizes:
        config = dataclasses.replace(config, layer_sizes=tuple(int(u) for u in args.layer_sizes.split(",")))
    if args.nade_hidden:
        config = dataclasses.replace(config, nade_hidden=args.nade_hidden)
    out = args.output_dir or default_bundle_dir(config.name)
    splits, data_info, eval_window, eval_chunks = _data(config.name, args.datasets_dir)
    window = args.window or (4096 if config.name == "rnn-nade-bach" else 128)
    settings = TrainSettings(steps=args.num_training_steps, batch_size=args.batch_size, window=window,
                             learning_rate=args.learning_rate, final_learning_rate=args.final_learning_rate,
                             dropout=args.dropout, max_shift=args.max_shift, eval_every=args.eval_every,
                             patience=args.patience, max_minutes=args.max_minutes)

    def save(model: Any, history: list[dict[str, float]], final: bool = False) -> None:
        best = min(history, key=lambda h: h["valid_nll"])
        info = {"nade_hidden": config.nade_hidden, "steps_per_quarter": config.steps_per_quarter, "data": data_info,
                "training": {**dataclasses.asdict(settings), "history": history, "best_step": best["step"],
                             "steps_run": history[-1]["step"], "finished": final}}
        Bundle("pianoroll", config.name, config.layer_sizes, 0, model.numpy_weights(), info).save(out)

    init = None
    if args.init_from:
        base = Bundle.load(args.init_from)
        config = dataclasses.replace(config, layer_sizes=base.layer_sizes, nade_hidden=int(base.info["nade_hidden"]))
        init = base.weights
        data_info["initialised_from"] = _earlier_run(args.init_from)
    if not args.card_only:
        start = time.monotonic()
        result = train(config.layer_sizes, config.nade_hidden, splits["train"], splits["valid"], settings,
                       eval_window=eval_window, eval_chunks=eval_chunks, on_checkpoint=save, init_from=init)
        save(result.model, result.history, final=True)
        logging.info("trained %s in %.0f s; best validation at step %d", config.name, time.monotonic() - start,
                     result.best_step)
    bundle = Bundle.load(out)
    info = dict(bundle.info)
    earlier = info["data"].get("initialised_from")
    if earlier and "earlier" not in earlier and Path(earlier["bundle"]).is_dir():
        info["data"]["initialised_from"] = _earlier_run(Path(earlier["bundle"]))  # runs recorded before chains
    info.update(score_bundle(bundle, splits, eval_window, eval_chunks))
    info["published_jsb_test_nll"] = PUBLISHED_JSB_NLL
    Bundle(bundle.family, bundle.config, bundle.layer_sizes, 0, bundle.weights, info).save(out)
    write_card(out, config, info)
    logging.info("wrote %s", out / "MODEL_CARD.md")
    return 0


def _earlier_run(folder: Path) -> dict[str, Any]:
    """What the bundle a run starts from went through: its curve and settings, and the runs before it."""
    import json

    info = json.loads((folder / "bundle.json").read_text())["info"]
    training = info.get("training", {})
    settings = {k: training.get(k) for k in ("batch_size", "learning_rate", "final_learning_rate", "dropout",
                                              "steps", "max_shift")}
    return {"bundle": str(folder), "steps_run": training.get("steps_run", 0), "best_step": training.get("best_step", 0),
            "history": training.get("history", []), "settings": settings,
            "earlier": info.get("data", {}).get("initialised_from")}


def _data(config: str, datasets: Path) -> tuple[dict[str, list[Any]], dict[str, Any], int, int]:
    """The splits, what to say about them, and how validation is chunked (window, chunks per piece)."""
    from generation.models.pianoroll.dataset import is_pop909_validation, load_jsb, load_pop909

    if config == "rnn-nade-bach":
        path = datasets / JSB_FILE
        splits = {s: load_jsb(path, s) for s in ("train", "valid", "test")}
        info = {"datasets": {"jsb_chorales": {"pieces": sum(len(v) for v in splits.values()),
                                              "licence": LICENCES["jsb_chorales"]}},
                "split": "the standard BL-2012 split of jsb-chorales-quarter.json (test never used to train or "
                         "select)", "resolution": "one frame per quarter note",
                "frames": {s: int(sum(len(r) for r in v)) for s, v in splits.items()}}
        return splits, info, 4096, 1
    rolls = load_pop909(datasets / "pop909", 4, cache=Path("/tmp/tunesmith_pop909_rolls.npz"))
    splits = {"train": [r for k, r in sorted(rolls.items()) if not is_pop909_validation(k)],
              "valid": [r for k, r in sorted(rolls.items()) if is_pop909_validation(k)]}
    info = {"datasets": {"pop909": {"pieces": len(rolls), "licence": LICENCES["pop909"]}},
            "split": "every 20th song (001, 021, ...) held out for validation",
            "resolution": "one frame per 16th note; MELODY, BRIDGE and PIANO tracks merged into one roll",
            "frames": {s: int(sum(len(r) for r in v)) for s, v in splits.items()},
            "validation_scoring": "the first 4 chunks of 256 frames of each held-out song, each from the zero state"}
    return splits, info, 256, 4


if __name__ == "__main__":
    raise SystemExit(main())
