"""`melody_rnn_generate`: Magenta's Melody RNN command line, with Magenta's flags and defaults, on our models."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from generation.cli.magenta_flags import (
    SAMPLING_LIMITS,
    add_sampling_flags,
    check_ranges,
    choose_primer,
    parse_magenta_args,
    pick_seed,
    prepare_output_dir,
    run_cli,
)
from generation.errors import InputError
from generation.families.melody.config import CONFIGS, MAX_TOTAL_STEPS
from generation.music.primer import parse_primer_melody, read_primer_midi

PROG = "melody_rnn_generate"
DEFAULT_CONFIG = "basic_rnn"
LIMITS = {**SAMPLING_LIMITS, "num_steps": (1, MAX_TOTAL_STEPS)}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Generate melodies that continue a primer (Magenta's melody_rnn_generate, same flags).",
    )
    p.add_argument("--config", default=DEFAULT_CONFIG, choices=list(CONFIGS),
                   help=f"model config (default {DEFAULT_CONFIG}; with --bundle_file, the bundle's own config "
                   "is used)")
    p.add_argument("--bundle_file", type=Path,
                   help="a model folder of ours or a Magenta .mag bundle (default: our model for --config)")
    p.add_argument("--output_dir", type=Path, default=Path("/tmp/melody_rnn/generated"))
    p.add_argument("--num_outputs", type=int, default=10, help="melodies to write, one MIDI file each")
    p.add_argument("--num_steps", type=int, default=128,
                   help="length of each melody in 16th-note steps, the primer included (128 = 8 bars)")
    p.add_argument("--primer_melody", default="",
                   help='melody events, one per 16th note: -2 hold, -1 note off, 0-127 note on, '
                   'e.g. "[60, -2, 60, -2, 67, -2, 67, -2]"')
    p.add_argument("--primer_midi", type=Path, help="a MIDI file whose top line starts the melody")
    p.add_argument("--qpm", type=float, default=None,
                   help="tempo in quarter notes per minute (default: the primer MIDI's, else 120)")
    add_sampling_flags(p, steps_per_iteration_help="melody steps per beam search iteration")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_magenta_args(build_parser(), argv, (), {"config": list(CONFIGS)})
    return run_cli(PROG, run, args)


def run(args: argparse.Namespace) -> int:
    check_ranges(args, LIMITS)
    # Everything the user typed is checked before any model work.
    primer, qpm = choose_primer("--primer_melody", args.primer_melody, args.primer_midi, parse_primer_melody,
                                read_primer_midi, lambda: (60,), "a single middle C (60)", args.qpm)
    if len(primer) >= args.num_steps:
        raise InputError(f"the primer lasts {len(primer)} steps but --num_steps={args.num_steps} includes it: "
                         "raise --num_steps or shorten the primer.")
    qpm = qpm or 120.0
    lo, hi = LIMITS["qpm"]
    if not lo <= qpm <= hi:
        raise InputError(f"the primer MIDI's tempo is {qpm:g} qpm; allowed: {lo:g} to {hi:g} (set --qpm).")
    if args.bundle_file is not None:
        from generation.engine.bundle import bundle_config

        args.config = bundle_config(args.bundle_file)  # the bundle decides, as in Magenta
        if args.config not in CONFIGS:
            raise InputError(f"{args.bundle_file} is a {args.config} bundle, not a Melody RNN "
                             f"({', '.join(CONFIGS)}).")
    else:
        from generation.families.melody.config import installed_model

        installed_model(args.config)  # says how to get a model, before TensorFlow loads
    prepare_output_dir(args.output_dir)
    seed = pick_seed(args.seed)

    from generation.engine.sampling import SearchSettings
    from generation.families.melody.generator import MelodyGenerator  # TensorFlow loads here

    start = time.perf_counter()
    generator = MelodyGenerator.load(args.config, args.bundle_file)
    loaded = time.perf_counter()
    search = SearchSettings(args.temperature, args.beam_size, args.branch_factor, args.steps_per_iteration)
    melodies = generator.generate(primer, args.num_steps, args.num_outputs, search, seed)
    generated = time.perf_counter()
    write_outputs(args, melodies, qpm)
    print(f"{len(melodies)} melodies of {args.num_steps} steps ({args.config}), seed {seed} "
          f"(model load {loaded - start:.2f} s, generation {generated - loaded:.3f} s) -> {args.output_dir}")
    return 0


def write_outputs(args: argparse.Namespace, melodies: list[list[int]], qpm: float) -> None:
    from generation.families.melody.midi import melody_midi
    from generation.render.audio import render_midi

    stamp = datetime.now().strftime("%Y-%m-%d_%H%M%S")
    digits = len(str(len(melodies)))
    for i, melody in enumerate(melodies, 1):
        path = args.output_dir / f"{stamp}_{str(i).zfill(digits)}.mid"
        melody_midi(melody, qpm).write(str(path))
        print(f"wrote {path}")
        if args.audio:
            audio = render_midi(path, path.with_suffix(f".{args.audio}"))
            print(f"wrote {audio}")


if __name__ == "__main__":
    raise SystemExit(main())
