"""Primers: Magenta's `--primer_melody` list syntax, and a melody read from a MIDI file."""

from __future__ import annotations

import re
from pathlib import Path

from generation.data.leadsheet import NO_EVENT, NOTE_OFF
from generation.errors import InputError
from generation.music.notes import read_midi_notes

MAX_PRIMER_STEPS = 1024
_INT = re.compile(r"^[+-]?\d+$")
MELODY_HELP = "a list of melody events, one per 16th note: -2 hold, -1 note off, 0-127 note on, e.g. \"[60, -2, 62]\""


def parse_primer_melody(text: str) -> tuple[int, ...]:
    """Parse "[60, -2, 60, -2, 67]" (brackets, commas optional) into events.

    Raises:
        InputError: naming the bad token and what is allowed.
    """
    body = text.strip()
    if body.startswith("[") != body.endswith("]"):
        raise InputError(f"primer melody {text!r}: unbalanced brackets. Expected {MELODY_HELP}.")
    tokens = [t for t in re.split(r"[\s,]+", body.strip("[]")) if t]
    if not tokens:
        raise InputError(f"primer melody {text!r} is empty. Expected {MELODY_HELP}.")
    if len(tokens) > MAX_PRIMER_STEPS:
        raise InputError(f"primer melody has {len(tokens)} events; at most {MAX_PRIMER_STEPS} are allowed.")
    events = []
    for tok in tokens:
        if not _INT.match(tok) or not NO_EVENT <= int(tok) <= 127:
            raise InputError(f"primer melody: {tok!r} is not a melody event. Expected {MELODY_HELP}.")
        events.append(int(tok))
    return tuple(events)


def read_primer_midi(path: Path, display_name: str = "") -> tuple[tuple[int, ...], float]:
    """The top line of a MIDI file as melody events at 16th-note steps, and the file's tempo (qpm).

    Raises:
        InputError: missing, too large, not MIDI, or without notes.
    """
    notes, qpm = read_midi_notes(path, 4, MAX_PRIMER_STEPS, display_name)
    onsets: dict[int, tuple[int, int]] = {}  # step -> (pitch, end step); highest pitch wins a shared onset
    for n in notes:
        if n.start not in onsets or n.pitch > onsets[n.start][0]:
            onsets[n.start] = (n.pitch, n.end)
    length = max(off for _, off in onsets.values())
    events = [NO_EVENT] * length
    order = sorted(onsets)
    for i, on in enumerate(order):
        pitch, off = onsets[on]
        events[on] = pitch
        nxt = order[i + 1] if i + 1 < len(order) else length
        if off < nxt:
            events[off] = NOTE_OFF
    return tuple(events), qpm


PITCHES_HELP = 'a list of MIDI pitches 0-127 sounding together, e.g. "[67, 64, 60]"'
PIANOROLL_HELP = ('a list of steps, each a tuple of the MIDI pitches 0-127 sounding then, e.g. '
                  '"[(67, 64, 60), (62,), ()]"')
_STEP = re.compile(r"\(([^()]*)\)")


def parse_primer_pitches(text: str, max_pitches: int = 16) -> tuple[int, ...]:
    """Parse Magenta's `--primer_pitches` "[67, 64, 60]": pitches sounding together at the start.

    Raises:
        InputError: naming the bad token and what is allowed.
    """
    body = text.strip()
    if body.startswith("[") != body.endswith("]"):
        raise InputError(f"primer pitches {text!r}: unbalanced brackets. Expected {PITCHES_HELP}.")
    tokens = [t for t in re.split(r"[\s,]+", body.strip("[]")) if t]
    if not tokens:
        raise InputError(f"primer pitches {text!r} is empty. Expected {PITCHES_HELP}.")
    if len(tokens) > max_pitches:
        raise InputError(f"primer pitches: {len(tokens)} pitches; at most {max_pitches} may sound together.")
    for tok in tokens:
        if not _INT.match(tok) or not 0 <= int(tok) <= 127:
            raise InputError(f"primer pitches: {tok!r} is not a MIDI pitch. Expected {PITCHES_HELP}.")
    return tuple(dict.fromkeys(int(t) for t in tokens))


def parse_primer_pianoroll(text: str) -> tuple[frozenset[int], ...]:
    """Parse Magenta's `--primer_pianoroll` "[(55,), (55, 64), ()]": the pitches sounding at each step.

    Raises:
        InputError: naming the bad step and what is allowed.
    """
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise InputError(f"primer pianoroll {text[:40]!r}: expected {PIANOROLL_HELP}.")
    inner = body[1:-1]
    leftover = _STEP.sub("", inner)
    if leftover.strip(" ,\t\n"):
        bad = leftover.strip(" ,\t\n").split()[0]
        raise InputError(f"primer pianoroll: {bad!r} is outside any (...) step. Expected {PIANOROLL_HELP}.")
    steps = []
    for i, group in enumerate(_STEP.findall(inner), 1):
        pitches = []
        for tok in (t for t in re.split(r"[\s,]+", group) if t):
            if not _INT.match(tok) or not 0 <= int(tok) <= 127:
                raise InputError(f"primer pianoroll, step {i}: {tok!r} is not a MIDI pitch. "
                                 f"Expected {PIANOROLL_HELP}.")
            pitches.append(int(tok))
        steps.append(frozenset(pitches))
    if not steps:
        raise InputError(f"primer pianoroll {text[:40]!r} has no steps. Expected {PIANOROLL_HELP}.")
    if len(steps) > MAX_PRIMER_STEPS:
        raise InputError(f"primer pianoroll has {len(steps)} steps; at most {MAX_PRIMER_STEPS} are allowed.")
    return tuple(steps)
