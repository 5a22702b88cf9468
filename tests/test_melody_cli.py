"""`melody_rnn_generate` as a user runs it: Magenta's flags on Magenta's own bundles, MIDI read back, clear errors.

`main()` runs in this process (TensorFlow loads once) on the tiny real bundles in shared/fixtures/magenta; we
have no trained melody model of our own yet, and these are the bundles a user brings with --bundle_file.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pretty_midi
import pytest

from generation.cli.melody_rnn_generate import main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "magenta"
PRIMER = "[60, -2, 60, -2, 67, -2, 67, -2]"
PRIMER_NOTES = [(0, 2, 60), (2, 4, 60), (4, 6, 67), (6, 8, 67)]  # (start step, end step, pitch)


def starts_with(notes: list[tuple[int, int, int]], primer: list[tuple[int, int, int]]) -> bool:
    """The primer's notes open the melody; its last note may be held on by the model."""
    head = notes[: len(primer)]
    return head[:-1] == primer[:-1] and head[-1][::2] == primer[-1][::2] and head[-1][1] >= primer[-1][1]


def generate(out_dir: Path, flags: Sequence[str], bundle: str = "lookback_rnn") -> list[Path]:
    assert main([f"--output_dir={out_dir}", f"--bundle_file={FIXTURES / (bundle + '.mag')}", *flags]) == 0
    return sorted(out_dir.glob("*.mid"))


def notes_in_steps(midi: pretty_midi.PrettyMIDI, qpm: float) -> list[tuple[int, int, int]]:
    """(start step, end step, pitch) of every note, 16th-note steps at `qpm`; steps must land on the grid."""
    step = 60.0 / qpm / 4
    out = []
    for inst in midi.instruments:
        for n in inst.notes:
            assert abs(n.start / step - round(n.start / step)) < 1e-3
            out.append((round(n.start / step), round(n.end / step), n.pitch))
    return sorted(out)


@pytest.mark.parametrize("bundle", ["lookback_rnn", "basic_rnn", "attention_rnn"])
def test_magenta_bundle_writes_monophonic_melodies_of_num_steps(tmp_path: Path, bundle: str) -> None:
    """The Magenta example: each file lasts num_steps 16ths at the qpm, one melody track, the primer kept."""
    qpm = 90.0
    paths = generate(tmp_path, ["--num_outputs=3", "--num_steps=64", f"--qpm={qpm:g}", "--seed=5",
                                f"--primer_melody={PRIMER}"], bundle)
    assert len(paths) == 3
    for path in paths:
        midi = pretty_midi.PrettyMIDI(str(path))
        assert midi.get_end_time() == pytest.approx(64 * 60.0 / qpm / 4)
        assert midi.get_tempo_changes()[1].tolist() == pytest.approx([qpm], abs=0.01)
        assert [i.name for i in midi.instruments] == ["Melody"] and not midi.instruments[0].is_drum
        notes = notes_in_steps(midi, qpm)
        assert starts_with(notes, PRIMER_NOTES)
        assert len(notes) > 4 and max(e for _, e, _ in notes) <= 64
        for (_, end, _), (start, _, _) in zip(notes, notes[1:], strict=False):
            assert end <= start  # monophonic: a note ends before the next begins


def test_same_seed_same_midi(tmp_path: Path) -> None:
    flags = ["--num_outputs=2", "--num_steps=48", "--seed=9", f"--primer_melody={PRIMER}"]
    first = [p.read_bytes() for p in generate(tmp_path / "a", flags)]
    again = [p.read_bytes() for p in generate(tmp_path / "b", flags)]
    other = [p.read_bytes() for p in generate(tmp_path / "c", [*flags[:-2], "--seed=10", flags[-1]])]
    assert first == again
    assert first != other


def test_beam_search_flags(tmp_path: Path) -> None:
    paths = generate(tmp_path, ["--num_outputs=2", "--num_steps=32", "--seed=1", "--beam_size=2",
                                "--branch_factor=2", "--steps_per_iteration=4", "--temperature=0.8"])
    assert len(paths) == 2
    for path in paths:
        midi = pretty_midi.PrettyMIDI(str(path))
        assert midi.get_end_time() == pytest.approx(32 * 0.125)
        assert notes_in_steps(midi, 120.0)[0][::2] == (0, 60)  # Magenta's default primer: middle C


def test_primer_midi_sets_the_tempo_and_is_kept(tmp_path: Path) -> None:
    """A primer MIDI at 100 qpm: its notes open every output and the outputs play at 100 qpm."""
    step = 60.0 / 100 / 4
    primer = pretty_midi.PrettyMIDI(initial_tempo=100.0)
    piano = pretty_midi.Instrument(0)
    piano.notes = [pretty_midi.Note(90, p, s * step, e * step) for s, e, p in [(0, 4, 64), (4, 6, 62), (6, 8, 60)]]
    primer.instruments.append(piano)
    primer.write(str(tmp_path / "primer.mid"))
    paths = generate(tmp_path / "out", ["--num_outputs=1", "--num_steps=32", "--seed=3",
                                        f"--primer_midi={tmp_path / 'primer.mid'}"])
    midi = pretty_midi.PrettyMIDI(str(paths[0]))
    assert midi.get_tempo_changes()[1].tolist() == pytest.approx([100.0], abs=0.01)
    assert midi.get_end_time() == pytest.approx(32 * step)
    assert starts_with(notes_in_steps(midi, 100.0), [(0, 4, 64), (4, 6, 62), (6, 8, 60)])


def test_audio_is_rendered_beside_each_midi(tmp_path: Path) -> None:
    paths = generate(tmp_path, ["--num_outputs=1", "--num_steps=32", "--seed=2", "--audio=ogg"])
    ogg = paths[0].with_suffix(".ogg")
    assert ogg.is_file() and ogg.read_bytes()[:4] == b"OggS" and ogg.stat().st_size > 10_000


def test_no_installed_model_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Without --bundle_file and with no trained model installed: exit 2, what is missing and how to get it."""
    import generation.engine.bundle as bundle

    monkeypatch.setattr(bundle, "REPO_MODELS", tmp_path / "models")
    rc = main(["--config=lookback_rnn", f"--output_dir={tmp_path / 'out'}", f"--primer_melody={PRIMER}"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "no trained lookback_rnn model is installed" in err
    assert "melody_rnn_train --config=lookback_rnn" in err and "--bundle_file" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([f"--primer_melody={PRIMER}", "--num_steps=8"], "primer lasts 8 steps"),
        (["--primer_melody=[60, 200]"], "'200' is not a melody event"),
        (["--num_steps=0"], "--num_steps=0 is out of range"),
        (["--temperature=0"], "--temperature=0.0 is out of range"),
    ],
)
def test_bad_flags_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str],
                                        message: str) -> None:
    rc = main([f"--output_dir={tmp_path / 'out'}", f"--bundle_file={FIXTURES / 'lookback_rnn.mag'}", *flags])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "Traceback" not in err
    assert not list(tmp_path.rglob("*.mid"))


def test_another_familys_bundle_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([f"--output_dir={tmp_path}", f"--bundle_file={FIXTURES / 'basic_improv.mag'}", "--num_outputs=1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "basic_improv bundle, not a Melody RNN" in err
    assert list(tmp_path.iterdir()) == []


def test_help_loads_no_tensorflow() -> None:
    """--help answers without importing TensorFlow (which alone takes seconds to load)."""
    code = ("import sys\nfrom generation.cli.melody_rnn_generate import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('TF LOADED' if 'tensorflow' in sys.modules else 'NO TF')")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "--primer_melody" in out.stdout and "--steps_per_iteration" in out.stdout
    assert out.stdout.strip().endswith("NO TF")
