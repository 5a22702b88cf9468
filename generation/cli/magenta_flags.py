"""Magenta-style command lines on argparse: absl's boolean forms, and repairs for commands pasted from PDFs.

Shared by every `*_generate` command. Repairs are reported as warnings so users learn the real spelling.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

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
