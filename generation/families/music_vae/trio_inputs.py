"""Trios (melody, bass, drums) fitted to hierdec-trio_16bar's 16 bars as one piece, and trios written as MIDI.

The three parts of a file are fitted together: all from the bar line before the first note of any part, trimmed
to the model's bars or looped in whole bars of the three at once, so a bass that comes in on bar 3 stays under bar
3 of the tune (fitting each part from its own first note would slide the parts against each other). Melody and
bass are moved by octaves into MIDI 21-108 each; a second trio (interpolation) is moved to the first one's key,
melody and bass by the same interval. No TensorFlow; pretty_midi only where MIDI is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from generation.errors import InputError
from generation.families.drums.encoding import DrumStep
from generation.families.music_vae.config import STEPS_PER_BAR, Kind
from generation.families.music_vae.inputs import (
    counted,
    fold_into_range,
    join_tracks,
    octaves_into_range,
    relative_major,
)
from generation.families.music_vae.midi_grid import pad_events
from generation.music.notes import melody_events_notes
from generation.quality.texture import Key, estimate_key

if TYPE_CHECKING:
    import pretty_midi

Trio = tuple[tuple[int, ...], tuple[int, ...], tuple[DrumStep, ...]]  # melody events, bass events, drum steps
MELODY_PROGRAM = 0  # Acoustic Grand Piano: Magenta writes the trio's melody so, and POP909's melodies are piano
BASS_PROGRAM = 33  # Electric Bass (finger), GM 34 counting from 1: Magenta's ELECTRIC_BASS_PROGRAM
VELOCITY = 100  # Magenta's default


def fit_trio(name: str, melody: Sequence[int], bass: Sequence[int], drums: Sequence[Any], steps: int
             ) -> tuple[Trio, list[str]]:
    """The three parts from the bar line before the first note of any of them, trimmed to `steps` or looped
    (whole bars of all three) to fill them. Returns the trio and a note saying what was done.

    Raises:
        InputError: no notes, or less than one bar of music (naming the file).
    """
    bar = STEPS_PER_BAR
    length = max(len(melody), len(bass), len(drums))
    m = [int(e) for e in melody] + [-2] * (length - len(melody))
    b = [int(e) for e in bass] + [-2] * (length - len(bass))
    d = [frozenset(int(p) for p in s) for s in drums] + [frozenset()] * (length - len(drums))
    struck = [t for t in range(length) if m[t] >= 0 or b[t] >= 0 or d[t]]
    if not struck:
        raise InputError(f"{name} has no notes in its melody, bass or drums.")
    start = struck[0] // bar * bar
    body = length - start
    bars = int(body / bar + 0.5)  # a last note held a little over the bar line adds no bar
    if bars < 1:
        raise InputError(f"{name} has {body} sixteenth notes of music from its first bar line with a note, less "
                         f"than one bar; /trio needs at least one 4/4 bar (16 sixteenth notes; a bar at least half "
                         f"played counts) to loop to {steps // bar} bars.")
    size = bars * bar
    parts: list[tuple[Any, ...]] = [pad_events(m[start:], size), pad_events(b[start:], size),
                                    tuple((d[start:] + [frozenset()] * size)[:size])]
    was = f"{name} was {body / bar:.3g} bar{'' if body == bar else 's'}"
    opening = f"from bar {start // bar + 1}, " if start else ""
    if size >= steps:
        note = [f"{was}: {opening}its first {steps // bar} bars of all three parts are used"] if size > steps or start \
            else []
        melody_part, bass_part, drum_part = (p[:steps] for p in parts)
        return (melody_part, bass_part, drum_part), note
    times = -(-steps // size)
    kinds: tuple[Kind, ...] = ("melody", "melody", "drums")
    looped = [join_tracks([p] * times, kind)[:steps] for p, kind in zip(parts, kinds, strict=True)]
    return (looped[0], looped[1], looped[2]), [f"{was}: {opening}all three parts looped {times} times to fill "
                                               f"{steps // bar} bars"]


def fit_pitches(names: Sequence[str], trios: Sequence[Trio], transpose: bool) -> tuple[list[Trio], list[str]]:
    """Melody and bass of each trio by octaves into MIDI 21-108; with `transpose`, the second and later trios moved
    to the first one's key (melody and bass by the same interval; the drums as they are)."""
    keys = [estimate_key(melody_events_notes(t[0]) + melody_events_notes(t[1])) for t in trios]
    out: list[Trio] = []
    notes: list[str] = []
    for i, (name, (melody, bass, drums)) in enumerate(zip(names, trios, strict=True)):
        to_key = 0
        if transpose and i > 0 and keys[0].clarity > 0 and keys[i].clarity > 0:
            to_key = (relative_major(keys[0]) - relative_major(keys[i]) + 6) % 12 - 6
        if to_key:
            key = Key((keys[i].tonic + to_key) % 12, keys[i].minor, keys[i].clarity)
            notes.append(f"{name}: melody and bass transposed {'up' if to_key > 0 else 'down'} "
                         f"{counted(abs(to_key), 'semitone')} to {key}")
        moved = []
        for part, events in (("melody", melody), ("bass", bass)):
            pitches = [e + to_key for e in events if e >= 0]
            octaves = octaves_into_range(pitches)
            shift = to_key + 12 * octaves
            placed = tuple(fold_into_range(e + shift) if e >= 0 else e for e in events)
            folded = sum(e + shift != p for e, p in zip(events, placed, strict=True) if e >= 0)
            if octaves:
                notes.append(f"{name}: {part} moved {'up' if octaves > 0 else 'down'} "
                             f"{counted(abs(octaves), 'octave')} into MusicVAE's range (MIDI 21-108)")
            if folded:
                notes.append(f"{name}: {counted(folded, f'{part} note')} outside MIDI 21-108 folded in by octaves")
            moved.append(placed)
        out.append((moved[0], moved[1], tuple(drums)))
    return out, notes


def align_trios(named: Sequence[tuple[str, Sequence[int], Sequence[int], Sequence[Any]]], steps: int,
                transpose: bool) -> tuple[list[Trio], list[str]]:
    """Each (file name, melody, bass, drums) fitted to `steps` (fit_trio), then their pitches (fit_pitches)."""
    fitted: list[Trio] = []
    notes: list[str] = []
    for name, melody, bass, drums in named:
        trio, note = fit_trio(name, melody, bass, drums, steps)
        fitted.append(trio)
        notes += note
    trios, moved = fit_pitches([n for n, *_ in named], fitted, transpose)
    return trios, notes + moved


def join_trios(trios: Sequence[Trio]) -> Trio:
    """Trios end to end, part by part (a note running into the next trio's silent start stops there)."""
    return (join_tracks([t[0] for t in trios], "melody"), join_tracks([t[1] for t in trios], "melody"),
            join_tracks([t[2] for t in trios], "drums"))


def trio_midi(trio: Trio, qpm: float) -> pretty_midi.PrettyMIDI:
    """Three tracks lasting exactly the trio's steps at `qpm`: "Melody" (piano), "Bass" (electric bass, GM 34)
    and "Drums" on MIDI channel 10, in that order (the piano roll colours each)."""
    import pretty_midi

    from generation.families.drums.midi import drums_midi

    step_s = 60.0 / qpm / 4
    midi = drums_midi(trio[2], qpm, VELOCITY)  # tempo, 4/4, the end marker and the kit
    pitched = []
    for name, program, events in (("Melody", MELODY_PROGRAM, trio[0]), ("Bass", BASS_PROGRAM, trio[1])):
        inst = pretty_midi.Instrument(program, name=name)
        inst.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start * step_s, n.end * step_s)
                      for n in melody_events_notes(events, VELOCITY)]
        pitched.append(inst)
    midi.instruments = [*pitched, *midi.instruments]
    return midi
