"""`pianoroll_rnn_nade_generate` as a user runs it: Magenta's flags, MIDI out, clear one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pretty_midi
import pytest

from generation.cli.pianoroll_rnn_nade_generate import main
from generation.families.pianoroll.config import CONFIGS
from generation.music.notes import Note, notes_midi, pianoroll_of, read_midi_notes

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
FIXTURES = REPO.parent / "shared" / "fixtures" / "magenta"
LECTURE = "[(55,), (55, 64,), (55, 64, 72,), ()]"
LECTURE_FRAMES = [frozenset({55}), frozenset({55, 64}), frozenset({55, 64, 72}), frozenset()]


def _midis(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.mid"))


def _frames(path: Path, steps_per_quarter: int, steps: int) -> list[frozenset[int]]:
    notes, _ = read_midi_notes(path, steps_per_quarter, 10**5)
    return pianoroll_of(notes, steps)


@pytest.mark.parametrize("flags,expected", [
    (["--num_steps=0"], "--num_steps=0 is out of range; allowed: 1 to 4096"),
    (["--num_outputs=500"], "--num_outputs=500 is out of range; allowed: 1 to 100"),
    (["--temperature=0"], "--temperature=0.0 is out of range"),
    (["--primer_pianoroll=[(200,)]"], "not a MIDI pitch"),
    (["--primer_pianoroll=[(10,)]"], "pitch 10 is outside the piano's 88 keys; allowed: MIDI 21-108"),
    (["--primer_pianoroll=[60, 64]"], "primer pianoroll"),
    (["--num_steps=3", f"--primer_pianoroll={LECTURE}"], "--num_steps=3 is shorter than the primer (4 steps)"),
    (["--bundle_file=/nonexistent/model"], "does not exist"),
    (["--primer_midi=/nonexistent.mid"], "does not exist"),
])
def test_bad_input_exits_2_with_one_line(flags: list[str], expected: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main([f"--output_dir={tmp_path}", *flags]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("pianoroll_rnn_nade_generate: error:")
    assert not _midis(tmp_path)


def test_unknown_config_names_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--config=rnn_nade_jazz"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "rnn-nade-bach" in err and "Traceback" not in err


def test_help_says_what_a_step_is(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "rnn-nade: a 16th note" in out and "rnn-nade-bach: a quarter note" in out


def test_bad_input_in_a_real_process_is_one_line(tmp_path: Path) -> None:
    cli = Path(sys.executable).parent / "pianoroll_rnn_nade_generate"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([str(cli), "--num_steps=-4", f"--output_dir={tmp_path}"], capture_output=True, text=True,
                         timeout=120, env=env, check=False)
    assert run.returncode == 2
    assert "--num_steps=-4 is out of range" in run.stderr and "Traceback" not in run.stderr


def test_magenta_attention_bundle_is_refused_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not (FIXTURES / "rnn-nade_attn.mag").is_file():
        pytest.skip(f"Magenta fixtures not found at {FIXTURES}")
    assert main([f"--bundle_file={FIXTURES / 'rnn-nade_attn.mag'}", f"--output_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "rnn-nade_attn" in err and "does not read yet" in err and "Traceback" not in err


@pytest.fixture(params=list(CONFIGS))
def config(request: pytest.FixtureRequest) -> str:
    if not (MODELS / request.param / "bundle.json").is_file():
        pytest.fail(f"the shipped model {request.param} is missing from {MODELS}")
    return str(request.param)


def test_each_shipped_model_writes_the_music_asked_for(config: str, tmp_path: Path) -> None:
    spq = CONFIGS[config].steps_per_quarter
    steps, qpm = 24, 90.0
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main([f"--config={config}", f"--output_dir={out}", "--num_outputs=3", f"--num_steps={steps}",
                     f"--primer_pianoroll={LECTURE}", f"--qpm={qpm:g}", "--seed=11"]) == 0
        runs.append(_midis(out))
    assert len(runs[0]) == 3
    polyphonic = 0
    for path in runs[0]:
        midi = pretty_midi.PrettyMIDI(str(path))
        assert midi.get_end_time() == pytest.approx(steps * 60 / qpm / spq, abs=1e-3)  # exactly num_steps
        frames = _frames(path, spq, steps)
        assert frames[:4] == LECTURE_FRAMES  # the primer, then generation right after it
        assert any(frames[4:])
        polyphonic += sum(len(f) >= 2 for f in frames[4:])
    assert polyphonic > 0
    # Same seed, same music.
    for a, b in zip(*runs, strict=True):
        assert _frames(a, spq, steps) == _frames(b, spq, steps)


def test_primer_midi_starts_the_music_and_sets_the_tempo(tmp_path: Path) -> None:
    if not (MODELS / "rnn-nade" / "bundle.json").is_file():
        pytest.fail("the shipped model rnn-nade is missing")
    primer = tmp_path / "primer.mid"
    notes = [Note(0, 4, 48), Note(0, 2, 60), Note(0, 2, 64), Note(2, 4, 67)]
    notes_midi({"piano": notes}, 4, 100.0, 4).write(str(primer))
    out = tmp_path / "out"
    assert main([f"--primer_midi={primer}", f"--output_dir={out}", "--num_outputs=1", "--num_steps=16",
                 "--seed=2", "--beam_size=2", "--branch_factor=2", "--steps_per_iteration=4"]) == 0
    (path,) = _midis(out)
    midi = pretty_midi.PrettyMIDI(str(path))
    assert midi.get_tempo_changes()[1][0] == pytest.approx(100.0)
    assert midi.get_end_time() == pytest.approx(16 * 60 / 100 / 4, abs=1e-3)
    assert _frames(path, 4, 16)[:4] == pianoroll_of(notes, 4)


def test_shipped_models_have_cards_from_their_training_runs(config: str) -> None:
    meta = json.loads((MODELS / config / "bundle.json").read_text())
    info = meta["info"]
    assert meta["family"] == "pianoroll" and meta["config"] == config
    assert info["steps_per_quarter"] == CONFIGS[config].steps_per_quarter
    assert (MODELS / config / "weights.npz").stat().st_size < 10 * 2**20
    earlier = info["data"].get("initialised_from", {}).get("steps_run", 0)
    assert info["training"]["finished"] and info["training"]["steps_run"] + earlier >= 300
    card = (MODELS / config / "MODEL_CARD.md").read_text()
    for must in ("Licence", "validation", "notes per frame", "pitch range"):
        assert must in card, must
    nll = info["stored_weights_nll"]
    assert nll["valid"]["nll"] < 20  # far better than chance (88 fair coins: 61 nats per frame)
    generated = info["generated"]["temperature_1.0"]
    assert 0.5 < generated["mean_notes_per_frame"] < 12
    if config == "rnn-nade-bach":
        assert "5.19" in card and "test" in nll and "public domain" in card
    else:
        assert "MIT" in card
