"""A user's MIDI file read for MusicVAE: its melody, bass and drum parts on 16th steps, fitted to the model's bars.

What Magenta users trip over is handled here rather than refused: drums written on a channel other than 10, the
tune inside a piano part, files longer or shorter than the model's 2 bars, a note held over the bar line where a
file is cut, two inputs in different keys (MusicVAE's z is pitch by pitch, so a tune a third away encodes as a
different tune), notes outside MIDI 21-108. No TensorFlow; pretty_midi only where a file is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from generation.data.leadsheet import NO_EVENT, NOTE_OFF
from generation.errors import InputError
from generation.families.drums.encoding import DrumStep
from generation.families.music_vae.config import MAX_PITCH, MIN_PITCH, STEPS_PER_BAR, Kind, MusicVaeConfig
from generation.families.music_vae.midi_grid import (
    BASS_PROGRAMS,
    MAX_STEPS,
    GridNote,
    file_bytes,
    line,
    note_grid,
    pad_events,
    parse_midi,
    plays_drums,
    sounding,
    track_name,
)
from generation.music.notes import melody_events_notes
from generation.quality.texture import Key, estimate_key

if TYPE_CHECKING:
    import pretty_midi

Track = tuple[Any, ...]  # melody events or DrumSteps, one per 16th step
_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class Parts:
    """The parts of one MIDI file on a common grid of 16th steps, step 0 on the bar line before its first note.

    Attributes:
        melody: the top line of the highest pitched instrument, as melody events (-2 hold, -1 off, 0-127 on).
        bass: the bottom line of the lowest other instrument (or the low register of a lone two-handed part).
        drums: the pitches struck at each step (channel 10, or a track that plays drums on another channel).
        qpm: the file's first tempo.
        steps_per_bar: 16 (4/4 bars, as MusicVAE's).
        notes: what was guessed, for the user (drums found on another channel, a bass split from one part ...).
    """

    melody: tuple[int, ...] | None
    bass: tuple[int, ...] | None
    drums: tuple[DrumStep, ...] | None
    qpm: float
    steps_per_bar: int = STEPS_PER_BAR
    notes: tuple[str, ...] = ()


def read_parts(midi: pretty_midi.PrettyMIDI, what: str) -> Parts:
    """The melody, bass and drum parts of a parsed MIDI file (`what` names it in messages).

    Raises:
        InputError: the file has no notes.
    """
    found = note_grid(midi, f"{what} has no notes.")
    instruments, step, origin, qpm = found.instruments, found.step, found.origin, found.qpm
    grid = dict(enumerate(found.notes))
    notes: list[str] = []
    last_end = max(found.last_end, 1)
    file_end = round(step(midi.get_end_time()) - origin)
    # To the file's end (a 2-bar loop keeps its silent last beat), not past the bar of its last note.
    length = min(-(-last_end // STEPS_PER_BAR) * STEPS_PER_BAR, max(last_end, file_end), MAX_STEPS)
    if last_end > MAX_STEPS:
        notes.append(f"{what}: only its first {MAX_STEPS // STEPS_PER_BAR} bars are read")
    signatures = midi.time_signature_changes
    if signatures and signatures[0].numerator * 16 != STEPS_PER_BAR * signatures[0].denominator:
        notes.append(f"{what} is in {signatures[0].numerator}/{signatures[0].denominator}; it is read in bars "
                     "of 4/4, MusicVAE's")

    drum_ids = [i for i, inst in enumerate(instruments) if inst.is_drum]
    if not drum_ids:
        drum_ids = [i for i, inst in enumerate(instruments) if plays_drums(inst, grid[i], step)]
        for i in drum_ids:
            notes.append(f"{what}: {track_name(instruments[i], i)} is not on MIDI channel 10 but plays drums "
                         "(drum-kit keys, short hits); it is read as the drum part")
    drums = None
    if any(grid[i] for i in drum_ids):
        hits: list[set[int]] = [set() for _ in range(length)]
        for i in drum_ids:
            for on, _, pitch in grid[i]:
                if on < length:
                    hits[on].add(pitch)
        drums = tuple(frozenset(h) for h in hits)

    pitched = [i for i in grid if i not in drum_ids and grid[i]]
    melody = bass = None
    if pitched:
        mean = {i: float(np.mean([p for _, _, p in grid[i]])) for i in pitched}
        is_bass = {i: instruments[i].program in BASS_PROGRAMS for i in pitched}
        top = max([i for i in pitched if not is_bass[i]] or pitched, key=lambda i: mean[i])
        melody = pad_events(line(grid[top], lowest=False), length)
        others = [i for i in pitched if i != top]
        if others:  # GM's bass programs first, then the lowest instrument
            low = min([i for i in others if is_bass[i]] or others, key=lambda i: mean[i])
            bass = pad_events(line(grid[low], lowest=True), length)
        elif is_bass[top]:
            bass = pad_events(line(grid[top], lowest=True), length)
        else:
            split = _register_split(grid[top], length)
            if split is not None:
                bass = pad_events(line([n for n in grid[top] if n[2] < split], lowest=True), length)
                notes.append(f"{what}: one instrument plays in two registers; its notes below "
                             f"{_pitch_name(split)} are read as the bass")
    return Parts(melody, bass, drums, qpm, STEPS_PER_BAR, tuple(notes))


def read_parts_bytes(data: bytes, what: str, name: str) -> tuple[dict[str, list[Any]], float]:
    """`read_parts` of an attachment's bytes, in the form the sandboxed reader answers: ({"melody": [events],
    "bass": [events], "drums": [[pitches] per step]} with only the parts found, qpm). `what` ("the attachment
    tune.mid") names the file in refusals.

    Raises:
        InputError: beyond a limit, not MIDI, or without notes.
    """
    parts = read_parts(parse_midi(data, what), what)
    return parts_answer(parts), parts.qpm


def parts_answer(parts: Parts) -> dict[str, list[Any]]:
    """The parts found, as lists the sandbox can answer with (drums: each step's pitches, sorted)."""
    found: dict[str, list[Any]] = {}
    if parts.melody is not None:
        found["melody"] = list(parts.melody)
    if parts.bass is not None:
        found["bass"] = list(parts.bass)
    if parts.drums is not None:
        found["drums"] = [sorted(s) for s in parts.drums]
    return found


def read_parts_file(path: Path, name: str = "") -> Parts:
    """`read_parts` of a file on disk, held to the primer limits before pretty_midi reads it.

    Raises:
        InputError: missing, beyond a limit, not MIDI, or without notes.
    """
    name = name or path.name
    return read_parts(parse_midi(file_bytes(path, name), name), name)


def needed_part(parts: Parts, config: MusicVaeConfig, what: str) -> Track:
    """The part `config` encodes: the drums of a drum config, else the melody.

    Raises:
        InputError: naming the file and the part it lacks.
    """
    if config.kind == "drums":
        if parts.drums is None:
            raise InputError(f"{what} has no drum part (no track on MIDI channel 10 and none that looks like "
                             f"drums); {config.name} needs one.")
        return parts.drums
    if parts.melody is None:
        raise InputError(f"{what} has no melody (it holds only drums); {config.name} needs one.")
    return parts.melody


def align(tracks: Sequence[tuple[str, Sequence[Any]]], kind: Kind, steps: int, transpose: bool
          ) -> tuple[list[Track], list[str]]:
    """Fit each (file name, part) to the model's `steps`: from the first bar line with a note, trimmed to `steps`
    or looped in whole bars to fill them; melodies moved by octaves into MIDI 21-108 and, with `transpose`, the
    second and later ones to the first one's key. Returns the tracks and notes saying what was done.

    Raises:
        InputError: a part with less than one bar of music (naming the file), or a melody wider than 88 keys.
    """
    fitted: list[Track] = []
    notes: list[str] = []
    for name, events in tracks:
        part = [int(e) for e in events] if kind == "melody" else [frozenset(int(p) for p in e) for e in events]
        track, note = _fit_length(name, part, kind, steps)
        fitted.append(track)
        notes += note
    if kind == "melody":
        fitted, moved = _fit_pitches([name for name, _ in tracks], fitted, transpose)
        notes += moved
    return fitted, notes


def join_tracks(tracks: Sequence[Sequence[Any]], kind: Kind) -> Track:
    """Tracks end to end; a melody's note that would run on into a next track starting without an event stops."""
    out: list[Any] = []
    for track in tracks:
        part = list(track)
        if kind == "melody" and part and part[0] == NO_EVENT and sounding(out):
            part[0] = NOTE_OFF
        out += part
    return tuple(out)


# --- reading ----------------------------------------------------------------------------------------------------






def _register_split(notes: Sequence[GridNote], length: int) -> float | None:
    """The pitch between a lone instrument's low and high registers, if it plays two at once: at a quarter or
    more of its onsets several notes sound, and the lowest of them lies an octave or more under the highest."""
    roll = np.zeros((max(length, 1), 128), bool)
    for on, end, pitch in notes:
        roll[on:end, pitch] = True
    onsets = sorted({on for on, _, _ in notes if on < length})
    rows = roll[onsets]
    poly = rows.sum(axis=1) >= 2
    if not onsets or poly.mean() < 0.25:
        return None
    low = np.argmax(rows[poly], axis=1)
    high = 127 - np.argmax(rows[poly][:, ::-1], axis=1)
    low_median, high_median = float(np.median(low)), float(np.median(high))
    return (low_median + high_median) / 2 if high_median - low_median >= 12 else None








def _pitch_name(pitch: float) -> str:
    p = int(np.ceil(pitch))
    return f"{_NAMES[p % 12]}{p // 12 - 1}"


# --- fitting to the model ---------------------------------------------------------------------------------------
def _fit_length(name: str, events: list[Any], kind: Kind, steps: int) -> tuple[Track, list[str]]:
    """The part from its first bar line with a note, trimmed or looped (whole bars) to `steps`."""
    bar = STEPS_PER_BAR
    struck = [t for t, e in enumerate(events) if (e >= 0 if kind == "melody" else e)]
    if not struck:
        raise InputError(f"{name} has no notes in its {'melody' if kind == 'melody' else 'drum part'}.")
    # Cut at the bar line of the first note: no note is held over the cut, so step 0 stays a valid event.
    start = struck[0] // bar * bar
    body = events[start:]
    # Whole bars, rounded: a file often ends with its last note, short of the bar line (no end marker), and a
    # last note held a little over the bar line adds no bar.
    bars = int(len(body) / bar + 0.5)
    if bars < 1:
        raise InputError(f"{name} has {len(body)} sixteenth notes of music from its first bar line with a note, "
                         f"less than one bar; MusicVAE needs at least one 4/4 bar (16 sixteenth notes; a bar "
                         f"at least half played counts) to loop to {steps // bar} bars.")
    body = list(pad_events(body, bars * bar)) if kind == "melody" else (body + [frozenset()] * bar)[:bars * bar]
    was = f"{name} was {len(events[start:]) / bar:.3g} bar{'s' if len(events[start:]) != bar else ''}"
    opening = f"from bar {start // bar + 1}, " if start else ""
    if len(body) >= steps:
        note = [f"{was}: {opening}its first {steps // bar} bars are used"] if len(body) > steps or start else []
        return tuple(body[:steps]), note
    times = -(-steps // len(body))
    looped = join_tracks([body] * times, kind)[:steps]
    return looped, [f"{was}: {opening}looped {times} times to fill {steps // bar} bars"]


def _fit_pitches(names: Sequence[str], tracks: list[Track], transpose: bool) -> tuple[list[Track], list[str]]:
    """Melodies in MIDI 21-108, the second and later ones (with `transpose`) in the first one's key."""
    keys = [estimate_key(melody_events_notes(t)) for t in tracks]
    out: list[Track] = []
    notes: list[str] = []
    for i, (name, track) in enumerate(zip(names, tracks, strict=True)):
        to_key = 0
        if transpose and i > 0 and keys[0].clarity > 0 and keys[i].clarity > 0:
            # Compare the scales (a minor key by its relative major), and move the shorter way round.
            to_key = (relative_major(keys[0]) - relative_major(keys[i]) + 6) % 12 - 6
        pitches = [e + to_key for e in track if e >= 0]
        octaves = octaves_into_range(pitches)
        shift = to_key + 12 * octaves
        moved = tuple(fold_into_range(e + shift) if e >= 0 else e for e in track)
        folded = sum(e + shift != m for e, m in zip(track, moved, strict=True) if e >= 0)
        direction = "up" if shift > 0 else "down"
        if to_key:
            key = Key((keys[i].tonic + to_key) % 12, keys[i].minor, keys[i].clarity)
            octave_note = " (by octaves into MusicVAE's range, MIDI 21-108)" if octaves else ""
            notes.append(f"{name} transposed {direction} {counted(abs(shift), 'semitone')} to {key}{octave_note}")
        elif octaves:
            notes.append(f"{name} moved {direction} {counted(abs(octaves), 'octave')} into MusicVAE's range "
                         "(MIDI 21-108)")
        if folded:
            notes.append(f"{name}: {counted(folded, 'note')} outside MIDI 21-108 folded in by octaves")
        out.append(moved)
    return out, notes


def relative_major(key: Key) -> int:
    return (key.tonic + 3) % 12 if key.minor else key.tonic


def octaves_into_range(pitches: Sequence[int]) -> int:
    """The octave shift that leaves the fewest pitches outside MIDI 21-108 (the smallest such shift)."""
    if not pitches:
        return 0
    lo, hi = min(pitches), max(pitches)
    if lo >= MIN_PITCH and hi < MAX_PITCH:
        return 0

    def outside(k: int) -> int:
        return sum(not MIN_PITCH <= p + 12 * k < MAX_PITCH for p in pitches)

    return min(range(-10, 11), key=lambda k: (outside(k), abs(k)))


def fold_into_range(pitch: int) -> int:
    while pitch < MIN_PITCH:
        pitch += 12
    while pitch >= MAX_PITCH:
        pitch -= 12
    return pitch


def counted(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
