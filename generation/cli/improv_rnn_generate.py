"""`improv_rnn_generate`: Magenta's Improv RNN command line, with Magenta's flags and defaults, on our models."""

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
from generation.families.improv.config import CONFIGS, MAX_NOTES_PER_BAR, MIN_NOTES_PER_BAR
from generation.music.chords import parse_progression
from generation.music.primer import parse_primer_melody, read_primer_midi

BOOL_FLAGS = ("render_chords", "no_primer_in_output")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="improv_rnn_generate",
        description="Improvise melodies over a chord progression (Magenta's improv_rnn_generate, same flags).",
    )
    p.add_argument("--config", default="basic_improv", choices=list(CONFIGS),
                   help="model config (with --bundle_file, the bundle's own config is used)")
    p.add_argument("--bundle_file", type=Path,
                   help="a model folder of ours or a Magenta .mag bundle (default: our model for --config)")
    p.add_argument("--output_dir", type=Path, default=Path("/tmp/improv_rnn/generated"))
    p.add_argument("--num_outputs", type=int, default=10)
    p.add_argument("--qpm", type=float, default=None,
                   help="tempo in quarter notes per minute (default: the primer MIDI's, else 120)")
    p.add_argument("--primer_melody", default="",
                   help='melody events, one per 16th note: -2 hold, -1 note off, 0-127 note on, e.g. "[60]"')
    p.add_argument("--primer_midi", type=Path, help="a MIDI file whose top line starts the melody")
    p.add_argument("--backing_chords", default="C G Am F C G F C",
                   help='space-separated chord figures, e.g. "Cmaj7 C#maj7 Dm7 D#m7"; N.C. for no chord')
    p.add_argument("--steps_per_chord", type=int, default=16, help="16th-note steps each chord lasts")
    p.add_argument("--render_chords", action="store_true", help="also write the chords as a MIDI track")
    add_sampling_flags(p)
    p.add_argument("--no_primer_in_output", action="store_true",
                   help="leave the primer's notes out of the files (rests in their place)")
    p.add_argument("--notes_per_bar", type=float, default=None,
                   help="steer each melody toward this many notes per 4/4 bar (16 steps), "
                   f"{MIN_NOTES_PER_BAR:g}-{MAX_NOTES_PER_BAR:g} (default: like human lead sheets over such "
                   "chords: about 5.1 over folk triads and dominant 7ths, 3.3 when any other chord appears, "
                   "each output drawn around it)")
    p.add_argument("--no_steering", action="store_true",
                   help="sample exactly as Magenta does: no note-density steering (--notes_per_bar is then "
                   "not allowed)")
    return p


LIMITS = {  # flag: (lowest, highest) allowed
    **SAMPLING_LIMITS,
    "steps_per_chord": (1, 256),
    "notes_per_bar": (MIN_NOTES_PER_BAR, MAX_NOTES_PER_BAR),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_magenta_args(build_parser(), argv, BOOL_FLAGS, {"config": list(CONFIGS)})
    return run_cli("improv_rnn_generate", run, args)


def run(args: argparse.Namespace) -> int:
    check_ranges(args, LIMITS)
    if args.no_steering and args.notes_per_bar is not None:
        raise InputError("--notes_per_bar steers the sampling and --no_steering turns steering off: give one.")
    # Everything the user typed is checked before any model work.
    chords = parse_progression(args.backing_chords)
    primer, qpm = choose_primer("--primer_melody", args.primer_melody, args.primer_midi, parse_primer_melody,
                                read_primer_midi, lambda: (60,), "a single middle C (60)", args.qpm)
    qpm = qpm or 120.0
    lo, hi = LIMITS["qpm"]
    if not lo <= qpm <= hi:
        raise InputError(f"the primer MIDI's tempo is {qpm:g} qpm; allowed: {lo:g} to {hi:g} (set --qpm).")
    prepare_output_dir(args.output_dir)
    seed = pick_seed(args.seed)
    from generation.engine.bundle import bundle_config
    from generation.families.improv.encoding import encode_chords

    if args.bundle_file is not None:
        args.config = bundle_config(args.bundle_file)  # the bundle decides, as in Magenta
        if args.config not in CONFIGS:
            raise InputError(f"{args.bundle_file} is a {args.config} bundle, not an Improv RNN "
                             f"({', '.join(CONFIGS)}).")
    encode_chords(chords, CONFIGS[args.config])  # rejects chords the config cannot encode, before loading

    from generation.engine.sampling import SearchSettings
    from generation.families.improv.generator import ImprovGenerator  # TensorFlow loads here

    start = time.perf_counter()
    generator = ImprovGenerator.load(args.config, args.bundle_file)
    loaded = time.perf_counter()
    search = SearchSettings(args.temperature, args.beam_size, args.branch_factor, args.steps_per_iteration)
    melodies = generator.generate(chords, args.steps_per_chord, primer, args.num_outputs, search, seed,
                                  notes_per_bar=args.notes_per_bar, steer=not args.no_steering)
    generated = time.perf_counter()
    write_outputs(args, melodies, chords, qpm, len(primer))
    print(f"{len(melodies)} melodies, {len(chords)} chords x {args.steps_per_chord} steps, seed {seed} "
          f"(model load {loaded - start:.2f} s, generation {generated - loaded:.3f} s) -> {args.output_dir}")
    return 0


def write_outputs(args: argparse.Namespace, melodies: list[list[int]], chords: Sequence, qpm: float,
                  primer_steps: int) -> None:
    from generation.data.leadsheet import NO_EVENT, NOTE_OFF
    from generation.music.midi import leadsheet_midi
    from generation.render.audio import render_midi

    args.output_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y-%m-%d_%H%M%S")
    digits = len(str(len(melodies)))
    steps = [c for c in chords for _ in range(args.steps_per_chord)]
    for i, melody in enumerate(melodies, 1):
        if args.no_primer_in_output:
            melody = [NOTE_OFF] + [NO_EVENT] * (primer_steps - 1) + melody[primer_steps:]
        path = args.output_dir / f"{stamp}_{str(i).zfill(digits)}.mid"
        leadsheet_midi(melody, steps, qpm, args.render_chords).write(str(path))
        print(f"wrote {path}")
        if args.audio:
            audio = render_midi(path, path.with_suffix(f".{args.audio}"))
            print(f"wrote {audio}")


if __name__ == "__main__":
    raise SystemExit(main())
