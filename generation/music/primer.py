"""Primers: Magenta's `--primer_melody` list syntax, and a melody read from a MIDI file."""

from __future__ import annotations

import re
from pathlib import Path

import pretty_midi

from generation.data.leadsheet import NO_EVENT, NOTE_OFF
from generation.errors import InputError

MAX_PRIMER_STEPS = 1024
MAX_MIDI_BYTES = 2 * 1024 * 1024
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
    name = display_name or path.name
    if not path.exists():
        raise InputError(f"primer MIDI {str(path)!r} does not exist.")
    if not path.is_file():
        raise InputError(f"primer MIDI {str(path)!r} is not a file.")
    size = path.stat().st_size
    if size > MAX_MIDI_BYTES:
        raise InputError(f"primer MIDI is {size / 1e6:.1f} MB; at most {MAX_MIDI_BYTES // 2**20} MB is allowed.")
    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as e:  # pretty_midi/mido raise many types for corrupt files
        raise InputError(f"primer MIDI {name!r} is not a readable MIDI file ({type(e).__name__}).") from e
    notes = [n for inst in midi.instruments if not inst.is_drum for n in inst.notes]
    if not notes:
        raise InputError(f"primer MIDI {name!r} has no (non-drum) notes to continue from.")
    times, tempi = midi.get_tempo_changes()
    qpm = float(tempi[0]) if len(tempi) else 120.0
    step_s = 60.0 / qpm / 4
    # Start at the bar line before the first note, so a melody entering on beat 2 stays on beat 2.
    first = min(n.start for n in notes)
    downbeats = [b for b in midi.get_downbeats() if b <= first + 1e-6]
    start = float(downbeats[-1]) if downbeats else 0.0
    onsets: dict[int, tuple[int, int]] = {}  # step -> (pitch, end step); highest pitch wins a shared onset
    for n in notes:
        on = round((n.start - start) / step_s)
        off = max(on + 1, round((n.end - start) / step_s))
        if on not in onsets or n.pitch > onsets[on][0]:
            onsets[on] = (n.pitch, off)
    length = max(off for _, off in onsets.values())
    if length > MAX_PRIMER_STEPS:
        raise InputError(f"primer MIDI lasts {length} 16th-note steps; at most {MAX_PRIMER_STEPS} are allowed.")
    events = [NO_EVENT] * length
    order = sorted(onsets)
    for i, on in enumerate(order):
        pitch, off = onsets[on]
        events[on] = pitch
        nxt = order[i + 1] if i + 1 < len(order) else length
        if off < nxt:
            events[off] = NOTE_OFF
    return tuple(events), qpm
