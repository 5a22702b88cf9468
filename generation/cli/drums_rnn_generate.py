"""`drums_rnn_generate`: Magenta's Drums RNN command line, with Magenta's flags and defaults, on our models."""

from __future__ import annotations

import argparse
import sys
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
from generation.families.drums.config import CONFIGS, MAX_TOTAL_STEPS, STYLE_CONTROLS

PROG = "drums_rnn_generate"
DEFAULT_PRIMER = "[(36,)]"  # Magenta's: a single bass drum hit


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Generate drum tracks (Magenta's drums_rnn_generate, same flags). Drums are written on "
        "MIDI channel 10, the General MIDI kit.",
    )
    p.add_argument("--config", default="drum_kit", choices=list(CONFIGS),
                   help="model config (with --bundle_file, the bundle's own config is used)")
    p.add_argument("--bundle_file", type=Path,
                   help="a Magenta .mag bundle or a model folder of ours (default: our model for --config)")
    p.add_argument("--output_dir", type=Path, default=Path("/tmp/drums_rnn/generated"))
    p.add_argument("--num_outputs", type=int, default=10)
    p.add_argument("--num_steps", type=int, default=128,
                   help="length of each track in 16th notes, primer included (16 = one bar of 4/4)")
    p.add_argument("--primer_drums", default="",
                   help='drum pitches struck at each 16th step, e.g. "[(36, 42), (), (42,), ()]" '
                   f"(default: {DEFAULT_PRIMER}, one bass drum hit)")
    p.add_argument("--primer_midi", type=Path, help="a MIDI file whose drums start the track")
    p.add_argument("--qpm", type=float, default=None,
                   help="tempo in quarter notes per minute (default: the primer MIDI's, else 120)")
    p.add_argument("--style", choices=STYLE_CONTROLS,
                   help="the style to play (configs with a style control: "
                   + ", ".join(n for n, c in CONFIGS.items() if c.styles) + ")")
    add_sampling_flags(p)
    return p


LIMITS = {**SAMPLING_LIMITS, "num_steps": (1, MAX_TOTAL_STEPS)}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_magenta_args(build_parser(), argv, (), {"config": list(CONFIGS), "style": STYLE_CONTROLS})
    return run_cli(PROG, run, args)


def run(args: argparse.Namespace) -> int:
    from generation.families.drums.encoding import unknown_pitches
    from generation.families.drums.midi import parse_primer_drums, read_primer_drum_midi

    check_ranges(args, LIMITS)
    # Everything the user typed is checked before any model work.
    primer, qpm = choose_primer("--primer_drums", args.primer_drums, args.primer_midi, parse_primer_drums,
                                read_primer_drum_midi, lambda: parse_primer_drums(DEFAULT_PRIMER),
                                f"a single bass drum hit {DEFAULT_PRIMER}", args.qpm)
    qpm = qpm or 120.0
    lo, hi = LIMITS["qpm"]
    if not lo <= qpm <= hi:
        raise InputError(f"the primer MIDI's tempo is {qpm:g} qpm; allowed: {lo:g} to {hi:g} (set --qpm).")
    if len(primer) >= args.num_steps:
        raise InputError(f"the primer is {len(primer)} steps long and --num_steps={args.num_steps}: the track "
                         "must be longer than its primer.")
    unknown = unknown_pitches(primer)
    if unknown:
        print(f"warning: primer pitches {', '.join(map(str, unknown))} are not General MIDI drums the model "
              "knows; they stay in the output but the model does not hear them", file=sys.stderr)
    if args.bundle_file is not None:
        from generation.engine.bundle import bundle_config

        args.config = bundle_config(args.bundle_file)  # the bundle decides, as in Magenta
        if args.config not in CONFIGS:
            raise InputError(f"{args.bundle_file} is a {args.config} bundle, not a Drums RNN "
                             f"({', '.join(CONFIGS)}).")
    else:
        from generation.families.drums.config import installed_model

        installed_model(args.config)  # says so before TensorFlow loads
    styles = CONFIGS[args.config].styles
    if args.style and not styles:
        raise InputError(f"{args.config} has no style control; use a config with one "
                         f"({', '.join(n for n, c in CONFIGS.items() if c.styles)}).")
    if styles and not args.style:
        raise InputError(f"{args.config} plays a style: add --style, one of {', '.join(styles)}.")
    prepare_output_dir(args.output_dir)
    seed = pick_seed(args.seed)

    from generation.engine.sampling import SearchSettings
    from generation.families.drums.generator import DrumsGenerator  # TensorFlow loads here

    start = time.perf_counter()
    generator = DrumsGenerator.load(args.bundle_file if args.bundle_file is not None else args.config)
    loaded = time.perf_counter()
    search = SearchSettings(args.temperature, args.beam_size, args.branch_factor, args.steps_per_iteration)
    tracks = generator.generate(primer, args.num_steps, args.num_outputs, search, seed, args.style, qpm)
    generated = time.perf_counter()
    write_outputs(args, tracks, qpm)
    print(f"{len(tracks)} drum tracks of {args.num_steps} steps ({args.num_steps / 16:g} bars) at {qpm:g} qpm, "
          f"seed {seed} (model load {loaded - start:.2f} s, generation {generated - loaded:.3f} s) -> "
          f"{args.output_dir}")
    return 0


def write_outputs(args: argparse.Namespace, tracks: Sequence[Sequence[frozenset[int]]], qpm: float) -> None:
    from generation.families.drums.midi import drums_midi
    from generation.render.audio import render_midi

    stamp = datetime.now().strftime("%Y-%m-%d_%H%M%S")
    digits = len(str(len(tracks)))
    for i, track in enumerate(tracks, 1):
        path = args.output_dir / f"{stamp}_{str(i).zfill(digits)}.mid"
        drums_midi(track, qpm).write(str(path))
        print(f"wrote {path}")
        if args.audio:
            audio = render_midi(path, path.with_suffix(f".{args.audio}"))
            print(f"wrote {audio}")


if __name__ == "__main__":
    raise SystemExit(main())
