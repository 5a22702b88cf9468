"""`pianoroll_rnn_nade_train`: train a Pianoroll RNN-NADE config and write its bundle + model card."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generation.cli.train_flags import add_loop_flags, start_training
from generation.families.pianoroll.config import CONFIGS

DEFAULT_DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
JSB_FILE = "jsb_chorales/jsb-chorales-quarter.json"
LICENCES = {
    "jsb_chorales": "JSB chorales (czhuang/JSB-Chorales-dataset, jsb-chorales-quarter.json): no licence file in "
    "the source repo; J.S. Bach's music is public domain; train/valid/test split of Boulanger-Lewandowski, "
    "Bengio & Vincent (ICML 2012)",
    "pop909": "POP909 (music-x-lab/POP909-Dataset): MIT licence (Copyright (c) 2020 Music X Lab)",
}
POP909_CACHE = Path("/tmp/tunesmith_pop909_rolls.npz")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="pianoroll_rnn_nade_train", description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=list(CONFIGS), required=True)
    p.add_argument("--datasets_dir", type=Path, default=DEFAULT_DATASETS)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--window", type=int, default=0, help="frames per sequence (default: whole JSB pieces; "
                   "128 for POP909)")
    p.add_argument("--layer_sizes", default="", help="e.g. 200,200 (default: the config's)")
    p.add_argument("--nade_hidden", type=int, default=0, help="NADE hidden units (default: the config's)")
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--max_shift", type=int, default=6, help="transposition augmentation, +- semitones")
    p.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: TensorFlow decides)")
    p.add_argument("--pop909_cache", type=Path, default=POP909_CACHE, help="where POP909's rolls are cached")
    p.add_argument("--quality_samples", type=int, default=100,
                   help="chorales generated for the card's quality report rows (JSB configs; default: the report's "
                   "100)")
    add_loop_flags(p, steps=1500, learning_rate=0.002, final_learning_rate=0.0002, eval_every=100,
                   init_help="carry on training this bundle (same config; its sizes win)")
    args = p.parse_args(argv)
    settings = start_training(args)  # TensorFlow loads here

    from generation.engine.bundle import default_bundle_dir
    from generation.engine.training import run
    from generation.errors import InputError
    from generation.families.pianoroll.train import PianorollSettings, PianorollTrainer

    config = CONFIGS[args.config]
    if args.layer_sizes:
        config = dataclasses.replace(config, layer_sizes=tuple(int(u) for u in args.layer_sizes.split(",")))
    if args.nade_hidden:
        config = dataclasses.replace(config, nade_hidden=args.nade_hidden)
    splits, data_info, eval_window, eval_chunks = _data(config.name, args.datasets_dir, args.pop909_cache)
    options = PianorollSettings(batch_size=args.batch_size, window=args.window or (
        4096 if config.name == "rnn-nade-bach" else 128), dropout=args.dropout, max_shift=args.max_shift,
        eval_window=eval_window, eval_chunks=eval_chunks, quality_samples=args.quality_samples)
    trainer = PianorollTrainer(config, splits, data_info, options)
    try:
        run(trainer, settings, args.output_dir or default_bundle_dir(config.name), args.init_from, args.card_only)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    return 0


def _data(config: str, datasets: Path, cache: Path) -> tuple[dict[str, list[Any]], dict[str, Any], int, int]:
    """The splits, what to say about them, and how validation is chunked (window, chunks per piece)."""
    from generation.families.pianoroll.dataset import is_pop909_validation, load_jsb, load_pop909

    if config == "rnn-nade-bach":
        path = datasets / JSB_FILE
        if not path.is_file():
            raise SystemExit(f"error: no JSB chorales at {path}; pass --datasets_dir")
        splits = {s: load_jsb(path, s) for s in ("train", "valid", "test")}
        info = {"datasets": {"jsb_chorales": {"pieces": sum(len(v) for v in splits.values()),
                                              "licence": LICENCES["jsb_chorales"]}},
                "split": "the standard BL-2012 split of jsb-chorales-quarter.json (test never used to train or "
                         "select)", "resolution": "one frame per quarter note",
                "frames": {s: int(sum(len(r) for r in v)) for s, v in splits.items()}}
        return splits, info, 4096, 1
    if not (datasets / "pop909" / "POP909").is_dir():
        raise SystemExit(f"error: no POP909 under {datasets / 'pop909'}; pass --datasets_dir")
    rolls = load_pop909(datasets / "pop909", 4, cache=cache)
    splits = {"train": [r for k, r in sorted(rolls.items()) if not is_pop909_validation(k)],
              "valid": [r for k, r in sorted(rolls.items()) if is_pop909_validation(k)]}
    if not splits["train"] or not splits["valid"]:
        raise SystemExit(f"error: POP909 under {datasets} gives {len(splits['train'])} training and "
                         f"{len(splits['valid'])} held-out songs; both are needed")
    info = {"datasets": {"pop909": {"pieces": len(rolls), "licence": LICENCES["pop909"]}},
            "split": "every 20th song (001, 021, ...) held out for validation",
            "resolution": "one frame per 16th note; MELODY, BRIDGE and PIANO tracks merged into one roll",
            "frames": {s: int(sum(len(r) for r in v)) for s, v in splits.items()},
            "validation_scoring": "the first 4 chunks of 256 frames of each held-out song, each from the zero state"}
    return splits, info, 256, 4


if __name__ == "__main__":
    raise SystemExit(main())
