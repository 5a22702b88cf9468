"""`music_vae_generate`: Magenta's MusicVAE command line (sample and interpolate), with its flags, on our models."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generation.cli.magenta_flags import (
    SAMPLING_LIMITS,
    check_ranges,
    parse_magenta_args,
    pick_seed,
    prepare_output_dir,
    run_cli,
)
from generation.errors import InputError
from generation.families.music_vae.config import ALIASES, CONFIGS, MusicVaeConfig, installed_model, resolve
from generation.families.music_vae.groove_config import GROOVE_CONFIGS
from generation.render.formats import AUDIO_FORMATS

PROG = "music_vae_generate"
LIMITS = {**SAMPLING_LIMITS, "temperature": (0.0, 10.0), "refine_steps": (0, 500)}  # temperature 0: argmax
BOOL_FLAGS = ("no_transpose", "whole_path")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Sample melodies, drum patterns or three-part trios from MusicVAE's prior, or interpolate "
                    "between two MIDI files (Magenta's music_vae_generate, same flags); GrooVAE: humanise the drums "
                    "of --input_midi_1, or play drums on its rhythm.",
    )
    p.add_argument("--config", required=True, choices=[*CONFIGS, *ALIASES, *GROOVE_CONFIGS],
                   help="model config; Magenta's _small/_big spellings name the same model")
    p.add_argument("--mode", default="sample", choices=("sample", "interpolate"),
                   help="sample: outputs drawn from the prior; interpolate: outputs along the path from "
                   "--input_midi_1 to --input_midi_2, both ends included")
    p.add_argument("--num_outputs", type=int, default=5, help="MIDI files to write")
    p.add_argument("--input_midi_1", type=Path, help="interpolate: the MIDI file the path starts from; GrooVAE: the "
                   "file played (humanize: its drums; tap_fixed_velocity: the onsets of all its parts), any length")
    p.add_argument("--input_midi_2", type=Path, help="interpolate: the MIDI file the path ends at")
    p.add_argument("--output_dir", type=Path, required=True)
    p.add_argument("--temperature", type=float, default=0.5,
                   help="randomness of decoding (Magenta's default 0.5); 0 takes the most likely note at each step")
    p.add_argument("--bundle_file", type=Path,
                   help="a model folder of ours (written by music_vae_train) or its bundle.json "
                   "(default: our model for --config)")
    p.add_argument("--checkpoint_file", type=Path,
                   help="Magenta's flag: here, a model folder of ours, as --bundle_file")
    p.add_argument("--run_dir", type=Path, help="Magenta's flag: the training run's folder, as --bundle_file")
    p.add_argument("--qpm", type=float, default=None,
                   help="tempo of the MIDI files written (default: --input_midi_1's in interpolate mode, else 120)")
    p.add_argument("--no_transpose", action="store_true",
                   help="interpolate melodies: leave --input_midi_2 in its own key (by default it is moved to "
                   "the key of --input_midi_1, so the path does not pass through clashing keys)")
    p.add_argument("--whole_path", action="store_true",
                   help="interpolate: also write the whole path as one MIDI file, outputs end to end "
                   "(as Magenta Studio's Interpolate)")
    p.add_argument("--refine_steps", type=int, default=None,
                   help="interpolate: steps fitting each input's z so the path's ends come back as the inputs "
                   "(default: the config's, 30 for the 2-bar models; 0: the encoder's mean, as Magenta)")
    p.add_argument("--seed", type=int, default=None, help="same seed, same music (default: random, printed)")
    p.add_argument("--audio", choices=AUDIO_FORMATS, help="also render each MIDI file to audio with FluidSynth")
    p.add_argument("--max_batch_size", type=int, default=None, help="accepted for Magenta compatibility; ignored")
    p.add_argument("--log", default="INFO", help="accepted for Magenta compatibility; ignored")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_magenta_args(build_parser(), argv, BOOL_FLAGS, {"config": [*CONFIGS, *ALIASES, *GROOVE_CONFIGS]})
    return run_cli(PROG, run, args)


def run(args: argparse.Namespace) -> int:
    check_ranges(args, LIMITS)
    if args.config in GROOVE_CONFIGS:
        from generation.cli.music_vae_groove import run_groove

        return run_groove(args, model_path(args, args.config))
    config = resolve(args.config)
    # Everything the user typed is checked, and the inputs read, before TensorFlow loads.
    bundle = model_path(args, config)
    inputs: list[Any] = []
    qpm = args.qpm
    if args.mode == "interpolate":
        if args.num_outputs < 2:
            raise InputError(f"--num_outputs={args.num_outputs}: an interpolation has at least 2 outputs "
                             "(its two ends).")
        if config.kind == "trio":
            from generation.cli.music_vae_trio import read_trio_inputs

            inputs, input_qpm = read_trio_inputs(args, config)
        else:
            inputs, input_qpm = read_inputs(args, config)
        qpm = qpm or input_qpm
    else:
        for flag in ("input_midi_1", "input_midi_2"):
            if getattr(args, flag) is not None:
                print(f"warning: --{flag} is used only with --mode=interpolate; ignored", file=sys.stderr)
        if args.whole_path:
            print("warning: --whole_path is used only with --mode=interpolate; ignored", file=sys.stderr)
    qpm = qpm or 120.0
    lo, hi = LIMITS["qpm"]
    if not lo <= qpm <= hi:
        raise InputError(f"--input_midi_1's tempo is {qpm:g} qpm; allowed: {lo:g} to {hi:g} (set --qpm).")
    prepare_output_dir(args.output_dir)
    seed = pick_seed(args.seed)

    from generation.families.music_vae.generator import MusicVaeGenerator  # TensorFlow loads here

    start = time.perf_counter()
    generator = MusicVaeGenerator.load(config.name, bundle)
    loaded = time.perf_counter()
    if args.mode == "interpolate":
        tracks = generator.interpolate(inputs[0], inputs[1], args.num_outputs, args.temperature, seed,
                                       args.refine_steps)
    else:
        tracks = generator.sample(args.num_outputs, args.temperature, seed)
    generated = time.perf_counter()
    write_outputs(args, config, tracks, qpm)
    what = {"melody": "melodies", "drums": "drum patterns", "trio": "trios (melody, bass, drums)"}[config.kind]
    print(f"{len(tracks)} {what} of {config.bars} bars "
          f"({args.config}, {args.mode}), seed {seed} (model load {loaded - start:.2f} s, generation "
          f"{generated - loaded:.3f} s) -> {args.output_dir}")
    return 0


def model_path(args: argparse.Namespace, config: MusicVaeConfig | str) -> Path | None:
    """The bundle folder given by --bundle_file, --checkpoint_file or --run_dir (at most one), or None for ours.

    Raises:
        InputError: several given, a path that is no model of ours (Magenta's TensorFlow checkpoints included),
            or, with none given, no model of ours installed.
    """
    given = [(flag, getattr(args, flag)) for flag in ("bundle_file", "checkpoint_file", "run_dir")
             if getattr(args, flag) is not None]
    if len(given) > 1:
        raise InputError(f"give one of {', '.join('--' + f for f, _ in given)}: each names the model to use.")
    name = config if isinstance(config, str) else config.name
    if not given:
        if name not in GROOVE_CONFIGS:
            installed_model(name)  # says how to get one (GrooVAE's: run_groove)
        return None
    flag, path = given[0]
    if not path.exists():
        raise InputError(f"--{flag} {str(path)!r} does not exist (leave it out to use our {name} model).")
    folder = path.parent if path.name == "bundle.json" else path
    if not (folder / "bundle.json").is_file():
        raise InputError(f"--{flag} {str(path)!r} is not a model folder of ours (no bundle.json). Magenta's "
                         "MusicVAE TensorFlow checkpoints (.tar, model.ckpt-*) cannot be read; pass a folder "
                         f"written by music_vae_train --config={name}, or leave it out to use ours.")
    return folder


def read_inputs(args: argparse.Namespace, config: MusicVaeConfig) -> tuple[list[Any], float]:
    """The two inputs' parts for this config, fitted to its length (notes printed), and the first one's tempo."""
    from generation.families.music_vae.inputs import align, needed_part, read_parts_file

    named = []
    qpm = 120.0
    for number in (1, 2):
        path = getattr(args, f"input_midi_{number}")
        if path is None:
            raise InputError(f"--mode=interpolate needs --input_midi_{number}: interpolation runs from "
                             "--input_midi_1 to --input_midi_2.")
        parts = read_parts_file(path)
        for note in parts.notes:
            print(f"note: {note}", flush=True)
        named.append((path.name, needed_part(parts, config, path.name)))
        qpm = parts.qpm if number == 1 else qpm
    tracks, notes = align(named, config.kind, config.steps, transpose=not args.no_transpose)
    for note in notes:
        print(f"note: {note}", flush=True)
    return tracks, qpm


def write_outputs(args: argparse.Namespace, config: MusicVaeConfig, tracks: list[Any], qpm: float) -> None:
    """One MIDI file per output, named as Magenta names them, and with --whole_path the outputs end to end."""
    from generation.families.drums.midi import drums_midi
    from generation.families.melody.midi import melody_midi
    from generation.families.music_vae.inputs import join_tracks

    base = f"{args.config}_{args.mode}_{time.strftime('%Y-%m-%d_%H%M%S')}"  # Magenta's names, -000-of-005
    whole = args.mode == "interpolate" and args.whole_path
    if config.kind == "trio":  # three tracks a file
        from generation.cli.music_vae_trio import trio_files

        paths = trio_files(args.output_dir / base, tracks, qpm, whole)
    else:
        write = melody_midi if config.kind == "melody" else drums_midi
        files = [(args.output_dir / f"{base}-{i:03d}-of-{len(tracks):03d}.mid", track)
                 for i, track in enumerate(tracks)]
        if whole:
            files.append((args.output_dir / f"{base}-path.mid", join_tracks(tracks, config.kind)))
        for path, track in files:
            write(track, qpm).write(str(path))
        paths = [path for path, _ in files]
    for path in paths:
        print(f"wrote {path}")
        if args.audio:
            from generation.render.audio import render_midi

            print(f"wrote {render_midi(path, path.with_suffix(f'.{args.audio}'))}")


if __name__ == "__main__":
    raise SystemExit(main())
