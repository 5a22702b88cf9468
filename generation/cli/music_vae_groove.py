"""`music_vae_generate` for the GrooVAE configs: --input_midi_1's drums humanised, or drums played on its rhythm.

Magenta's music_vae_generate samples GrooVAE from its prior or encodes a file; Magenta Studio's Groove and Drumify
play the file. Here --mode=sample (the default) writes --num_outputs takes of the whole file, each with its own
draws; the file may be any length (played 2 bars at a time, up to 32 bars).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from generation.cli.magenta_flags import pick_seed, prepare_output_dir
from generation.errors import InputError
from generation.families.music_vae.groove_config import installed_groove_model, resolve_groove


def run_groove(args: argparse.Namespace, bundle: Path | None) -> int:
    """Read and check --input_midi_1 before TensorFlow loads, play it, write one MIDI file per output."""
    from generation.families.music_vae.groove_inputs import onsets_of_parts
    from generation.families.music_vae.inputs import read_parts_file

    config = resolve_groove(args.config)
    other = "groovae_2bar_tap_fixed_velocity" if config.mode == "humanize" else "groovae_2bar_humanize"
    if args.mode != "sample":
        raise InputError(f"--mode={args.mode}: {config.name} plays one file (--input_midi_1), with --mode=sample; "
                         "interpolation is for the cat-* configs.")
    if args.input_midi_1 is None:
        what = "humanises the drums of" if config.mode == "humanize" else "plays drums on the rhythm of"
        raise InputError(f"{config.name} {what} a MIDI file: give it with --input_midi_1.")
    for flag in ("input_midi_2", "whole_path", "no_transpose"):
        if getattr(args, flag):
            print(f"warning: --{flag} is not used by {config.name}; ignored", file=sys.stderr)
    if bundle is None:
        installed_groove_model(config.name)  # says how to get one
    path: Path = args.input_midi_1
    parts = read_parts_file(path)
    for note in parts.notes:
        print(f"note: {note}", flush=True)
    if config.mode == "humanize" and parts.drums is None:
        raise InputError(f"{path.name} has no drum part (no track on MIDI channel 10 and none that looks like "
                         f"drums); {config.name} humanises one. Use --config={other} to play drums on its rhythm.")
    drums = parts.drums or ()
    onsets = onsets_of_parts({k: v for k, v in (("melody", parts.melody), ("bass", parts.bass), ("drums", drums))
                              if v}, ("melody", "bass", "drums"))
    qpm = args.qpm or parts.qpm
    if not 30 <= qpm <= 300:
        raise InputError(f"{path.name}'s tempo is {qpm:g} qpm; allowed: 30 to 300 (set --qpm).")
    prepare_output_dir(args.output_dir)
    seed = pick_seed(args.seed)

    from generation.families.music_vae.groove_generator import GrooveGenerator  # TensorFlow loads here
    from generation.families.music_vae.groove_inputs import groove_midi, output_seed

    start = time.perf_counter()
    generator = GrooveGenerator.load(config.name, bundle)
    loaded = time.perf_counter()
    base = f"{args.config}_{args.mode}_{time.strftime('%Y-%m-%d_%H%M%S')}"
    for i in range(args.num_outputs):
        draw = output_seed(seed, i)
        hits, steps, notes = (generator.humanize_track(drums, args.temperature, draw, path.name)
                              if config.mode == "humanize" else
                              generator.drumify_track(onsets, args.temperature, draw, path.name))
        if i == 0:
            for note in notes:
                print(f"note: {note}", flush=True)
        out = args.output_dir / f"{base}-{i:03d}-of-{args.num_outputs:03d}.mid"
        groove_midi(hits, qpm, steps).write(str(out))
        print(f"wrote {out}")
        if args.audio:
            from generation.render.audio import render_midi

            print(f"wrote {render_midi(out, out.with_suffix(f'.{args.audio}'))}")
    what = "drum parts humanised" if config.mode == "humanize" else "drum parts played on the rhythm"
    print(f"{args.num_outputs} {what} ({args.config}), seed {seed} (model load {loaded - start:.2f} s, "
          f"total {time.perf_counter() - loaded:.3f} s) -> {args.output_dir}")
    return 0
