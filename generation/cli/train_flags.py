"""Flags every `*_train` command shares (the shared training loop's), and Magenta's --hparams string.

No TensorFlow here: `--help` must answer before any model library loads.
"""

from __future__ import annotations

import argparse
import ast
import logging
from pathlib import Path
from typing import Any


def add_loop_flags(p: argparse.ArgumentParser, *, steps: int, learning_rate: float | None,
                   final_learning_rate: float | None, eval_every: int, clip_norm: float | None = 5.0,
                   warmup_steps: int = 0,
                   init_help: str = "carry on training a bundle folder of the same config and sizes") -> None:
    """The loop's flags with this command's defaults, and --output_dir, --init_from, --card_only, --seed.

    A default of None is the config's, filled in by the command before `start_training`.
    """
    p.add_argument("--output_dir", type=Path, help="bundle folder (default: models/<config>)")
    p.add_argument("--num_training_steps", type=int, default=steps, help="most Adam updates")
    p.add_argument("--max_minutes", type=float, default=0.0,
                   help="stop training after this many minutes and still write the bundle and card (0: no limit)")
    p.add_argument("--learning_rate", type=float, default=learning_rate, help="peak learning rate")
    p.add_argument("--final_learning_rate", type=float, default=final_learning_rate,
                   help="where the cosine schedule ends")
    p.add_argument("--warmup_steps", type=int, default=warmup_steps, help="linear warm-up before the cosine decay")
    p.add_argument("--clip_norm", type=float, default=clip_norm, help="gradient clipping by global norm")
    p.add_argument("--eval_every", type=int, default=eval_every, help="validation every this many steps")
    p.add_argument("--patience", type=int, default=0, help="stop after this many validations without progress")
    p.add_argument("--seed", type=int, default=1, help="for batches, dropout and the first weights")
    p.add_argument("--init_from", type=Path, help=init_help)
    p.add_argument("--card_only", action="store_true", help="re-score the trained bundle and rewrite its card")


def start_training(args: argparse.Namespace) -> Any:
    """Logging, TensorFlow's training thread pools, and the loop's settings from the flags (TensorFlow loads)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from generation.engine.tf_runtime import set_thread_pools, use_training_threads

    threads = getattr(args, "threads", 0)  # a command may offer --threads
    # A --card_only run only scores: it keeps inference's pools, as the quality report does, so that the card's
    # samples are the report's own (other pools sum in another order, and a 3000-step sample drifts from there).
    if threads:
        set_thread_pools(threads, threads)
    elif not getattr(args, "card_only", False):
        use_training_threads()  # every core for training's batches (inference uses one thread)
    from generation.engine.training import LoopSettings

    try:
        return LoopSettings(steps=args.num_training_steps, learning_rate=args.learning_rate,
                            final_learning_rate=args.final_learning_rate, warmup_steps=args.warmup_steps,
                            clip_norm=args.clip_norm, eval_every=args.eval_every, max_minutes=args.max_minutes,
                            patience=args.patience, seed=args.seed)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None


def parse_hparams(text: str, allowed: dict[str, type]) -> dict[str, Any]:
    """Magenta's --hparams string, e.g. "batch_size=64,rnn_layer_sizes=[128,128]", into checked values.

    Raises:
        argparse.ArgumentTypeError: an unknown name or a value of the wrong kind, saying what is allowed.
    """
    out: dict[str, Any] = {}
    parts, current, depth = [], "", 0
    for ch in text:  # split on commas outside brackets
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (ch == "[") - (ch == "]")
        current += ch
    parts.append(current)
    for part in filter(None, (p.strip() for p in parts)):
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or name not in allowed:
            raise argparse.ArgumentTypeError(f"--hparams: {part!r} is not name=value with a name from "
                                             f"{', '.join(sorted(allowed))}")
        try:
            parsed = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise argparse.ArgumentTypeError(f"--hparams: {name} takes a number or a list, not {value!r}") from None
        kind = allowed[name]
        if kind is list:
            ok = isinstance(parsed, list) and parsed and all(isinstance(u, int) and u > 0 for u in parsed)
            parsed = [int(u) for u in parsed] if ok else parsed
        elif kind is float:
            ok = isinstance(parsed, (int, float)) and not isinstance(parsed, bool)
            parsed = float(parsed) if ok else parsed
        else:
            ok = isinstance(parsed, int) and not isinstance(parsed, bool)
        if not ok:
            what = "a list of positive whole numbers" if kind is list else f"a {kind.__name__}"
            raise argparse.ArgumentTypeError(f"--hparams: {name} takes {what}, not {value.strip()!r}")
        out[name] = parsed
    return out
