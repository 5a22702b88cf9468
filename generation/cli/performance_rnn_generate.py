"""`performance_rnn_generate`: Magenta's Performance RNN command line, same flags and defaults, on our models."""

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
    parse_magenta_args,
    pick_seed,
    prepare_output_dir,
    run_cli,
)
from generation.errors import InputError
from generation.families.performance.config import CONFIGS

BOOL_FLAGS = ("disable_conditioning",)
STEERING_HELP = ("Besides the model's conditioning input, note-on choices are steered at sampling time towards "
                 "the request (running density and pitch-class error over the control window).")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="performance_rnn_generate",
        description="Generate expressive piano performances (Magenta's performance_rnn_generate, same flags).",
    )
    p.add_argument("--config", default="performance", choices=list(CONFIGS),
                   help="model config (with --bundle_file, the bundle's own config is used)")
    p.add_argument("--bundle_file", type=Path,
                   help="a model folder of ours or a Magenta .mag bundle of one of the six configs (default: our "
                   "model for --config)")
    p.add_argument("--output_dir", type=Path, default=Path("/tmp/performance_rnn/generated"))
    p.add_argument("--num_outputs", type=int, default=10)
    p.add_argument("--num_steps", type=int, default=3000,
                   help="length of each output in 10 ms time steps, primer included: 3000 = 30 s. These are "
                   "steps of time, not notes (lecture slides call them notes): how many notes fit depends on the music")
    p.add_argument("--primer_pitches", default="",
                   help='MIDI pitches sounding together for 0.5 s at the start, e.g. "[60, 64, 67]"')
    p.add_argument("--primer_melody", default="",
                   help='melody events, one per 16th note at 120 qpm: -2 hold, -1 note off, 0-127 note on, '
                   'e.g. "[60, -2, 60, -2, 67, -2, 67, -2]"')
    p.add_argument("--primer_midi", type=Path, help="a MIDI file to start from (all its notes, from time 0)")
    p.add_argument("--notes_per_second", type=float, default=None,
                   help="requested note density (density_conditioned_ and multiconditioned_ configs). "
                   + STEERING_HELP)
    p.add_argument("--pitch_class_histogram", default=None,
                   help='requested relative frequency of the 12 pitch classes from C, e.g. '
                   '"[2,0,0,0,1,0,0,1,0,0,0,1]" (pitch_conditioned_ and multiconditioned_ configs). '
                   + STEERING_HELP)
    p.add_argument("--disable_conditioning", action="store_true",
                   help="Magenta's optional_multiconditioned_performance_with_dynamics only (not shipped here): switch "
                   "its conditioning off; our six configs warn and ignore it")
    add_sampling_flags(p, "events per beam-search iteration")
    return p


LIMITS = {  # flag: (lowest, highest) allowed
    **SAMPLING_LIMITS,
    "num_steps": (1, 30000),
    "beam_size": (1, 16),
    "branch_factor": (1, 16),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_magenta_args(build_parser(), argv, BOOL_FLAGS, {"config": list(CONFIGS)})
    return run_cli("performance_rnn_generate", run, args)


def run(args: argparse.Namespace) -> int:
    from generation.families.performance.generator import check_controls
    from generation.families.performance.primer import melody_primer, midi_primer, parse_histogram, pitches_primer
    from generation.music.primer import parse_primer_melody, parse_primer_pitches

    check_ranges(args, LIMITS)
    # Everything the user typed is checked before any model work.
    histogram = parse_histogram(args.pitch_class_histogram) if args.pitch_class_histogram is not None else None
    check_controls(args.notes_per_second, histogram)
    primer_end = None
    given = [f for f in ("primer_pitches", "primer_melody", "primer_midi") if getattr(args, f)]
    if len(given) > 1:
        print(f"warning: {' and '.join('--' + g for g in given)} given; using --{given[0]} (as Magenta)",
              file=sys.stderr)
    if args.primer_pitches:
        primer = pitches_primer(parse_primer_pitches(args.primer_pitches))
    elif args.primer_melody:
        primer, primer_end = melody_primer(parse_primer_melody(args.primer_melody))
    elif args.primer_midi:
        primer = midi_primer(args.primer_midi, args.num_steps)
    else:
        print("warning: no primer given; starting from silence, as Magenta does", file=sys.stderr)
        primer = []
    prepare_output_dir(args.output_dir)
    seed = pick_seed(args.seed)
    from generation.engine.bundle import bundle_config

    if args.bundle_file is not None:
        args.config = bundle_config(args.bundle_file)  # the bundle decides, as in Magenta
        if args.config not in CONFIGS:
            raise InputError(f"{args.bundle_file} is a {args.config} bundle, not a Performance RNN "
                             f"({', '.join(CONFIGS)}).")

    from generation.engine.sampling import SearchSettings
    from generation.families.performance.generator import PerformanceGenerator  # TensorFlow loads here

    start = time.perf_counter()
    generator = PerformanceGenerator.load(args.config, args.bundle_file)
    loaded = time.perf_counter()
    for w in generator.unused_controls(args.notes_per_second, histogram, args.disable_conditioning):
        print(f"warning: {w}", file=sys.stderr)
    search = SearchSettings(args.temperature, args.beam_size, args.branch_factor, args.steps_per_iteration)
    performances = generator.generate_notes(primer, args.num_steps, num_outputs=args.num_outputs, search=search,
                                            seed=seed, notes_per_second=args.notes_per_second,
                                            pitch_class_histogram=histogram,
                                            disable_conditioning=args.disable_conditioning, primer_end=primer_end)
    generated = time.perf_counter()
    write_outputs(args, performances)
    print(f"{len(performances)} performances of {args.num_steps / 100:g} s ({args.config}), seed {seed} "
          f"(model load {loaded - start:.2f} s, generation {generated - loaded:.3f} s) -> {args.output_dir}")
    return 0


def write_outputs(args: argparse.Namespace, performances: list) -> None:
    from generation.families.performance.generator import performance_midi
    from generation.render.audio import render_midi

    stamp = datetime.now().strftime("%Y-%m-%d_%H%M%S")
    digits = len(str(len(performances)))
    for i, notes in enumerate(performances, 1):
        path = args.output_dir / f"{stamp}_{str(i).zfill(digits)}.mid"
        performance_midi(notes, args.num_steps).write(str(path))
        print(f"wrote {path}")
        if args.audio:
            audio = render_midi(path, path.with_suffix(f".{args.audio}"))
            print(f"wrote {audio}")


if __name__ == "__main__":
    raise SystemExit(main())
