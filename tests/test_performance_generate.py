"""`performance_rnn_generate` as a user runs it on our shipped models: flags, warnings, errors, files read back.

The CLI's `main()` runs in this process (TensorFlow loads once). The shipped models may be retrained while
these tests run, so comparisons between runs use a snapshot of the model folders taken once per module.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pretty_midi
import pytest

from generation.cli.performance_rnn_generate import main
from generation.engine.sampling import SearchSettings
from generation.errors import InputError
from generation.families.performance.generator import PerformanceGenerator

SHIPPED = Path(__file__).resolve().parents[1] / "models"
BASE = "performance_with_dynamics"
DENSITY = "density_conditioned_performance_with_dynamics"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    if not (SHIPPED / BASE / "bundle.json").is_file():
        pytest.skip(f"{BASE} is not trained here")
    for name in (BASE, DENSITY):
        if (SHIPPED / name / "bundle.json").is_file():
            shutil.copytree(SHIPPED / name, root / name)
    return root


def generate(out: Path, flags: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[list[Path], str]:
    assert main([f"--output_dir={out}", *flags]) == 0
    return sorted(out.glob("*.mid")), capsys.readouterr().err


def test_magenta_command_end_to_end(models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files, err = generate(tmp_path, [f"--bundle_file={models / BASE}", "--num_outputs=2", "--num_steps=500",
                                     "--primer_pitches=[60, 64, 67]", "--seed=5"], capsys)
    assert len(files) == 2
    for path in files:
        midi = pretty_midi.PrettyMIDI(str(path))
        notes = midi.instruments[0].notes
        assert midi.get_end_time() == pytest.approx(5.0)  # num_steps x 10 ms
        primer = sorted(n.pitch for n in notes if n.start == 0 and n.end == pytest.approx(0.5))
        assert primer == [60, 64, 67]  # the primer, kept, 0.5 s as in Magenta
        assert len(notes) > 3 and all(0 <= n.start < n.end <= 5.0 + 1e-6 for n in notes)
        assert len({n.velocity for n in notes}) > 1  # dynamics


def test_same_seed_same_midi(models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flags = [f"--bundle_file={models / BASE}", "--num_outputs=2", "--num_steps=300", "--seed=9",
             "--primer_melody=[60, -2, 62, -2]"]
    a, _ = generate(tmp_path / "a", flags, capsys)
    b, _ = generate(tmp_path / "b", flags, capsys)
    c, _ = generate(tmp_path / "c", [*flags[:-2], "--seed=10", flags[-1]], capsys)
    notes = [[(n.pitch, n.start, n.end, n.velocity) for n in pretty_midi.PrettyMIDI(str(p)).instruments[0].notes]
             for p in (a[0], b[0], c[0])]
    assert notes[0] == notes[1] and notes[0] != notes[2]


def test_control_on_a_config_that_cannot_take_it_warns(models: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _, err = generate(tmp_path, [f"--bundle_file={models / BASE}", "--num_outputs=1", "--num_steps=100",
                                 "--notes_per_second=4", "--pitch_class_histogram=[1,0,1,0,1,1,0,1,0,1,0,1]"],
                      capsys)
    assert "cannot take --notes_per_second" in err and "density_conditioned_performance_with_dynamics" in err
    assert "cannot take --pitch_class_histogram" in err and "pitch_conditioned_performance_with_dynamics" in err


@pytest.mark.parametrize(("flag", "message"), [
    ("--num_steps=0", "--num_steps=0 is out of range"),
    ("--notes_per_second=-1", "notes_per_second=-1 is out of range"),
    ("--pitch_class_histogram=[1,2,3]", "expected 12 numbers"),
    ("--primer_pitches=[60, 200]", "'200' is not a MIDI pitch"),
    ("--primer_melody=[60, x]", "'x' is not a melody event"),
    ("--temperature=0", "--temperature=0.0 is out of range"),
    ("--primer_midi=/nonexistent.mid", "does not exist"),
])
def test_bad_flags_exit_2_with_one_line(flag: str, message: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([f"--output_dir={tmp_path}", "--num_outputs=1", flag]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("performance_rnn_generate: error:") and message in err[-1]
    assert not any("Traceback" in line for line in err)


def test_pdf_dashes_and_absl_booleans(models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files, err = generate(tmp_path, [f"\u2014bundle_file={models / BASE}", "--num_outputs=1", "--num_steps=100",
                                     "--nodisable_conditioning"], capsys)
    assert len(files) == 1 and "a PDF turns" in err


def test_density_request_moves_density(models: Path) -> None:
    if not (models / DENSITY).is_dir():
        pytest.skip(f"{DENSITY} is not trained here")
    gen = PerformanceGenerator.load(DENSITY, models / DENSITY)
    seconds = 10

    def density(nps: float) -> float:
        outs = gen.generate_notes([], seconds * 100, num_outputs=2, search=SearchSettings(), seed=3,
                                  notes_per_second=nps)
        return sum(len(o) for o in outs) / (2 * seconds)

    low, high = density(2.0), density(8.0)
    assert low < high
    assert 1.4 < low < 2.6 and 6.0 < high < 10.0


def test_generator_api_returns_midi_and_refuses_bad_values(models: Path) -> None:
    gen = PerformanceGenerator.load(BASE, models / BASE)
    midis = gen.generate([], 200, num_outputs=2, search=SearchSettings(beam_size=2, branch_factor=2,
                                                                       steps_per_iteration=16), seed=1)
    assert len(midis) == 2 and all(m.get_end_time() == pytest.approx(2.0) for m in midis)
    with pytest.raises(InputError, match="pitch_class_histogram"):
        gen.generate([], 200, num_outputs=1, search=SearchSettings(), seed=1, pitch_class_histogram=[1.0] * 11)
    with pytest.raises(InputError, match="is a basic_improv bundle"):
        PerformanceGenerator.load(BASE, SHIPPED.parent.parent / "shared" / "fixtures" / "magenta" / "basic_improv.mag")


def test_primer_midi_is_kept_and_continued(models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    primer = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    piano.notes = [pretty_midi.Note(70, 62, 0.0, 0.4), pretty_midi.Note(90, 66, 0.4, 1.2)]
    primer.instruments.append(piano)
    primer.write(str(tmp_path / "primer.mid"))
    files, _ = generate(tmp_path / "out", [f"--bundle_file={models / BASE}", "--num_outputs=1", "--num_steps=400",
                                           f"--primer_midi={tmp_path / 'primer.mid'}", "--seed=2"], capsys)
    notes = sorted(pretty_midi.PrettyMIDI(str(files[0])).instruments[0].notes, key=lambda n: (n.start, n.pitch))
    assert [(n.pitch, round(n.start, 2), round(n.end, 2)) for n in notes[:2]] == [(62, 0.0, 0.4), (66, 0.4, 1.2)]
    assert any(n.start >= 1.2 for n in notes[2:])  # the model carried on after the primer
