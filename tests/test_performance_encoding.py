"""Performance events: MIDI -> events -> MIDI keeps the music; classes match note-seq; controls and primers parse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from note_seq import performance_lib
from note_seq.performance_encoder_decoder import PerformanceOneHotEncoding

from generation.errors import InputError
from generation.families.performance.config import CONFIGS
from generation.families.performance.dataset import read_performance
from generation.families.performance.encoding import (
    classes_to_notes,
    density_one_hot,
    event_controls,
    notes_to_classes,
    velocity_to_bin,
)
from generation.families.performance.primer import histogram_from_names, melody_primer, parse_histogram
from generation.music.notes import Note


def _random_notes(seed: int, count: int = 300) -> list[Note]:
    rng = np.random.default_rng(seed)
    notes = set()
    for start in np.sort(rng.integers(0, 6000, count)):  # up to 60 s, with gaps over 1 s somewhere
        notes.add(Note(int(start), int(start + rng.integers(1, 400)), int(rng.integers(21, 109)),
                       int(rng.integers(1, 128))))
    # One note per pitch at a time, as a piano plays (re-striking a sounding key ends it).
    by_pitch: dict[int, list[Note]] = {}
    for n in sorted(notes):
        last = by_pitch.get(n.pitch, [])
        if last and last[-1].end > n.start:
            continue
        by_pitch.setdefault(n.pitch, []).append(n)
    return sorted(n for group in by_pitch.values() for n in group)


@pytest.mark.parametrize("bins", [32, 0])
def test_midi_round_trip_keeps_notes_timing_and_velocity_bin(tmp_path: Path, bins: int) -> None:
    notes = _random_notes(1)
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    piano.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start / 100 + 0.003, n.end / 100 - 0.002) for n in notes]
    midi.instruments.append(piano)
    midi.write(str(tmp_path / "in.mid"))
    read = read_performance(tmp_path / "in.mid")  # MIDI -> 10 ms grid
    back = classes_to_notes(notes_to_classes(read, bins), bins)
    assert len(back) == len(notes)
    for a, b in zip(notes, back, strict=True):
        assert a.pitch == b.pitch
        assert abs(a.start - b.start) <= 1 and abs(a.end - b.end) <= 1  # within 10 ms
        if bins:
            assert velocity_to_bin(a.velocity, bins) == velocity_to_bin(b.velocity, bins)
        else:
            assert b.velocity == 100


def test_classes_are_note_seqs_one_hot_indices() -> None:
    coder = PerformanceOneHotEncoding(num_velocity_bins=32)
    pe = performance_lib.PerformanceEvent
    notes = [Note(0, 30, 60, 80), Note(10, 250, 64, 80), Note(240, 260, 67, 20)]
    classes = notes_to_classes(notes, 32)
    expected = [pe(pe.VELOCITY, velocity_to_bin(80, 32)), pe(pe.NOTE_ON, 60), pe(pe.TIME_SHIFT, 10),
                pe(pe.NOTE_ON, 64), pe(pe.TIME_SHIFT, 20), pe(pe.NOTE_OFF, 60), pe(pe.TIME_SHIFT, 100),
                pe(pe.TIME_SHIFT, 100), pe(pe.TIME_SHIFT, 10), pe(pe.VELOCITY, velocity_to_bin(20, 32)),
                pe(pe.NOTE_ON, 67), pe(pe.TIME_SHIFT, 10), pe(pe.NOTE_OFF, 64), pe(pe.TIME_SHIFT, 10),
                pe(pe.NOTE_OFF, 67)]
    assert classes.tolist() == [coder.encode_event(e) for e in expected]
    assert CONFIGS["performance_with_dynamics"].num_classes == coder.num_classes == 388
    assert CONFIGS["performance"].num_classes == PerformanceOneHotEncoding(num_velocity_bins=0).num_classes


def test_input_sizes_match_magenta() -> None:
    # From Magenta's own checkpoints (shared/fixtures/magenta/*.vars.txt): first LSTM kernel rows - units.
    sizes = {"performance": 356, "performance_with_dynamics": 388,
             "performance_with_dynamics_and_modulo_encoding": 16,
             "density_conditioned_performance_with_dynamics": 396,
             "pitch_conditioned_performance_with_dynamics": 400,
             "multiconditioned_performance_with_dynamics": 408}
    assert {name: c.input_size for name, c in CONFIGS.items()} == sizes


def test_controls_describe_the_music_ahead() -> None:
    # 4 notes per second for 6 s, all on C and G.
    notes = [Note(k * 25, k * 25 + 20, 60 if k % 2 else 67, 90) for k in range(24)]
    classes = notes_to_classes(notes, 32)
    ctrl = event_controls(classes, CONFIGS["multiconditioned_performance_with_dynamics"])
    assert ctrl.shape == (len(classes), 20)
    assert ctrl[0, :8].tolist() == density_one_hot(4.0).tolist()
    hist = ctrl[0, 8:]
    assert hist.sum() == pytest.approx(1.0) and hist[0] > 0.45 and hist[7] > 0.45


def test_density_bins_follow_magenta_edges() -> None:
    assert [int(np.argmax(density_one_hot(d))) for d in (0.5, 1.0, 3.9, 15.0, 64.0, 100.0)] == [0, 1, 2, 4, 7, 7]


def test_histogram_flag_and_note_names() -> None:
    assert parse_histogram("[2,0,0,0,1,0,0,1,0,0,0,1]") == (2, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1)
    assert histogram_from_names("C E G B") == (1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1)
    assert histogram_from_names("Bb, F#4 Gb") == (0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0)
    for bad in ("[1,2,3]", "C E G", "[1,0,0,0,0,0,0,0,0,0,0,-1]", "[0]*12", "[0,0,0,0,0,0,0,0,0,0,0,0]"):
        with pytest.raises(InputError, match="pitch_class_histogram"):
            parse_histogram(bad)
    with pytest.raises(InputError, match="'H' is not a note name"):
        histogram_from_names("C H")


def test_melody_primer_uses_16th_notes_at_120_qpm() -> None:
    notes, end = melody_primer((60, -2, 62, -1))
    assert notes == [Note(0, 25, 60, 100), Note(25, 38, 62, 100)]
    assert end == 50
