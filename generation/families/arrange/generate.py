"""`arrange_generate`: a melody (typed as Magenta's melody events, or a MIDI file's top line) played by a band in a
style, written as multi-track MIDI (and audio with --audio): melody, chords, bass and drums on channel 10."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from generation.cli.magenta_flags import check_ranges, choose_primer, pick_seed, prepare_output_dir, run_cli
from generation.errors import InputError
from generation.families.arrange.styles import DEFAULT_STYLE, STYLES

PROG = "arrange_generate"
TWINKLE = (60, -2, 60, -2, 67, -2, 67, -2, 69, -2, 69, -2, 67, -2, -2, -2)
LIMITS = {"num_outputs": (1, 100), "num_steps": (1, 1024), "qpm": (30, 300), "temperature": (0.1, 1.5)}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--style", choices=tuple(STYLES), default=DEFAULT_STYLE,
                   help="; ".join(f"{s.name}: {s.band}" for s in STYLES.values()))
    p.add_argument("--drums", choices=("on", "off"), help="drums or none (default: the style's)")
    p.add_argument("--primer_melody", default="", help='melody events, one per 16th: -2 hold, -1 off, 0-127 on, '
                   'e.g. "[60, -2, 62]"')
    p.add_argument("--primer_midi", type=Path, help="a MIDI file whose top line is the melody")
    p.add_argument("--num_steps", type=int, help="length in 16ths (default: the melody's, in whole bars)")
    p.add_argument("--output_dir", type=Path, default=Path("/tmp/arrange/generated"))
    p.add_argument("--num_outputs", type=int, default=1)
    p.add_argument("--qpm", type=float, help="tempo (default: the MIDI file's, else 120)")
    p.add_argument("--temperature", type=float, default=0.5, help="the drummer's feel; the chords of outputs 2+")
    p.add_argument("--seed", type=int, help="same seed, same arrangement")
    p.add_argument("--audio", choices=("ogg", "mp3", "wav"), help="also render each output with FluidSynth")
    return p


def run(args: argparse.Namespace) -> int:
    from generation.music.primer import parse_primer_melody, read_primer_midi

    check_ranges(args, LIMITS)
    melody, qpm = choose_primer("--primer_melody", args.primer_melody, args.primer_midi, parse_primer_melody,
                                read_primer_midi, lambda: TWINKLE, "Twinkle Twinkle", args.qpm)
    qpm = qpm or 120.0
    steps = args.num_steps or -(-len(melody) // 16) * 16
    if len(melody) > steps:
        raise InputError(f"the melody lasts {len(melody)} 16ths but --num_steps is {steps}; give more steps.")
    style = STYLES[args.style]
    drums = style.drums if args.drums is None else args.drums == "on"
    prepare_output_dir(args.output_dir)
    seed = pick_seed(args.seed)

    from generation.families.arrange.arranger import Arranger  # TensorFlow loads here
    from generation.families.arrange.band import band_midi

    start = time.perf_counter()
    arranger = Arranger.load()
    loaded = time.perf_counter()
    bands = arranger.arrange(melody, steps, style.name, drums, num_outputs=args.num_outputs,
                             temperature=args.temperature, seed=seed)
    base = f"{style.name}_{time.strftime('%Y-%m-%d_%H%M%S')}"
    for i, band in enumerate(bands):
        out = args.output_dir / f"{base}-{i + 1:03d}-of-{len(bands):03d}.mid"
        band_midi(band, style, qpm, steps).write(str(out))
        print(f"wrote {out}")
        if args.audio:
            from generation.render.audio import render_midi

            print(f"wrote {render_midi(out, out.with_suffix(f'.{args.audio}'))}")
    print(f"{len(bands)} {style.name} arrangement(s), seed {seed} (models load {loaded - start:.2f} s, total "
          f"{time.perf_counter() - loaded:.3f} s) -> {args.output_dir}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(PROG, run, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
