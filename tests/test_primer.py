"""Primers: Magenta's --primer_melody list syntax, and the top line of a user's MIDI file."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import pretty_midi
import pytest

from generation.errors import InputError
from generation.music.midi_limits import PRIMER_LIMITS
from generation.music.primer import parse_primer_melody, parse_primer_pianoroll, parse_primer_pitches, read_primer_midi

HOLD, OFF = -2, -1


@pytest.mark.parametrize(
    ("text", "events"),
    [
        ("[60]", (60,)),
        ("[60, -2, 62, -1]", (60, HOLD, 62, OFF)),
        ("60 -2 62", (60, HOLD, 62)),
        ("[ 60,-2 ,62 ]", (60, HOLD, 62)),
        ("[0, 127]", (0, 127)),
    ],
)
def test_primer_melody_accepted(text: str, events: tuple[int, ...]) -> None:
    """Magenta's list form, with or without brackets and commas, reads as the events typed."""
    assert parse_primer_melody(text) == events


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[60, 200]", "'200'"),
        ("[60,", "'[60,'"),
        ("[abc]", "'abc'"),
        ("[]", "'[]'"),
        ("[-3]", "'-3'"),
        ("[60.5]", "'60.5'"),
    ],
)
def test_primer_melody_rejected(text: str, named: str) -> None:
    """A bad primer raises InputError that quotes the offending token and explains the format."""
    with pytest.raises(InputError) as info:
        parse_primer_melody(text)
    message = str(info.value)
    assert named in message
    assert "-2 hold, -1 note off, 0-127 note on" in message


def _write_midi(
    path: Path,
    parts: Sequence[Sequence[tuple[int, float, float]]],
    qpm: float = 100.0,
    drums: bool = False,
) -> Path:
    """Writes one instrument per part; each note is (pitch, start step, end step) in 16th notes at `qpm`."""
    step_s = 60.0 / qpm / 4
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    for notes in parts:
        inst = pretty_midi.Instrument(program=0, is_drum=drums)
        inst.notes = [pretty_midi.Note(100, p, s * step_s, e * step_s) for p, s, e in notes]
        midi.instruments.append(inst)
    midi.write(str(path))
    return path


def test_midi_melody_reads_back_as_events_and_tempo(tmp_path: Path) -> None:
    """C for a beat, D for an eighth, an eighth rest, E for a beat: onsets, holds, a note-off, 100 qpm."""
    path = _write_midi(tmp_path / "tune.mid", [[(60, 0, 4), (62, 4, 6), (64, 8, 12)]], qpm=100)
    events, qpm = read_primer_midi(path)
    assert events == (60, HOLD, HOLD, HOLD, 62, HOLD, OFF, HOLD, 64, HOLD, HOLD, HOLD)
    assert qpm == pytest.approx(100.0)


def test_midi_tempo_is_the_files(tmp_path: Path) -> None:
    """The same notes at 75 qpm still land on the same 16th-note steps, and the tempo is 75."""
    path = _write_midi(tmp_path / "slow.mid", [[(67, 0, 2), (65, 2, 4)]], qpm=75)
    events, qpm = read_primer_midi(path)
    assert events == (67, HOLD, 65, HOLD)
    assert qpm == pytest.approx(75.0)


def test_slightly_late_notes_snap_to_the_grid(tmp_path: Path) -> None:
    """A human-played onset a few milliseconds off the grid lands on the nearest 16th note."""
    path = _write_midi(tmp_path / "played.mid", [[(60, 0, 2.1), (62, 2.1, 3.9), (64, 3.9, 6)]], qpm=120)
    events, _ = read_primer_midi(path)
    assert events == (60, HOLD, 62, HOLD, 64, HOLD)


def test_primer_starting_after_a_rest_keeps_its_place_in_the_bar(tmp_path: Path) -> None:
    """A primer whose first note is on beat 2 still starts on beat 2 (as in Magenta), not pulled onto beat 1.

    Magenta's melody extraction starts the primer at the bar line before its first note, so the chords
    under it stay where the user put them.
    """
    path = _write_midi(tmp_path / "late.mid", [[(60, 4, 8), (62, 8, 12)]])
    events, _ = read_primer_midi(path)
    assert events[4:] == (60, HOLD, HOLD, HOLD, 62, HOLD, HOLD, HOLD)
    assert all(e < 0 for e in events[:4])


def test_polyphonic_midi_keeps_the_top_note(tmp_path: Path) -> None:
    """Block chords (even across two tracks) become their highest note, as Magenta's melody extraction does."""
    right_hand = [(64, 0, 4), (67, 0, 4), (65, 4, 8), (72, 8, 12)]
    left_hand = [(48, 0, 4), (60, 0, 4), (50, 4, 8), (62, 4, 8), (55, 8, 12)]
    path = _write_midi(tmp_path / "chords.mid", [right_hand, left_hand])
    events, _ = read_primer_midi(path)
    assert events == (67, HOLD, HOLD, HOLD, 65, HOLD, HOLD, HOLD, 72, HOLD, HOLD, HOLD)


def test_random_bytes_are_not_midi(tmp_path: Path) -> None:
    """A file of noise is reported as not a MIDI file, naming it and saying what a primer must be."""
    path = tmp_path / "noise.mid"
    path.write_bytes(b"RIFF" + os.urandom(4000))
    with pytest.raises(InputError, match=r"^the MIDI file noise\.mid is not a MIDI file .*Standard MIDI File"):
        read_primer_midi(path)


def test_truncated_midi_is_not_midi(tmp_path: Path) -> None:
    """A MIDI header with a cut-off track says which track claims more bytes than follow."""
    path = tmp_path / "cut.mid"
    path.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\xdcMTrk\xff\xff\xff\xff")
    with pytest.raises(InputError, match=r"^the MIDI file cut\.mid is cut off or damaged: track 1 claims "
                                         r"4,294,967,295 bytes but only 0 follow"):
        read_primer_midi(path)


@pytest.mark.parametrize(("body", "why"), [
    (b"\x00\x90\x3c", "an event runs past the end of the track"),
    (b"\x00\x90\x3c\xc8\x00\xff\x2f\x00", "a data byte above 127"),
    (b"\x00\x3c\x64\x00\xff\x2f\x00", "running status with no status byte before it"),
    (b"\x00\xf4\x00\xff\x2f\x00", "an undefined status byte 0xF4"),
    (b"\xff\xff\xff\xff\x7f\x90\x3c\x64", "a length longer than 4 bytes"),
])
def test_damaged_track_names_the_track_and_the_byte(tmp_path: Path, body: bytes, why: str) -> None:
    """Events that do not read as MIDI are refused before any parser, saying where and how."""
    path = tmp_path / "bad.mid"
    path.write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\xdcMTrk" + len(body).to_bytes(4, "big") + body)
    with pytest.raises(InputError, match=rf"^the MIDI file bad\.mid is not a readable MIDI file: track 1 is "
                                         rf"damaged at byte [0-9,]+ \({why}\)\.$"):
        read_primer_midi(path)


def test_smpte_timed_midi_is_refused(tmp_path: Path) -> None:
    """Time in SMPTE frames (negative division) has no beats to put a melody on: refused, saying what is needed."""
    path = tmp_path / "film.mid"
    path.write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\xe7\x28MTrk\x00\x00\x00\x04\x00\xff\x2f\x00")
    with pytest.raises(InputError, match="counts time in SMPTE frames; a primer must count in beats"):
        read_primer_midi(path)


def test_many_time_signatures_refused_before_parsing(tmp_path: Path) -> None:
    """1,001 time signatures (pretty_midi's beat tracking grows with each) exceed the 1,000 allowed."""
    path = _write_midi(tmp_path / "meters.mid", [[(60, 0, 4)]])
    midi = pretty_midi.PrettyMIDI(str(path))
    midi.time_signature_changes = [pretty_midi.TimeSignature(3 + i % 2, 4, i * 0.01) for i in range(1001)]
    midi.write(str(path))
    with pytest.raises(InputError, match=r"^the MIDI file meters\.mid has 1,001 time signature changes; a primer "
                                         r"may have at most 1,000\.$"):
        read_primer_midi(path)


def test_midi_without_notes(tmp_path: Path) -> None:
    """A valid MIDI file with no notes says there is nothing to continue from."""
    path = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(path))
    with pytest.raises(InputError, match="has no .*notes"):
        read_primer_midi(path)


def test_drum_only_midi_has_no_melody(tmp_path: Path) -> None:
    """Drum hits are not a melody."""
    path = _write_midi(tmp_path / "drums.mid", [[(36, 0, 1), (38, 4, 5)]], drums=True)
    with pytest.raises(InputError, match="has no .*notes"):
        read_primer_midi(path)


def test_missing_midi(tmp_path: Path) -> None:
    """A path that is not there is named in the message."""
    path = tmp_path / "nowhere.mid"
    with pytest.raises(InputError, match="does not exist") as info:
        read_primer_midi(path)
    assert str(path) in str(info.value)


def test_oversized_midi_is_refused_before_parsing(tmp_path: Path) -> None:
    """A file over 1 MB is refused with its size and the limit, without trying to read it."""
    path = tmp_path / "huge.mid"
    path.write_bytes(b"MThd" + bytes(2 * PRIMER_LIMITS.max_bytes))
    with pytest.raises(InputError) as info:
        read_primer_midi(path)
    assert str(info.value) == "the MIDI file huge.mid is 2.0 MB; a primer may be at most 1.0 MB."


@pytest.mark.parametrize(("text", "pitches"), [("[67,64,60]", (67, 64, 60)), ("67 64 60", (67, 64, 60)),
                                               ("[60, 60, 64]", (60, 64))])
def test_primer_pitches_accepted(text: str, pitches: tuple[int, ...]) -> None:
    """Magenta's --primer_pitches list, with or without brackets and commas; repeats collapse."""
    assert parse_primer_pitches(text) == pitches


@pytest.mark.parametrize(("text", "named"), [("[67, 128]", "'128'"), ("[C, E, G]", "'C'"), ("[]", "empty"),
                                             ("[60, 64", "unbalanced")])
def test_primer_pitches_rejected(text: str, named: str) -> None:
    with pytest.raises(InputError, match=named) as info:
        parse_primer_pitches(text)
    assert "MIDI pitches 0-127" in str(info.value) or "unbalanced" in named


def test_primer_pianoroll_reads_the_lectures_example() -> None:
    """The lecture's C major arpeggio primer, trailing commas and empty steps included."""
    steps = parse_primer_pianoroll("[(55,), (55,64,), (55,64,72,), (55,64,72,79,), ()]")
    assert steps == (frozenset({55}), frozenset({55, 64}), frozenset({55, 64, 72}), frozenset({55, 64, 72, 79}),
                     frozenset())


@pytest.mark.parametrize(("text", "named"), [("[(55,), (200,)]", "step 2: '200'"), ("[(55,) x]", "'x'"),
                                             ("(55,)", "expected"), ("[]", "no steps")])
def test_primer_pianoroll_rejected(text: str, named: str) -> None:
    with pytest.raises(InputError, match=re.escape(named)):
        parse_primer_pianoroll(text)


def test_rests_closing_the_last_bar_are_part_of_the_primer(tmp_path: Path) -> None:
    """A result's MIDI ends with its bar line (an end marker after its rests): Longer continues after the rests,
    on the bar line. A marker far past the last bar adds rests only to that bar's line."""
    for marker_step, length in ((32, 32), (80, 32), (20, 28)):
        path = _write_midi(tmp_path / "tune.mid", [[(60, 0, 8), (67, 8, 12), (64, 16, 28)]], qpm=120)
        midi = pretty_midi.PrettyMIDI(str(path))
        midi.text_events.append(pretty_midi.Text("end", marker_step * 0.125))
        midi.write(str(path))
        events, _ = read_primer_midi(path)
        assert len(events) == length, (marker_step, events)
        assert events[:28] == (60, *[HOLD] * 7, 67, *[HOLD] * 3, OFF, *[HOLD] * 3, 64, *[HOLD] * 11)
        assert events[28:] == ((OFF, *[HOLD] * 3) if length == 32 else ())
