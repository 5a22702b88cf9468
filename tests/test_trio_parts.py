"""A user's MIDI file read as a trio for /trio: melody, bass and drums found by channel 10, program or register;
drums written on channel 1 found by their keys and short hits, or refused clearly; a missing part refused with
the file's name, the part and what counts as one; attachments read in the primer sandbox's child process."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pretty_midi
import pytest

from generation.errors import InputError
from generation.families.music_vae.trio_parts import read_trio_bytes, read_trio_file
from generation.music.primer_sandbox import read_primer_attachment

QUARTER = 0.5  # 120 qpm
SIXTEENTH = QUARTER / 4
TUNE = [72, 74, 76, 77, 79, 77, 76, 74]  # quarter notes, C5 up and back
ROOTS = [36, 36, 43, 43, 41, 41, 43, 43]  # C2, G2, F2 in quarters
READER = "generation.families.music_vae.trio_parts:read_trio_bytes"


def _track(program: int, notes: list[tuple[float, float, int]], name: str = "", is_drum: bool = False
           ) -> pretty_midi.Instrument:
    inst = pretty_midi.Instrument(program=program, is_drum=is_drum, name=name)
    inst.notes = [pretty_midi.Note(velocity=100, pitch=p, start=s, end=e) for s, e, p in notes]
    return inst


def melody(program: int = 0, name: str = "Lead", low: bool = False) -> pretty_midi.Instrument:
    shift = -36 if low else 0
    return _track(program, [(i * QUARTER, (i + 1) * QUARTER, p + shift) for i, p in enumerate(TUNE)], name)


def bass(program: int = 33, name: str = "Bass", staccato: bool = False) -> pretty_midi.Instrument:
    length = SIXTEENTH if staccato else QUARTER
    return _track(program, [(i * QUARTER, i * QUARTER + length, p) for i, p in enumerate(ROOTS)], name)


def beat(is_drum: bool = True, name: str = "") -> pretty_midi.Instrument:
    """Two bars of kick on 1 and 3, snare on 2 and 4, closed hi-hat on every 8th (with the kick and snare)."""
    hits = [(t * SIXTEENTH, 42) for t in range(0, 32, 2)]
    hits += [(t * SIXTEENTH, 36) for t in range(0, 32, 8)] + [(t * SIXTEENTH, 38) for t in range(4, 32, 8)]
    return _track(0, [(s, s + 0.05, p) for s, p in hits], name, is_drum=is_drum)


def midi_bytes(*tracks: pretty_midi.Instrument) -> bytes:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    pm.instruments.extend(tracks)
    out = io.BytesIO()
    pm.write(out)
    return out.getvalue()


def write(folder: Path, name: str, *tracks: pretty_midi.Instrument) -> Path:
    path = folder / name
    path.write_bytes(midi_bytes(*tracks))
    return path


def test_melody_bass_and_channel_10_drums_are_found_on_the_16th_grid(tmp_path: Path) -> None:
    parts = read_trio_file(write(tmp_path, "trio.mid", beat(), bass(), melody()))
    assert parts.tracks == {"melody": "the track 'Lead'", "bass": "the track 'Bass'", "drums": "track 1"}
    assert parts.notes == () and parts.qpm == 120.0
    assert len(parts.melody) == len(parts.bass) == len(parts.drums) == 32
    assert [e for e in parts.melody if e >= 0] == TUNE and parts.melody[4] == 74
    assert [e for e in parts.bass if e >= 0] == ROOTS
    assert parts.drums[0] == {36, 42} and parts.drums[4] == {38, 42} and parts.drums[2] == {42}
    assert parts.drums[1] == frozenset()


def test_drums_on_channel_1_are_found_by_their_keys_and_short_hits(tmp_path: Path) -> None:
    # No channel 10; the bass is staccato in the drum keys' range (C2-G2) but has a bass program, so it stays
    # the bass, and the beat on channel 1 is read as the drums, with a note saying so.
    parts = read_trio_file(write(tmp_path, "ch1.mid", melody(), bass(staccato=True), beat(is_drum=False)))
    assert parts.tracks["drums"] == "track 3" and parts.tracks["bass"] == "the track 'Bass'"
    assert parts.drums[0] == {36, 42} and [e for e in parts.bass if e >= 0] == ROOTS
    assert any("not on MIDI channel 10 but plays drums" in note for note in parts.notes)


def test_a_low_track_without_a_bass_program_is_the_bass_by_register(tmp_path: Path) -> None:
    parts = read_trio_file(write(tmp_path, "piano.mid", melody(), melody(program=0, name="Left hand", low=True),
                                 beat()))
    assert parts.tracks["bass"] == "the track 'Left hand'" and parts.tracks["melody"] == "the track 'Lead'"
    assert [e for e in parts.bass if e >= 0] == [p - 36 for p in TUNE]
    assert any("no bass program but plays mostly below C3" in note for note in parts.notes)


def test_a_missing_part_is_refused_naming_the_file_the_part_and_what_counts(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        read_trio_file(write(tmp_path, "trio.mid", melody(), beat()))
    assert str(e.value) == ("trio.mid has no bass part (give a track with a bass program (GM 33-40) or notes mostly "
                            "below C3 (MIDI 48)); /trio needs a melody, a bass and drums.")
    with pytest.raises(InputError, match=r"^duo\.mid has no melody part \(give any pitched track other than the "
                                         r"bass and the drums\)"):
        read_trio_file(write(tmp_path, "duo.mid", bass(), beat()))
    with pytest.raises(InputError, match=r"^tune\.mid has no bass part .* and no drum part \(give a track on MIDI "
                                         r"channel 10, or one playing drum-kit keys"):
        read_trio_file(write(tmp_path, "tune.mid", melody()))


def test_a_channel_1_track_in_the_drum_range_that_does_not_play_like_drums_is_refused_clearly(tmp_path: Path
                                                                                             ) -> None:
    # Long, one-at-a-time notes on drum-kit keys: a low tune, not a beat. It is not taken for the drums.
    low_tune = _track(0, [(i * QUARTER, (i + 1) * QUARTER, p) for i, p in enumerate([36, 38, 40, 42] * 2)])
    with pytest.raises(InputError, match=r"^odd\.mid has no drum part \(give a track on MIDI channel 10"):
        read_trio_file(write(tmp_path, "odd.mid", melody(), bass(), low_tune))


def test_attachments_are_read_in_the_sandbox_child_and_refused_there_with_the_files_name() -> None:
    primer = asyncio.run(read_primer_attachment(midi_bytes(beat(), bass(), melody()), "trio.mid", READER))
    parts = dict(primer.events)
    assert list(parts) == ["melody", "bass", "drums"] and primer.qpm == 120.0
    assert [e for e in parts["melody"] if e >= 0] == TUNE and [e for e in parts["bass"] if e >= 0] == ROOTS
    assert parts["drums"][0] == (36, 42)
    with pytest.raises(InputError, match=r"^the attachment duo\.mid has no melody part"):
        asyncio.run(read_primer_attachment(midi_bytes(bass(), beat()), "duo.mid", READER))
    with pytest.raises(InputError, match=r"not a MIDI file"):
        asyncio.run(read_primer_attachment(b"RIFF....WAVEfmt ", "song.wav", READER))
    with pytest.raises(InputError, match=r"at most"):
        read_trio_bytes(b"MThd" + b"\0" * 2_000_000, "the attachment big.mid", "big.mid")
