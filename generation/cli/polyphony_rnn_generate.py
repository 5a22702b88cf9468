"""`polyphony_rnn_generate`: Magenta's Polyphony RNN command line, with Magenta's flags and defaults, on our model;
`--config=leadsheet_harmonizer` harmonises the primer melody with the lead-sheet harmoniser instead."""

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
from generation.music.notes import Note

PROG = "polyphony_rnn_generate"
BOOL_FLAGS = ("condition_on_primer", "inject_primer_during_generation", "voice_leading")
DEFAULT_TRUE = ("inject_primer_during_generation", "voice_leading")  # repair_argv drops their false forms
STEPS_PER_QUARTER = 4
RNN, HARMONIZER = "polyphony", "leadsheet_harmonizer"


def _bool_default(text: str) -> bool:
    return text.lower() in ("true", "1", "yes")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Write polyphonic music, or harmonize a melody, in the style of Bach chorales "
        "(Magenta's polyphony_rnn_generate, same flags).",
    )
    p.add_argument("--config", choices=(RNN, HARMONIZER), default=None,
                   help="polyphony: Magenta's Polyphony RNN (default); leadsheet_harmonizer: chords picked for the "
                   "primer melody from our lead sheets, voiced under it (default: the --bundle_file's config)")
    p.add_argument("--bundle_file", type=Path,
                   help="a model folder of ours or a Magenta polyphony .mag bundle (default: our model in "
                   "models/<config>)")
    p.add_argument("--output_dir", type=Path, default=Path("/tmp/polyphony_rnn/generated"))
    p.add_argument("--num_outputs", type=int, default=10)
    p.add_argument("--num_steps", type=int, default=128, help="length of each output in 16th-note steps")
    p.add_argument("--primer_pitches", default="",
                   help='pitches sounding together for one quarter note at the start, e.g. "[67,64,60]"')
    p.add_argument("--primer_melody", default="",
                   help='melody events, one per 16th note: -2 hold, -1 note off, 0-127 note on, e.g. "[60, -2, 62]"')
    p.add_argument("--primer_midi", type=Path, help="a MIDI file whose notes start the piece")
    p.add_argument("--condition_on_primer", action="store_true",
                   help="feed the primer to the model before generating (default false)")
    p.add_argument("--inject_primer_during_generation", action="store_true", default=True,
                   help="keep the primer's notes in the output, adding notes under them (default true; "
                   "--noinject_primer_during_generation or =false to turn off)")
    p.add_argument("--qpm", type=float, default=None,
                   help="tempo in quarter notes per minute (default: the primer MIDI's, else 120)")
    p.add_argument("--backing_chords", default="",
                   help='leadsheet_harmonizer: the melody\'s own chord symbols, e.g. "C G7 C C", each lasting '
                   "--steps_per_chord, repeated to fill --num_steps (default: the harmoniser picks chords)")
    p.add_argument("--steps_per_chord", type=int, default=16, help="16th-note steps each backing chord lasts")
    add_sampling_flags(p, "events per beam search iteration")
    p.add_argument("--voice_leading", action="store_true", default=True,
                   help="polyphony: lean each new note towards the key of the music so far and away from clashes "
                   "(m2, M2, tritone, M7) and parallel 5ths/octaves with the notes above it (default true)")
    p.add_argument("--no_voice_leading", dest="voice_leading", action="store_false",
                   help="sample exactly as Magenta does (also written --novoice_leading, --no-voice_leading or "
                   "--voice_leading=false)")
    return p


LIMITS = {**SAMPLING_LIMITS, "num_steps": (1, 2048), "steps_per_chord": (1, 256)}  # flag: (lowest, highest) allowed


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Magenta-style argv -> namespace; absl booleans (`--flag=false`, `--noflag`) and PDF dashes repaired."""
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_magenta_args(build_parser(), raw, BOOL_FLAGS, {"config": (RNN, HARMONIZER)})
    # repair_argv drops a false boolean flag, which would leave a default of true: read those back here.
    for tok in raw:
        name, _, value = tok.lstrip("-\u2014\u2013\u2212").partition("=")
        name = name.replace("-", "_")
        for flag in DEFAULT_TRUE:
            if name == f"no{flag}":
                setattr(args, flag, False)
            elif name == flag:
                setattr(args, flag, not value or _bool_default(value))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(PROG, run, parse_args(argv))


def read_primer(args: argparse.Namespace) -> tuple[list[Note], float | None]:
    """The primer's notes (Magenta's precedence: pitches, then melody, then MIDI) and the MIDI's tempo."""
    from generation.families.polyphony.encoding import chord_primer_notes, melody_primer_notes
    from generation.music.notes import read_midi_notes
    from generation.music.primer import MAX_PRIMER_STEPS, parse_primer_melody, parse_primer_pitches

    given = [f"--{f}" for f in ("primer_pitches", "primer_melody", "primer_midi") if getattr(args, f)]
    if len(given) > 1:
        print(f"warning: {' and '.join(given)} given; using {given[0]} (as Magenta)", file=sys.stderr)
    if args.primer_pitches:
        return chord_primer_notes(parse_primer_pitches(args.primer_pitches)), None
    if args.primer_melody:
        events = list(parse_primer_melody(args.primer_melody))
        if events[0] == -2:
            events[0] = -1  # nothing to hold yet
        return melody_primer_notes(events), None
    if args.primer_midi:
        notes, qpm = read_midi_notes(args.primer_midi, STEPS_PER_QUARTER, MAX_PRIMER_STEPS)
        return notes, qpm
    return [], None


def run(args: argparse.Namespace) -> int:
    check_ranges(args, LIMITS)
    primer, midi_qpm = read_primer(args)  # everything the user typed is checked before any model work
    qpm = args.qpm or midi_qpm or 120.0
    lo, hi = LIMITS["qpm"]
    if not lo <= qpm <= hi:
        raise InputError(f"the primer MIDI's tempo is {qpm:g} qpm; allowed: {lo:g} to {hi:g} (set --qpm).")
    primer_steps = max((n.end for n in primer), default=0)
    inject, condition = args.inject_primer_during_generation, args.condition_on_primer
    if inject and primer_steps > args.num_steps:
        raise InputError(f"the primer lasts {primer_steps} steps but --num_steps={args.num_steps}: with "
                         f"--inject_primer_during_generation the output holds the primer, so --num_steps must be "
                         f"at least {primer_steps}.")
    if primer and not inject and not condition:
        print("warning: the primer is neither injected nor conditioned on, so it is not used "
              "(add --condition_on_primer to have the model hear it)", file=sys.stderr)
    if args.bundle_file is not None and not args.bundle_file.exists():
        raise InputError(f"--bundle_file {str(args.bundle_file)!r} does not exist (leave it out to use our model).")
    config = pick_config(args)
    if config == HARMONIZER:
        return run_harmonizer(args, primer, qpm)
    if args.backing_chords:
        raise InputError(f"--backing_chords are voiced by --config={HARMONIZER}; the polyphony config writes its own "
                         "harmony.")
    prepare_output_dir(args.output_dir)
    seed = pick_seed(args.seed)

    from generation.engine.sampling import SearchSettings
    from generation.families.polyphony.generator import PolyphonyGenerator  # TensorFlow loads here

    start = time.perf_counter()
    generator = PolyphonyGenerator.load(args.bundle_file)
    loaded = time.perf_counter()
    search = SearchSettings(args.temperature, args.beam_size, args.branch_factor, args.steps_per_iteration)
    pieces = generator.generate(primer, args.num_steps, condition_on_primer=condition, inject_primer=inject,
                                num_outputs=args.num_outputs, search=search, seed=seed,
                                voice_leading=args.voice_leading)
    generated = time.perf_counter()
    write_outputs(args, pieces, qpm)
    print(f"{len(pieces)} pieces of {args.num_steps} steps, seed {seed} (model load {loaded - start:.2f} s, "
          f"generation {generated - loaded:.3f} s) -> {args.output_dir}")
    return 0


def pick_config(args: argparse.Namespace) -> str:
    """--config, else the --bundle_file's config, else polyphony; a bundle of the other config is refused."""
    from generation.engine.bundle import bundle_config

    bundled = bundle_config(args.bundle_file) if args.bundle_file is not None else None
    if bundled not in (None, RNN, HARMONIZER):
        return args.config or RNN  # not a polyphony bundle: the generator says which it is
    if args.config and bundled and args.config != bundled:
        raise InputError(f"--bundle_file is a {bundled} bundle but --config={args.config}; drop one of them.")
    return args.config or bundled or RNN


def run_harmonizer(args: argparse.Namespace, primer: list[Note], qpm: float) -> int:
    """--config=leadsheet_harmonizer: the primer's top line harmonised (kept note for note), MIDI written."""
    from generation.families.polyphony.harmonizer import LeadSheetHarmonizer, harmony_midi, spread_chords
    from generation.music.chords import parse_progression

    if not primer:
        raise InputError(f"--config={HARMONIZER} harmonises a melody: give --primer_melody or --primer_midi.")
    if args.condition_on_primer or not args.inject_primer_during_generation:
        raise InputError(f"--config={HARMONIZER} always keeps the melody on top; --condition_on_primer and "
                         "--noinject_primer_during_generation belong to --config=polyphony.")
    figures: list[str] = []
    if args.backing_chords:
        chords = parse_progression(args.backing_chords)
        per_step = [c.figure or "N.C." for c in chords for _ in range(args.steps_per_chord)]
        figures = [per_step[t % len(per_step)] for t in range(args.num_steps)]
    prepare_output_dir(args.output_dir)
    seed = pick_seed(args.seed)
    start = time.perf_counter()
    harmonizer = LeadSheetHarmonizer.load(args.bundle_file)
    loaded = time.perf_counter()
    made = harmonizer.harmonize(primer, args.num_steps, chords=spread_chords(figures, args.num_steps),
                                num_outputs=args.num_outputs, temperature=args.temperature, seed=seed)
    generated = time.perf_counter()
    stamp = datetime.now().strftime("%Y-%m-%d_%H%M%S")
    for i, h in enumerate(made, 1):
        path = args.output_dir / f"{stamp}_{str(i).zfill(len(str(len(made))))}.mid"
        harmony_midi(h, qpm, args.num_steps).write(str(path))
        print(f"wrote {path}; chords (step: name): " + ", ".join(f"{step}: {name}" for step, name in h.chords))
        _render_audio(args, path)
    print(f"{len(made)} harmonisations of {args.num_steps} steps, seed {seed} (model load {loaded - start:.2f} s, "
          f"harmonising {generated - loaded:.3f} s) -> {args.output_dir}")
    return 0


def _render_audio(args: argparse.Namespace, path: Path) -> None:
    if args.audio:
        from generation.render.audio import render_midi

        print(f"wrote {render_midi(path, path.with_suffix(f'.{args.audio}'))}")


def write_outputs(args: argparse.Namespace, pieces: list[list[Note]], qpm: float) -> None:
    from generation.music.notes import notes_midi
    from generation.render.audio import render_midi

    stamp = datetime.now().strftime("%Y-%m-%d_%H%M%S")
    digits = len(str(len(pieces)))
    for i, notes in enumerate(pieces, 1):
        path = args.output_dir / f"{stamp}_{str(i).zfill(digits)}.mid"
        notes_midi({"polyphony": notes}, STEPS_PER_QUARTER, qpm, args.num_steps).write(str(path))
        print(f"wrote {path}")
        if args.audio:
            audio = render_midi(path, path.with_suffix(f".{args.audio}"))
            print(f"wrote {audio}")


if __name__ == "__main__":
    raise SystemExit(main())
