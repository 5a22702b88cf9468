"""Primers: Magenta's `--primer_melody` list syntax, and a melody read from a MIDI file."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from generation.data.leadsheet import NO_EVENT, NOTE_OFF
from generation.errors import InputError
from generation.music.midi_limits import PRIMER_LIMITS, check_size, count_events

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

    The file is held to PRIMER_LIMITS (bytes, tracks, events, notes, tempo and time-signature changes, length)
    before any parser reads it. For a user's attachment in the bot use `primer_sandbox.read_primer_attachment`,
    which does this in a child process with memory and CPU limits.

    Raises:
        InputError: missing, beyond a limit, not MIDI, or without notes.
    """
    name = display_name or path.name
    if not path.is_file():
        raise InputError(f"MIDI file {str(path)!r} does not exist.")
    what = f"the MIDI file {name}"
    check_size(path.stat().st_size, what, PRIMER_LIMITS)
    count_events(path.read_bytes(), what, PRIMER_LIMITS)
    return _read_counted(path, name)


MELODY_READER = f"{__name__}:read_primer_bytes"  # what an attachment is read with unless a command says


def read_primer_bytes(data: bytes, what: str, name: str) -> tuple[tuple[int, ...], float]:
    """`read_primer_midi` for bytes (an attachment): `what` ("the attachment tune.mid") starts refusals.

    Raises:
        InputError: beyond a limit, not MIDI, or without notes.
    """
    count_events(data, what, PRIMER_LIMITS)
    with tempfile.TemporaryDirectory(prefix="primer-") as folder:
        path = Path(folder) / "primer.mid"
        path.write_bytes(data)
        return _read_counted(path, name)


def _read_counted(path: Path, name: str) -> tuple[tuple[int, ...], float]:
    """Melody events and qpm of a file that passed `count_events` (so the parser's work is bounded)."""
    from generation.music.notes import read_midi_grid  # pretty_midi, only where a file is read

    notes, qpm, file_end = read_midi_grid(path, 4, MAX_PRIMER_STEPS, name)
    onsets: dict[int, tuple[int, int]] = {}  # step -> (pitch, end step); highest pitch wins a shared onset
    for n in notes:
        if n.start not in onsets or n.pitch > onsets[n.start][0]:
            onsets[n.start] = (n.pitch, n.end)
    length = max(off for _, off in onsets.values())
    # Rests closing the file's last bar are part of the primer (a result ending in a rest is continued after it,
    # on the bar line), up to that bar line only: a long silent tail is not.
    bar = 16
    length = max(length, min(file_end, -(-length // bar) * bar, MAX_PRIMER_STEPS))
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


WORDS_HELP = ("one word per 16th note: a note (C4, F#5, Bb3 or a MIDI number 0-127), - or -2 to hold it, "
              "r or -1 for a rest")
_NOTE_NAME = re.compile(r"^([A-Ga-g])([#b\u266f\u266d]?)(-?\d)$")


class PrimerError(InputError):
    """A primer we cannot read; `token` is the word at fault."""

    def __init__(self, message: str, token: str = "") -> None:
        super().__init__(message)
        self.token = token


def note_number(word: str) -> int | None:
    """"C4" (middle C = 60), "F#5", "Bb3" or "60" -> MIDI pitch; None if it is neither."""
    if _INT.match(word):
        return int(word) if 0 <= int(word) <= 127 else None
    match = _NOTE_NAME.match(word)
    if not match:
        return None
    letter, accidental, octave = match.groups()
    pitch = "C D EF G A B".index(letter.upper()) + 12 * (int(octave) + 1)
    pitch += {"#": 1, "\u266f": 1, "b": -1, "\u266d": -1}.get(accidental, 0)
    return pitch if 0 <= pitch <= 127 else None


def parse_melody_words(text: str) -> tuple[int, ...]:
    """A melody typed in chat: "C4 - E4 - G4 r" or Magenta events "[60, -2, 64, -2, 67, -1]" -> events.

    Raises:
        PrimerError: naming the bad word and what is allowed.
    """
    events: list[int] = []
    for word in (w for w in re.split(r"[\s,\[\]]+", text) if w):
        if word in ("-", "_", "-2"):
            events.append(-2)
        elif word.lower() in ("r", ".", "-1"):
            events.append(-1)
        elif (pitch := note_number(word)) is not None:
            events.append(pitch)
        else:
            raise PrimerError(f"melody: {word!r} is not a note. Expected {WORDS_HELP}", word)
    if not events:
        raise PrimerError(f"the melody is empty. Expected {WORDS_HELP}")
    if len(events) > MAX_PRIMER_STEPS:
        raise PrimerError(f"the melody has {len(events)} steps; at most {MAX_PRIMER_STEPS} are allowed")
    if events[0] == -2:
        events[0] = -1  # nothing to hold yet
    return tuple(events)

