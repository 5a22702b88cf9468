"""Polyphony RNN encoding: notes <-> Magenta's polyphony events, as Magenta orders them; primers; JSB voices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generation.families.polyphony.encoding import (
    CONTINUED_NOTE,
    END,
    NEW_NOTE,
    NUM_CLASSES,
    START,
    STEP_END,
    chord_primer_notes,
    continued_note,
    events_to_notes,
    melody_primer_notes,
    new_note,
    notes_to_events,
    voices_to_notes,
)
from generation.music.notes import Note, pianoroll_of

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "magenta" / "polyphony.golden.json"


def test_classes_are_magentas() -> None:
    assert (NUM_CLASSES, START, END, STEP_END) == (259, 0, 1, 2)
    assert new_note(0) == NEW_NOTE == 3 and new_note(127) == 130
    assert continued_note(0) == CONTINUED_NOTE == 131 and continued_note(127) == 258


def test_a_held_chord_is_new_notes_then_continued_highest_first() -> None:
    chord = [Note(0, 2, 60), Note(0, 2, 64), Note(0, 1, 67)]
    assert notes_to_events(chord, 3) == [
        START, new_note(67), new_note(64), new_note(60), STEP_END,
        continued_note(64), continued_note(60), STEP_END,
        STEP_END,
    ]


@pytest.mark.parametrize("notes, steps", [
    ([Note(0, 4, 60), Note(0, 4, 64), Note(0, 4, 67)], 8),
    ([Note(0, 2, 72), Note(2, 4, 72), Note(1, 7, 48), Note(3, 5, 55)], 8),  # a repeated pitch stays two notes
    ([Note(5, 6, 127), Note(5, 8, 0)], 8),
    ([], 4),
])
def test_round_trip(notes: list[Note], steps: int) -> None:
    back, got_steps = events_to_notes(notes_to_events(notes, steps, end=True))
    assert got_steps == steps
    assert back == sorted(notes)


def test_events_of_the_magenta_fixture_match_magentas_own() -> None:
    """The 23 source notes of Magenta's golden file encode to exactly the events Magenta wrote."""
    gold = json.loads(GOLDEN.read_text())
    kinds = {"START": START, "END": END, "STEP_END": STEP_END}
    expected = [kinds[t] if t in kinds else (new_note(p) if t == "NEW_NOTE" else continued_note(p))
                for t, p in gold["events"]]
    notes = [Note(s, e, p, v) for p, s, e, v in gold["source_notes_pitch_startstep_endstep_velocity"]]
    assert notes_to_events(notes, max(n.end for n in notes), end=True) == expected


def test_primers_as_magenta_builds_them() -> None:
    assert chord_primer_notes([67, 64, 60]) == [Note(0, 4, 67), Note(0, 4, 64), Note(0, 4, 60)]
    twinkle = melody_primer_notes([60, -2, 60, -2, 67, -2, 67, -2, 69, -2, 69, -2, 67, -2, -2, -2])
    assert [(n.start, n.end, n.pitch) for n in twinkle] == [
        (0, 2, 60), (2, 4, 60), (4, 6, 67), (6, 8, 67), (8, 10, 69), (10, 12, 69), (12, 16, 67)]


def test_jsb_voices_repeated_pitch_is_a_held_note_and_minus_one_is_silence() -> None:
    steps = [[72, 67, -1, 48], [72, 67, 60, 48], [74, 67, 60, -1]]
    notes = voices_to_notes(steps)
    assert Note(0, 2, 72) in notes and Note(0, 3, 67) in notes and Note(1, 3, 60) in notes
    assert Note(0, 2, 48) in notes and Note(2, 3, 74) in notes
    assert pianoroll_of(notes, 3)[0] == frozenset({72, 67, 48})


def test_reading_is_lenient_like_magentas() -> None:
    # A CONTINUED_NOTE of a pitch that is not sounding starts it; events after END are ignored.
    notes, steps = events_to_notes([START, continued_note(60), STEP_END, END, new_note(70), STEP_END])
    assert (notes, steps) == ([Note(0, 1, 60)], 1)
