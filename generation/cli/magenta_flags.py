"""Magenta-style command lines on argparse: absl's boolean forms, and repairs for commands pasted from PDFs.

Shared by every `*_generate` command. Repairs are reported as warnings so users learn the real spelling.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from generation.errors import InputError

DASHES = ("\u2014", "\u2013", "\u2212")  # em dash, en dash, minus: what PDFs make of "--"
SMART_QUOTES = ("\u201c", "\u201d", "\u2018", "\u2019")


def repair_argv(argv: Sequence[str], bool_flags: Sequence[str], choices: dict[str, Sequence[str]]
                ) -> tuple[list[str], list[str]]:
    """Return (argv argparse can read, warnings about what was repaired).

    - `—flag` / `–flag` (a PDF's dash) -> `--flag`; `--flag-name` -> `--flag_name`;
    - smart-quoted values split over several words by the shell are joined and unquoted;
    - absl booleans: `--render_chords`, `--norender_chords`, `--render_chords=false`;
    - a choice written with '-' for '_' (`chord-pitches_improv`) -> the real choice.
    """
    warnings: list[str] = []
    out: list[str] = []
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        for dash in DASHES:
            if tok.startswith(dash):
                fixed = "--" + tok.lstrip("".join(DASHES) + "-")
                warnings.append(f"read {tok.split('=')[0]!r} as {fixed.split('=')[0]!r} (a PDF turns -- into a dash)")
                tok = fixed
        if any(q in tok for q in ("\u201c", "\u2018")):
            # Join the words of a smart-quoted value: the shell does not treat these as quotes.
            while not any(q in tok for q in ("\u201d", "\u2019")) and i + 1 < len(tokens):
                i += 1
                tok += " " + tokens[i]
            for smart in SMART_QUOTES:
                tok = tok.replace(smart, "")
            warnings.append("removed typographic quotes (\u201c \u201d) from a value")
        if tok.startswith("--"):
            name, eq, value = tok[2:].partition("=")
            if "-" in name:
                name = name.replace("-", "_")
            if name.startswith("no") and name[2:] in bool_flags and not eq:
                name, eq, value = name[2:], "=", "false"
            if name in bool_flags:
                if eq and value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise argparse.ArgumentTypeError(f"--{name} takes true or false, not {value!r}")
                tok = "" if eq and value.lower() in ("false", "0", "no") else f"--{name}"
            elif name in choices and eq and value not in choices[name]:
                fixed_value = value.replace("-", "_")
                if fixed_value in choices[name]:
                    warnings.append(f"read {value!r} as {fixed_value!r}")
                    value = fixed_value
                tok = f"--{name}={value}"
            else:
                tok = f"--{name}{eq}{value}"
        if tok:
            out.append(tok)
        i += 1
    return out, warnings


# --- what every *_generate command shares: sampling flags, limits, output folder, seed, exit codes -------------
SAMPLING_LIMITS: dict[str, tuple[float, float]] = {  # flag: (lowest, highest) allowed
    "num_outputs": (1, 100),
    "qpm": (20.0, 400.0),
    "temperature": (0.01, 10.0),
    "beam_size": (1, 64),
    "branch_factor": (1, 64),
    "steps_per_iteration": (1, 4096),
    "seed": (0, 2**31 - 1),
}


def add_sampling_flags(p: argparse.ArgumentParser, steps_per_iteration_help: str | None = None) -> None:
    """Magenta's sampling flags with their defaults, plus our --seed and --audio, and Magenta's ignored --log."""
    from generation.render.formats import AUDIO_FORMATS

    p.add_argument("--temperature", type=float, default=1.0, help="randomness; 1.0 is the model's own")
    p.add_argument("--beam_size", type=int, default=1)
    p.add_argument("--branch_factor", type=int, default=1)
    p.add_argument("--steps_per_iteration", type=int, default=1, help=steps_per_iteration_help)
    p.add_argument("--seed", type=int, default=None, help="same seed, same music (default: random, printed)")
    p.add_argument("--audio", choices=AUDIO_FORMATS, help="also render each output to audio with FluidSynth")
    p.add_argument("--log", default="INFO", help="accepted for Magenta compatibility; ignored")


def parse_magenta_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None, bool_flags: Sequence[str],
                       choices: dict[str, Sequence[str]]) -> argparse.Namespace:
    """argv (default: sys.argv) repaired as `repair_argv` does, its warnings printed, then parsed."""
    try:
        fixed, warnings = repair_argv(sys.argv[1:] if argv is None else argv, bool_flags, choices)
    except argparse.ArgumentTypeError as e:
        parser.error(str(e))
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return parser.parse_args(fixed)


def choose_primer(typed_flag: str, typed: str | None, midi: Path | None, parse: Callable[[str], Any],
                  read_midi: Callable[[Path], tuple[Any, float]], default: Callable[[], Any], default_text: str,
                  qpm: float | None) -> tuple[Any, float | None]:
    """Magenta's primer rule: the typed primer wins over --primer_midi (with a warning), else the MIDI file (its
    tempo unless --qpm is given), else the default (with a warning). Returns (primer, qpm or None)."""
    if typed:
        if midi:
            print(f"warning: both {typed_flag} and --primer_midi given; using {typed_flag} (as Magenta)",
                  file=sys.stderr)
        return parse(typed), qpm
    if midi:
        primer, midi_qpm = read_midi(midi)
        return primer, qpm or midi_qpm
    print(f"warning: no primer given; starting from {default_text}, as Magenta does", file=sys.stderr)
    return default(), qpm


def check_ranges(args: argparse.Namespace, limits: dict[str, tuple[float, float]]) -> None:
    """Raises InputError naming the first flag outside its limits (flags the command lacks are skipped)."""
    for flag, (lo, hi) in limits.items():
        value = getattr(args, flag, None)
        if value is not None and not lo <= value <= hi:
            raise InputError(f"--{flag}={value} is out of range; allowed: {lo:g} to {hi:g}.")


def prepare_output_dir(path: Path) -> None:
    """Create --output_dir, or say plainly why it cannot be."""
    if path.exists() and not path.is_dir():
        raise InputError(f"--output_dir {str(path)!r} is a file, not a folder.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create --output_dir {str(path)!r}: {e.strerror or e}.") from None


def pick_seed(seed: int | None) -> int:
    """The user's seed, or a random one (printed by the caller so the music can be made again)."""
    return seed if seed is not None else int.from_bytes(os.urandom(4), "little") % 2**31


def run_cli(prog: str, run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Exit codes as users expect: 2 and one line for bad input, 130 on Ctrl-C, 1 and no traceback for our bugs."""
    from generation.render.audio import RenderError

    try:
        return run(args)
    except (InputError, RenderError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug of ours: say so plainly, keep the traceback for those who ask
        if os.environ.get("TUNESMITH_DEBUG"):
            raise
        print(f"{prog}: internal error ({type(e).__name__}: {e}). "
              "Run again with TUNESMITH_DEBUG=1 for details and please report it.", file=sys.stderr)
        return 1
