"""`drums_rnn_generate` end to end with Magenta's tiny drum_kit.mag: MIDI files read back, audio through real
FluidSynth, and the refusals a user meets (no model installed, bad primers, another family's bundle)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from generation.cli.drums_rnn_generate import main
from generation.families.drums.midi import drums_midi, parse_primer_drums, read_primer_drum_midi
from generation.render.audio import render_midi

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "magenta"
ROOT = Path(__file__).resolve().parents[1]
MAG = f"--bundle_file={FIXTURES / 'drum_kit.mag'}"
PRIMER = "[(36,), (), (42,), ()]"


def _steps(midi: pretty_midi.PrettyMIDI, qpm: float, count: int) -> list[frozenset[int]]:
    """The pitches struck at each 16th step of a file read back."""
    step_s = 60.0 / qpm / 4
    steps: list[set[int]] = [set() for _ in range(count)]
    for inst in midi.instruments:
        for n in inst.notes:
            steps[round(n.start / step_s)].add(n.pitch)
    return [frozenset(s) for s in steps]


def test_generate_writes_channel_10_drums_of_the_asked_length(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Magenta's example command with the fixture bundle: 3 files, every note on channel 10 (is_drum), each file
    lasting num_steps 16ths at --qpm, the primer's steps at the start, audio beside each file."""
    rc = main([MAG, f"--output_dir={tmp_path}", "--num_outputs=3", "--num_steps=48", f"--primer_drums={PRIMER}",
               "--qpm=90", "--seed=4", "--audio=wav"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    mids = sorted(tmp_path.glob("*.mid"))
    assert len(mids) == 3 and len(list(tmp_path.glob("*.wav"))) == 3
    assert "seed 4" in out.out and "90 qpm" in out.out
    for path in mids:
        midi = pretty_midi.PrettyMIDI(str(path))
        assert [i.is_drum for i in midi.instruments] == [True]
        assert midi.get_tempo_changes()[1].tolist() == pytest.approx([90.0], rel=1e-5)
        assert midi.get_end_time() == pytest.approx(48 * 60 / 90 / 4, rel=1e-5)
        channels = {m.channel for t in mido.MidiFile(str(path)).tracks for m in t if m.type in ("note_on", "note_off")}
        assert channels == {9}  # MIDI channel 10
        steps = _steps(midi, 90, 48)
        assert steps[:4] == [frozenset({36}), frozenset(), frozenset({42}), frozenset()]
        assert any(steps[4:])


def test_same_seed_same_midi(tmp_path: Path) -> None:
    """Two runs with --seed=9 write the same notes; --seed=10 writes others."""
    notes = {}
    for run, seed in (("a", 9), ("b", 9), ("c", 10)):
        assert main([MAG, f"--output_dir={tmp_path / run}", "--num_outputs=2", "--num_steps=32", f"--seed={seed}"]) == 0
        notes[run] = [[(n.pitch, round(n.start, 6)) for n in pretty_midi.PrettyMIDI(str(p)).instruments[0].notes]
                      for p in sorted((tmp_path / run).glob("*.mid"))]
    assert notes["a"] == notes["b"]
    assert notes["a"] != notes["c"]


def test_a_primer_midi_starts_the_track_at_its_tempo(tmp_path: Path) -> None:
    """A one-bar drum file at 95 qpm, its last hit on step 13: the track keeps all 16 steps (the silent tail too)
    and the file's tempo."""
    bar = [frozenset({36, 42}), frozenset(), frozenset({42}), frozenset(), frozenset({38, 42}), frozenset(),
           frozenset({42}), frozenset()] + [frozenset()] * 4 + [frozenset({46})] + [frozenset()] * 3  # fmt: skip
    primer_path = tmp_path / "primer.mid"
    drums_midi(bar, 95).write(str(primer_path))
    assert read_primer_drum_midi(primer_path) == (tuple(bar), pytest.approx(95.0, rel=1e-5))
    out = tmp_path / "out"
    assert main([MAG, f"--output_dir={out}", "--num_outputs=1", "--num_steps=32", f"--primer_midi={primer_path}",
                 "--seed=1"]) == 0
    midi = pretty_midi.PrettyMIDI(str(next(out.glob("*.mid"))))
    assert midi.get_tempo_changes()[1].tolist() == pytest.approx([95.0], rel=1e-5)
    assert _steps(midi, 95, 32)[:16] == bar


def test_without_a_trained_model_it_says_none_is_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    """No --bundle_file and nothing in models/drum_kit: exit 2, one line saying no trained model is installed and
    how to pass one; nothing written, no traceback."""
    import generation.engine.bundle as bundle

    monkeypatch.setattr(bundle, "REPO_MODELS", tmp_path / "models")
    rc = main([f"--output_dir={tmp_path / 'out'}", "--num_outputs=1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "no trained Drums RNN model is installed for drum_kit" in err and "--bundle_file" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("flag", "says"),
    [
        ("--primer_drums=[(36,), (foo,)]", "step 2: 'foo' is not a MIDI drum pitch"),
        ("--primer_drums=[(36,), 200]", "'200' is outside any (...) step"),
        ("--primer_drums=[(36, 128)]", "'128' is not a MIDI drum pitch (0-127)"),
        ("--primer_drums=(36,)", "expected a list of steps"),
        ("--num_steps=4", "the primer is 4 steps long and --num_steps=4"),
        ("--num_steps=5000", "--num_steps=5000 is out of range; allowed: 1 to 4096"),
        ("--style=funk", "drum_kit has no style control"),
    ],
)
def test_bad_input_is_one_clear_line(flag: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Each mistake exits 2 with a line naming it, before any model work or file."""
    rc = main([MAG, f"--output_dir={tmp_path / 'out'}", f"--primer_drums={PRIMER}", flag])
    err = capsys.readouterr().err
    assert rc == 2
    assert says in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_another_familys_bundle_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A polyphony .mag: exit 2 saying it is not a Drums RNN."""
    rc = main([f"--bundle_file={FIXTURES / 'polyphony.mag'}", f"--output_dir={tmp_path}", "--num_outputs=1"])
    err = capsys.readouterr().err
    assert rc == 2 and "polyphony bundle, not a Drums RNN" in err


def test_help_lists_magentas_flags_without_loading_tensorflow() -> None:
    """--help names Magenta's flags with their defaults and imports neither TensorFlow nor note-seq."""
    code = ("import sys\nfrom generation.cli.drums_rnn_generate import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\nprint('LOADED', 'tensorflow' in sys.modules, 'note_seq' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "LOADED False False" in proc.stdout
    for flag in ("--config", "--bundle_file", "--output_dir", "--num_outputs", "--num_steps", "--primer_drums",
                 "--primer_midi", "--qpm", "--temperature", "--beam_size", "--branch_factor",
                 "--steps_per_iteration", "--seed", "--audio"):
        assert flag in proc.stdout
    assert "drum_kit" in proc.stdout


def test_defaults_are_magentas() -> None:
    """--config=drum_kit, 10 outputs, 128 steps, temperature 1, beam 1, branch 1, 1 step per iteration."""
    from generation.cli.drums_rnn_generate import build_parser

    args = build_parser().parse_args([])
    assert (args.config, args.num_outputs, args.num_steps, args.temperature, args.beam_size, args.branch_factor,
            args.steps_per_iteration, args.qpm, str(args.output_dir)) == (
        "drum_kit", 10, 128, 1.0, 1, 1, 1, None, "/tmp/drums_rnn/generated")
    assert parse_primer_drums(PRIMER) == (frozenset({36}), frozenset(), frozenset({42}), frozenset())


def test_drums_render_as_the_gm_kit_not_as_piano(tmp_path: Path) -> None:
    """Our drum MIDI renders with FluidSynth's GM drum kit: not silent, and noise-like (spectral flatness ~0.4,
    centroid in kHz) where the same notes on a piano track are pitched tones (flatness ~0.01)."""
    steps = [frozenset({36, 42}), frozenset(), frozenset({42}), frozenset(),
             frozenset({38, 42}), frozenset(), frozenset({42}), frozenset()] * 4  # fmt: skip
    midi = drums_midi(steps, 120)
    midi.write(str(tmp_path / "drums.mid"))
    midi.instruments[0].is_drum = False
    midi.write(str(tmp_path / "piano.mid"))
    figures = {}
    for name in ("drums", "piano"):
        wav = render_midi(tmp_path / f"{name}.mid", tmp_path / f"{name}.wav")
        audio, rate = sf.read(wav)
        mono = audio.mean(axis=1)[: 2 * rate]
        assert np.abs(mono).max() > 0.5  # normalised to -1 dBFS: sound, not silence
        spectrum = np.abs(np.fft.rfft(mono)) + 1e-12
        freqs = np.fft.rfftfreq(len(mono), 1 / rate)
        figures[name] = (np.exp(np.mean(np.log(spectrum))) / spectrum.mean(), (spectrum * freqs).sum() / spectrum.sum())
    (drum_flat, drum_centroid), (piano_flat, piano_centroid) = figures["drums"], figures["piano"]
    assert drum_flat > 10 * piano_flat
    assert drum_centroid > 2 * piano_centroid
