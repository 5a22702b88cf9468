"""`polyphony_rnn_generate` as a user runs it: Magenta's flags on our shipped model, MIDI read back, clear errors.

The CLI's `main()` runs in this process (TensorFlow loads once), on a snapshot of the shipped model.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pretty_midi
import pytest

from generation.cli.polyphony_rnn_generate import main

REPO = Path(__file__).resolve().parents[1]
TWINKLE = "[60, -2, 60, -2, 67, -2, 67, -2, 69, -2, 69, -2, 67, -2, -2, -2]"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = REPO / "models" / "polyphony"
    assert (src / "bundle.json").is_file(), f"no shipped polyphony model at {src}"
    dst = tmp_path_factory.mktemp("model") / "polyphony"
    shutil.copytree(src, dst)
    return dst


def generate(out_dir: Path, model: Path, flags: Sequence[str]) -> list[pretty_midi.PrettyMIDI]:
    assert main([f"--output_dir={out_dir}", f"--bundle_file={model}", *flags]) == 0
    return [pretty_midi.PrettyMIDI(str(p)) for p in sorted(out_dir.glob("*.mid"))]


def steps_of(midi: pretty_midi.PrettyMIDI, qpm: float = 120.0) -> list[tuple[int, int, int]]:
    """(start step, end step, pitch) of every note, 16th-note steps at `qpm`."""
    step = 60.0 / qpm / 4
    return sorted((round(n.start / step), round(n.end / step), n.pitch) for i in midi.instruments for n in i.notes)


def sounding(notes: list[tuple[int, int, int]], t: int) -> set[int]:
    return {p for s, e, p in notes if s <= t < e}


@pytest.mark.parametrize("qpm", [120.0, 90.0])
def test_outputs_last_num_steps_at_the_qpm_and_are_polyphonic(tmp_path: Path, model: Path, qpm: float) -> None:
    midis = generate(tmp_path, model, ["--num_outputs=2", "--num_steps=32", f"--qpm={qpm:g}", "--seed=3",
                                       "--primer_pitches=[67,64,60]"])
    assert len(midis) == 2
    for midi in midis:
        assert midi.get_end_time() == pytest.approx(32 * 60.0 / qpm / 4)
        notes = steps_of(midi, qpm)
        assert max(e for _, e, _ in notes) <= 32
        assert max(len(sounding(notes, t)) for t in range(32)) > 1


def test_primer_pitches_injected_is_a_quarter_note_chord_at_step_0(tmp_path: Path, model: Path) -> None:
    (midi,) = generate(tmp_path, model, ["--num_outputs=1", "--num_steps=16", "--seed=1",
                                         "--primer_pitches=[67,64,60]"])
    notes = steps_of(midi)
    assert {60, 64, 67} <= sounding(notes, 0) and {60, 64, 67} <= sounding(notes, 3)
    assert {(0, p) for p in (60, 64, 67)} <= {(s, p) for s, _, p in notes}


def test_primer_pitches_not_injected_are_not_in_the_output(tmp_path: Path, model: Path) -> None:
    (midi,) = generate(tmp_path, model, ["--num_outputs=1", "--num_steps=16", "--seed=1",
                                         "--primer_pitches=[67,64,60]", "--condition_on_primer=true",
                                         "--inject_primer_during_generation=false"])
    notes = steps_of(midi)
    assert not {(0, 4, p) for p in (60, 64, 67)} <= set(notes)
    assert notes and midi.get_end_time() == pytest.approx(16 * 0.125)


def test_primer_melody_injected_is_kept_as_the_top_voice(tmp_path: Path, model: Path) -> None:
    midis = generate(tmp_path, model, ["--num_outputs=2", "--num_steps=32", "--seed=2", f"--primer_melody={TWINKLE}"])
    melody = [(0, 2, 60), (2, 4, 60), (4, 6, 67), (6, 8, 67), (8, 10, 69), (10, 12, 69), (12, 16, 67)]
    for midi in midis:
        notes = steps_of(midi)
        for start, end, pitch in melody:
            assert any(s == start and p == pitch for s, _, p in notes)
            for t in range(start, end):
                assert max(sounding(notes, t)) == pitch, (t, sounding(notes, t))


def test_primer_melody_not_injected_writes_new_music(tmp_path: Path, model: Path) -> None:
    (midi,) = generate(tmp_path, model, ["--num_outputs=1", "--num_steps=32", "--seed=2", f"--primer_melody={TWINKLE}",
                                         "--condition_on_primer", "--noinject_primer_during_generation"])
    notes = steps_of(midi)
    assert notes and not {(0, 2, 60), (2, 4, 60), (4, 6, 67)} <= set(notes)


def test_primer_midi_sets_the_tempo_and_is_kept(tmp_path: Path, model: Path) -> None:
    primer = pretty_midi.PrettyMIDI(initial_tempo=90.0)
    piano = pretty_midi.Instrument(0)
    step = 60.0 / 90 / 4
    piano.notes = [pretty_midi.Note(90, 72, 0.0, 4 * step), pretty_midi.Note(90, 55, 0.0, 8 * step)]
    primer.instruments.append(piano)
    primer.write(str(tmp_path / "primer.mid"))
    (midi,) = generate(tmp_path / "out", model, ["--num_outputs=1", "--num_steps=16", "--seed=4",
                                                 f"--primer_midi={tmp_path / 'primer.mid'}"])
    assert midi.get_end_time() == pytest.approx(16 * step)
    notes = steps_of(midi, 90.0)
    assert any(s == 0 and p == 72 and e >= 4 for s, e, p in notes)
    assert any(s == 0 and p == 55 and e >= 8 for s, e, p in notes)


def test_same_seed_same_midi(tmp_path: Path, model: Path) -> None:
    flags = ["--num_outputs=2", "--num_steps=32", "--seed=11", f"--primer_melody={TWINKLE}"]
    first = [steps_of(m) for m in generate(tmp_path / "a", model, flags)]
    again = [steps_of(m) for m in generate(tmp_path / "b", model, flags)]
    other = [steps_of(m) for m in generate(tmp_path / "c", model, [*flags[:2], "--seed=12", flags[3]])]
    assert first == again and first != other


def test_beam_search_flags(tmp_path: Path, model: Path) -> None:
    midis = generate(tmp_path, model, ["--num_outputs=1", "--num_steps=16", "--seed=1", "--beam_size=2",
                                       "--branch_factor=2", "--steps_per_iteration=8", "--temperature=0.9"])
    assert len(midis) == 1 and midis[0].get_end_time() == pytest.approx(2.0)


@pytest.mark.parametrize("flags, words", [
    (["--num_steps=0"], ["--num_steps=0", "1 to 2048"]),
    (["--num_outputs=500"], ["--num_outputs=500", "1 to 100"]),
    (["--temperature=0"], ["--temperature=0", "0.01 to 10"]),
    (["--beam_size=0"], ["--beam_size=0", "1 to 64"]),
    (["--primer_pitches=[67,64,600]"], ["primer pitches", "'600'", "MIDI pitch"]),
    (["--primer_melody=[60, x]"], ["primer melody", "'x'", "-2 hold"]),
    (["--primer_melody=" + TWINKLE, "--num_steps=8"], ["lasts 16 steps", "--num_steps=8", "at least 16"]),
    (["--primer_midi=/nonexistent.mid"], ["/nonexistent.mid", "does not exist"]),
    (["--bundle_file=/nonexistent"], ["--bundle_file", "does not exist"]),
])
def test_bad_input_exits_2_with_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               flags: list[str], words: list[str]) -> None:
    assert main([f"--output_dir={tmp_path}", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("polyphony_rnn_generate: error:")
    assert "Traceback" not in err
    for word in words:
        assert word in err


@pytest.mark.parametrize("flag", ["--condition_on_primer=maybe", "--num_steps=many"])
def test_unreadable_flag_values_exit_2(capsys: pytest.CaptureFixture[str], flag: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([flag])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert flag.split("=")[0] in err and "Traceback" not in err


def test_pdf_pasted_dashes_and_absl_booleans(tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    midis = generate(tmp_path, model, ["\u2014num_outputs=1", "\u2014num_steps=8", "--seed=1",
                                       "--primer_pitches=[60]", "--condition_on_primer=true",
                                       "--inject_primer_during_generation=true"])
    assert len(midis) == 1 and (0, 60) in {(s, p) for s, _, p in steps_of(midis[0])}
    assert "read '\u2014num_outputs' as '--num_outputs'" in capsys.readouterr().err
