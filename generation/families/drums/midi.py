"""Drum tracks to and from MIDI: General MIDI drums on channel 10, and Magenta's `--primer_drums` syntax."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from generation.errors import InputError
from generation.families.drums.config import STEPS_PER_QUARTER
from generation.families.drums.encoding import DrumStep

if TYPE_CHECKING:
    import pretty_midi

MAX_PRIMER_STEPS = 1024  # 64 bars of 16ths
VELOCITY = 100  # Magenta's DrumTrack.to_sequence writes every hit at 100
DRUMS_HELP = 'a list of steps, one per 16th note, each the GM drum pitches struck, e.g. "[(36, 42), (), (42,), ()]"'
_STEP = re.compile(r"\(([^()]*)\)")
_INT = re.compile(r"^[+-]?\d+$")


def parse_primer_drums(text: str) -> tuple[DrumStep, ...]:
    """Parse Magenta's `--primer_drums` "[(36,), (), (42,), ()]" (read as text, never evaluated).

    Raises:
        InputError: naming the bad step or token and what is allowed.
    """
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise InputError(f"primer drums {text[:40]!r}: expected {DRUMS_HELP}.")
    inner = body[1:-1]
    leftover = _STEP.sub("", inner).strip(" ,\t\n")
    if leftover:
        raise InputError(f"primer drums: {leftover.split()[0]!r} is outside any (...) step. Expected {DRUMS_HELP}.")
    groups = _STEP.findall(inner)
    if len(groups) > MAX_PRIMER_STEPS:
        raise InputError(f"primer drums has {len(groups)} steps; at most {MAX_PRIMER_STEPS} are allowed.")
    steps = []
    for i, group in enumerate(groups, 1):
        pitches = set()
        for tok in (t for t in re.split(r"[\s,]+", group) if t):
            if not _INT.match(tok) or not 0 <= int(tok) <= 127:
                raise InputError(f"primer drums, step {i}: {tok!r} is not a MIDI drum pitch (0-127). "
                                 f"Expected {DRUMS_HELP}.")
            pitches.add(int(tok))
        steps.append(frozenset(pitches))
    if not steps:
        raise InputError(f"primer drums {text[:40]!r} has no steps. Expected {DRUMS_HELP}.")
    return tuple(steps)


def drums_midi(steps: Sequence[DrumStep], qpm: float, velocity: int = VELOCITY) -> pretty_midi.PrettyMIDI:
    """One drum track (is_drum: MIDI channel 10, the GM kit) lasting exactly len(steps) 16th notes at `qpm`.

    Each hit lasts one step, as in Magenta's DrumTrack.
    """
    import pretty_midi

    step_s = 60.0 / qpm / STEPS_PER_QUARTER
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    kit = pretty_midi.Instrument(0, is_drum=True, name="Drums")
    kit.notes = [pretty_midi.Note(velocity, p, t * step_s, (t + 1) * step_s)
                 for t, step in enumerate(steps) for p in sorted(step)]
    midi.instruments.append(kit)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    # A text event at the very end, so the file lasts every step even when the track ends in silence.
    midi.text_events.append(pretty_midi.Text("end", len(steps) * step_s))
    return midi


def read_primer_drum_midi(path: Path, display_name: str = "") -> tuple[tuple[DrumStep, ...], float]:
    """A MIDI file's drums as 16th steps from the bar line before the first hit, and the file's tempo (qpm).

    The steps run to the file's end, but not past the bar of the last hit.

    Drum tracks (channel 10) are read; a file without any is read whole, as Magenta does. The file is held to
    the primer limits before a parser reads it.

    Raises:
        InputError: missing, beyond a limit, not MIDI, without notes, or longer than MAX_PRIMER_STEPS.
    """
    from generation.music.midi_limits import PRIMER_LIMITS, check_size, count_events

    name = display_name or path.name
    if not path.is_file():
        raise InputError(f"MIDI file {str(path)!r} does not exist.")
    what = f"the MIDI file {name}"
    check_size(path.stat().st_size, what, PRIMER_LIMITS)
    count_events(path.read_bytes(), what, PRIMER_LIMITS)
    return _read_counted(path, name)


def read_primer_drum_bytes(data: bytes, what: str, name: str) -> tuple[tuple[DrumStep, ...], float]:
    """`read_primer_drum_midi` for an attachment's bytes (run in the bot's sandboxed reader, see chat.py).

    Raises:
        InputError: beyond a limit, not MIDI, without notes, or too long.
    """
    import tempfile

    from generation.music.midi_limits import PRIMER_LIMITS, count_events

    count_events(data, what, PRIMER_LIMITS)
    with tempfile.TemporaryDirectory(prefix="drums-") as folder:
        path = Path(folder) / "primer.mid"
        path.write_bytes(data)
        return _read_counted(path, name)


def _read_counted(path: Path, name: str) -> tuple[tuple[DrumStep, ...], float]:
    """Drum steps and qpm of a file that passed `count_events` (so the parser's work is bounded)."""
    import pretty_midi

    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as e:  # pretty_midi/mido raise many types for corrupt files
        raise InputError(f"MIDI file {name!r} is not a readable MIDI file ({type(e).__name__}).") from e
    drums = [n for inst in midi.instruments if inst.is_drum for n in inst.notes]
    notes = drums or [n for inst in midi.instruments for n in inst.notes]
    if not notes:
        raise InputError(f"MIDI file {name!r} has no notes.")
    _, tempi = midi.get_tempo_changes()
    qpm = float(tempi[0]) if len(tempi) else 120.0
    step_s = 60.0 / qpm / STEPS_PER_QUARTER
    first = min(n.start for n in notes)
    downbeats = [b for b in midi.get_downbeats() if b <= first + 1e-6]
    origin = float(downbeats[-1]) if downbeats else 0.0
    onsets = {(max(0, round((n.start - origin) / step_s)), n.pitch) for n in notes}
    # The primer lasts to the file's end (a one-bar groove keeps its silent last 16ths), but not past the bar
    # of its last hit: a long-held cymbal does not add bars of silence.
    last = max(t for t, _ in onsets)
    bar_end = (last // 16 + 1) * 16
    length = min(bar_end, max(last + 1, round((midi.get_end_time() - origin) / step_s)))
    if length > MAX_PRIMER_STEPS:
        raise InputError(f"MIDI file {name!r} lasts {length / 16:.1f} bars of 4/4; a drum primer may last at most "
                         f"{MAX_PRIMER_STEPS // 16} bars: shorten it or use its opening.")
    steps: list[set[int]] = [set() for _ in range(length)]
    for t, pitch in onsets:
        steps[t].add(pitch)
    return tuple(frozenset(s) for s in steps), qpm
