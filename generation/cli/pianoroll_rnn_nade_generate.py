"""`pianoroll_rnn_nade_generate`: Magenta's Pianoroll RNN-NADE command line, same flags and defaults, our models."""

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
from generation.families.pianoroll.config import CONFIGS, MAX_PITCH, MIN_PITCH
from generation.music.primer import parse_primer_pianoroll

PROG = "pianoroll_rnn_nade_generate"
STEP_HELP = "; ".join(f"{c.name}: {c.step_name}" for c in CONFIGS.values())
LIMITS = {**SAMPLING_LIMITS, "num_steps": (1, 4096)}  # flag: (lowest, highest) allowed


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description="Generate polyphonic piano music with an RNN-NADE (Magenta's "
        f"pianoroll_rnn_nade_generate, same flags). One step is {STEP_HELP}.")
    p.add_argument("--config", default="rnn-nade", choices=list(CONFIGS),
                   help="model: rnn-nade (piano, POP909; one step = a 16th note) or rnn-nade-bach (Bach chorales; "
                   "one step = a quarter note). With --bundle_file the bundle's own config is used")
    p.add_argument("--bundle_file", type=Path,
                   help="a model folder of ours or a Magenta rnn-nade .mag bundle (default: our model for --config)")
    p.add_argument("--output_dir", type=Path, default=Path("/tmp/pianoroll_rnn_nade/generated"))
    p.add_argument("--num_outputs", type=int, default=10)
    p.add_argument("--num_steps", type=int, default=128,
                   help=f"length of each output in steps, primer included ({STEP_HELP})")
    p.add_argument("--primer_pianoroll", default="",
                   help='pitches sounding at each step, e.g. "[(55,), (55, 64), (55, 64, 72), ()]" '
                   f"(MIDI {MIN_PITCH}-{MAX_PITCH})")
    p.add_argument("--primer_midi", type=Path, help="a MIDI file whose notes start every output")
    p.add_argument("--qpm", type=float, default=None,
                   help="tempo in quarter notes per minute (default: the primer MIDI's, else 60, as Magenta)")
    add_sampling_flags(p)
    lead = p.add_mutually_exclusive_group()
    lead.add_argument("--voice_leading", nargs="?", const=True, default=None, type=_true_or_false, metavar="true|false",
                      help="draw several frames per step and keep one without parallel 5ths/octaves, leaning "
                      "towards the key so far (default: on for rnn-nade-bach, off for rnn-nade)")
    lead.add_argument("--no_voice_leading", "--novoice_leading", dest="voice_leading", action="store_false",
                      help="sample exactly as Magenta does (also written --no-voice_leading or "
                      "--voice_leading=false)")
    return p


def _true_or_false(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"takes true or false, not {text!r}")
    return text.lower() in ("true", "1", "yes")


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(PROG, run, parse_magenta_args(build_parser(), argv, (), {"config": list(CONFIGS)}))


def run(args: argparse.Namespace) -> int:
    check_ranges(args, LIMITS)
    from generation.engine.bundle import bundle_config
    from generation.music.notes import pianoroll_of, read_midi_notes

    if args.bundle_file is not None:
        args.config = bundle_config(args.bundle_file)  # the bundle decides, as in Magenta
    steps_per_quarter = CONFIGS[args.config].steps_per_quarter if args.config in CONFIGS else 4
    # Everything the user typed is checked before any model work.
    qpm = args.qpm
    primer: list[frozenset[int]] = []
    if args.primer_pianoroll:
        if args.primer_midi:
            print("warning: both --primer_pianoroll and --primer_midi given; using --primer_pianoroll",
                  file=sys.stderr)
        primer = list(parse_primer_pianoroll(args.primer_pianoroll))
    elif args.primer_midi:
        notes, midi_qpm = read_midi_notes(args.primer_midi, steps_per_quarter, args.num_steps)
        primer = pianoroll_of(notes, max(n.end for n in notes))
        qpm = qpm or midi_qpm
    qpm = qpm or 60.0
    lo, hi = LIMITS["qpm"]
    if not lo <= qpm <= hi:
        raise InputError(f"the primer MIDI's tempo is {qpm:g} qpm; allowed: {lo:g} to {hi:g} (set --qpm).")
    outside = sorted({p for f in primer for p in f if not MIN_PITCH <= p <= MAX_PITCH})
    if outside:
        raise InputError(f"--primer_pianoroll/--primer_midi: pitch {outside[0]} is outside the piano's 88 keys; "
                         f"allowed: MIDI {MIN_PITCH}-{MAX_PITCH}.")
    if len(primer) > args.num_steps:
        raise InputError(f"--num_steps={args.num_steps} is shorter than the primer ({len(primer)} steps); the "
                         "output length includes the primer.")
    prepare_output_dir(args.output_dir)
    seed = pick_seed(args.seed)

    from generation.engine.sampling import SearchSettings
    from generation.families.pianoroll.generator import PianorollGenerator  # TensorFlow loads here

    start = time.perf_counter()
    generator = PianorollGenerator.load(args.config if args.config in CONFIGS else "rnn-nade", args.bundle_file)
    loaded = time.perf_counter()
    search = SearchSettings(args.temperature, args.beam_size, args.branch_factor, args.steps_per_iteration)
    outputs = generator.generate(primer, args.num_steps, args.num_outputs, search, seed, args.voice_leading)
    generated = time.perf_counter()
    write_outputs(args, outputs, generator.steps_per_quarter, qpm)
    print(f"{len(outputs)} outputs of {args.num_steps} steps, seed {seed} (model load {loaded - start:.2f} s, "
          f"generation {generated - loaded:.3f} s) -> {args.output_dir}")
    return 0


def write_outputs(args: argparse.Namespace, outputs: list[list[frozenset[int]]], steps_per_quarter: int,
                  qpm: float) -> None:
    from generation.families.pianoroll.dataset import frames_to_notes
    from generation.music.notes import notes_midi
    from generation.render.audio import render_midi

    stamp = datetime.now().strftime("%Y-%m-%d_%H%M%S")
    digits = len(str(len(outputs)))
    for i, frames in enumerate(outputs, 1):
        path = args.output_dir / f"{stamp}_{str(i).zfill(digits)}.mid"
        notes_midi({"piano": frames_to_notes(frames)}, steps_per_quarter, qpm, len(frames)).write(str(path))
        print(f"wrote {path}")
        if args.audio:
            audio = render_midi(path, path.with_suffix(f".{args.audio}"))
            print(f"wrote {audio}")


if __name__ == "__main__":
    raise SystemExit(main())
