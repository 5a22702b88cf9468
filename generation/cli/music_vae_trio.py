"""`music_vae_generate` for hierdec-trio_16bar: the two input files read as trios and fitted to 16 bars together,
and each output written as a three-track MIDI file (melody, bass, drums on channel 10)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from generation.errors import InputError
from generation.families.music_vae.config import MusicVaeConfig


def read_trio_inputs(args: argparse.Namespace, config: MusicVaeConfig) -> tuple[list[Any], float]:
    """Both inputs' melody, bass and drums, fitted to the model's bars from the same bar line (notes printed),
    and the first one's tempo.

    Raises:
        InputError: a flag missing, or a file without one of the parts (naming the file and the part).
    """
    from generation.families.music_vae.trio_inputs import align_trios
    from generation.families.music_vae.trio_parts import read_trio_file

    named = []
    qpm = 120.0
    for number in (1, 2):
        path: Path | None = getattr(args, f"input_midi_{number}")
        if path is None:
            raise InputError(f"--mode=interpolate needs --input_midi_{number}: interpolation runs from "
                             "--input_midi_1 to --input_midi_2.")
        parts = read_trio_file(path)
        for note in parts.notes:
            print(f"note: {note}", flush=True)
        named.append((path.name, parts.melody, parts.bass, parts.drums))
        qpm = parts.qpm if number == 1 else qpm
    trios, notes = align_trios(named, config.steps, transpose=not args.no_transpose)
    for note in notes:
        print(f"note: {note}", flush=True)
    return list(trios), qpm


def trio_files(base: Path, trios: list[Any], qpm: float, whole_path: bool) -> list[Path]:
    """One MIDI file per trio (Magenta's names: BASE-000-of-005.mid), and with `whole_path` BASE-path.mid, the
    trios end to end."""
    from generation.families.music_vae.trio_inputs import join_trios, trio_midi

    files = [(base.with_name(f"{base.name}-{i:03d}-of-{len(trios):03d}.mid"), trio) for i, trio in enumerate(trios)]
    if whole_path:
        files.append((base.with_name(f"{base.name}-path.mid"), join_trios(trios)))
    for path, trio in files:
        trio_midi(trio, qpm).write(str(path))
    return [path for path, _ in files]
