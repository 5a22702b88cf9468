"""Magenta's polyphony encoding: notes on a 16th-note grid <-> START / NEW_NOTE / CONTINUED_NOTE / STEP_END events."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from generation.music.notes import Note, melody_events_notes

STEPS_PER_QUARTER = 4
# Class ids in Magenta's PolyphonyOneHotEncoding order: 3 plain events, then 128 NEW_NOTE, then 128 CONTINUED_NOTE.
START, END, STEP_END = 0, 1, 2
NEW_NOTE = 3
CONTINUED_NOTE = NEW_NOTE + 128
NUM_CLASSES = CONTINUED_NOTE + 128  # 259
VELOCITY = 100


def new_note(pitch: int) -> int:
    return NEW_NOTE + pitch


def continued_note(pitch: int) -> int:
    return CONTINUED_NOTE + pitch


def class_pitch(cls: int) -> int | None:
    """The pitch a note event carries; None for START, END, STEP_END."""
    return (cls - NEW_NOTE) % 128 if cls >= NEW_NOTE else None


def notes_to_events(notes: Sequence[Note], total_steps: int, start: bool = True, end: bool = False) -> list[int]:
    """Notes -> event classes, one STEP_END closing each of `total_steps` steps.

    Within a step, note events come highest pitch first, new and continued mixed, as Magenta's
    polyphony_lib orders them. Two notes of one pitch sounding together are one (a unison); a pitch struck
    while it already sounds is a NEW_NOTE (the old note ends there).
    """
    frames: list[dict[int, bool]] = [{} for _ in range(total_steps)]  # step -> pitch -> is new
    for n in notes:
        for t in range(max(n.start, 0), min(n.end, total_steps)):
            frames[t][n.pitch] = frames[t].get(n.pitch, False) or t == n.start
    events = [START] if start else []
    for frame in frames:
        events += [new_note(p) if is_new else continued_note(p) for p, is_new in sorted(frame.items(), reverse=True)]
        events.append(STEP_END)
    if end:
        events.append(END)
    return events


def events_to_notes(events: Sequence[int] | np.ndarray, velocity: int = VELOCITY) -> tuple[list[Note], int]:
    """Event classes -> (notes, number of complete steps). Reads leniently, as Magenta's to_sequence does.

    A pitch sounding in one step ends unless the next step continues it; CONTINUED_NOTE of a pitch that
    was not sounding starts it; START anywhere and anything after END are ignored.
    """
    notes: list[Note] = []
    sounding: dict[int, int] = {}  # pitch -> start step, as of the previous step
    this_step: dict[int, int] = {}
    step = 0
    for cls in (int(c) for c in events):
        if cls == END:
            break
        if cls == STEP_END:
            for pitch, begun in sounding.items():
                if this_step.get(pitch) != begun:
                    notes.append(Note(begun, step, pitch, velocity))
            sounding, this_step = this_step, {}
            step += 1
        elif cls >= NEW_NOTE:
            pitch = (cls - NEW_NOTE) % 128
            if cls >= CONTINUED_NOTE and pitch in sounding:
                this_step[pitch] = sounding[pitch]
            else:
                this_step[pitch] = step
    for pitch, begun in sounding.items():
        notes.append(Note(begun, step, pitch, velocity))
    return sorted(notes), step


def melody_primer_notes(events: Sequence[int], velocity: int = VELOCITY) -> list[Note]:
    """Magenta melody events (one per 16th: -2 hold, -1 off, 0-127 on, from parse_primer_melody) -> notes."""
    return melody_events_notes(events, velocity)


def chord_primer_notes(pitches: Sequence[int], velocity: int = VELOCITY) -> list[Note]:
    """Magenta's `--primer_pitches`: the pitches sounding together for one quarter note from step 0."""
    return [Note(0, STEPS_PER_QUARTER, p, velocity) for p in sorted(set(pitches), reverse=True)]


def voices_to_notes(steps: Sequence[Sequence[int]], velocity: int = VELOCITY) -> list[Note]:
    """JSB chorale steps (one pitch per voice, -1 silent) -> notes; a voice's repeated pitch is a held note."""
    notes: list[Note] = []
    if not steps:
        return notes
    for voice in range(len(steps[0])):
        line = [int(s[voice]) for s in steps]
        begun = 0
        for t in range(1, len(line) + 1):
            if t == len(line) or line[t] != line[begun]:
                if line[begun] >= 0:
                    notes.append(Note(begun, t, line[begun], velocity))
                begun = t
    return sorted(notes)
