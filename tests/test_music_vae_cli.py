"""`music_vae_generate` as a user runs it: Magenta's flags, MIDI files read back, users' MIDI files read and fitted to
the model's 2 bars with a note saying how, clear refusals.

`main()` runs in this process on tiny untrained bundles built here (the CLI's plumbing must not depend on the
models in models/, which are trained separately); the inputs are small MIDI files written with pretty_midi.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pretty_midi
import pytest

from generation.cli.music_vae_generate import main
from generation.errors import InputError
from generation.families.music_vae.inputs import align, read_parts_bytes

REPO = Path(__file__).resolve().parents[1]
TINY = {"z_size": 8, "encoder_sizes": (16,), "decoder_sizes": (16, 16)}
Notes = Sequence[tuple[int, int, int]]  # (start step, end step, pitch)
KIT = [(t, t + 1, 42) for t in range(0, 32, 2)] + [(t, t + 1, 36) for t in range(0, 32, 8)] + \
      [(t, t + 1, 38) for t in range(4, 32, 8)]


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny untrained bundle of each config (random weights: the plumbing, not the music, is tested here)."""
    from generation.engine.bundle import Bundle
    from generation.families.music_vae.config import CONFIGS
    from generation.families.music_vae.network import MusicVae

    out = {}
    for name in CONFIGS:
        config = dataclasses.replace(CONFIGS[name], **TINY)  # type: ignore[arg-type]
        info = {"z_size": config.z_size, "encoder_sizes": list(config.encoder_sizes), "beta": 0.2, "free_bits": 0}
        folder = tmp_path_factory.mktemp(name)
        Bundle("music_vae", name, config.decoder_sizes, 0, MusicVae(config, seed=0).numpy_weights(), info).save(folder)
        out[name] = folder
    return out


def write_midi(path: Path, tracks: Sequence[tuple[int, bool, str, Notes]], qpm: float = 120.0) -> Path:
    """A MIDI file of (program, is_drum, name, notes) tracks, notes in 16th steps at `qpm`."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    step = 60.0 / qpm / 4
    for program, is_drum, name, notes in tracks:
        inst = pretty_midi.Instrument(program, is_drum=is_drum, name=name)
        inst.notes = [pretty_midi.Note(100, p, a * step, b * step) for a, b, p in notes]
        midi.instruments.append(inst)
    midi.write(str(path))
    return path


def melody_file(path: Path, bars: float, qpm: float = 120.0, low: int = 60) -> Path:
    """Quarter notes climbing a C major scale from `low` for `bars` bars."""
    scale = (0, 2, 4, 5, 7, 9, 11, 12)
    notes = [(t, t + 4, low + scale[t // 4 % 8]) for t in range(0, int(bars * 16), 4)]
    return write_midi(path, [(0, False, "lead", notes)], qpm)


def generate(out: Path, bundle: Path, *flags: str) -> list[Path]:
    assert main([f"--output_dir={out}", f"--bundle_file={bundle}", "--seed=3", *flags]) == 0
    return sorted(out.glob("*.mid"))


def notes_in_steps(midi: pretty_midi.PrettyMIDI, qpm: float) -> list[tuple[int, int, int]]:
    step = 60.0 / qpm / 4
    return sorted((round(n.start / step), round(n.end / step), n.pitch) for i in midi.instruments for n in i.notes)


def test_help_loads_no_tensorflow() -> None:
    """--help answers without importing TensorFlow (which alone takes seconds to load)."""
    code = ("import sys\nfrom generation.cli.music_vae_generate import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('TF LOADED' if 'tensorflow' in sys.modules else 'NO TF')")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "--input_midi_2" in out.stdout and "--whole_path" in out.stdout and "--checkpoint_file" in out.stdout
    assert out.stdout.strip().endswith("NO TF")


@pytest.mark.parametrize("config", ["cat-mel_2bar_small", "cat-drums_2bar"])
def test_sample_writes_num_outputs_files_of_two_bars(tmp_path: Path, bundles: dict[str, Path], config: str) -> None:
    name = config.removesuffix("_small")
    paths = generate(tmp_path, bundles[name], f"--config={config}", "--mode=sample", "--num_outputs=3",
                     "--temperature=1.0")
    assert len(paths) == 3
    assert all(re.fullmatch(rf"{config}_sample_\d{{4}}-\d\d-\d\d_\d{{6}}-00{i}-of-003\.mid", p.name)
               for i, p in enumerate(paths))
    for path in paths:
        midi = pretty_midi.PrettyMIDI(str(path))
        assert midi.get_end_time() == pytest.approx(32 * 0.125)  # 2 bars of 16ths at 120 qpm
        notes = notes_in_steps(midi, 120.0)
        assert notes, path.name
        if name == "cat-mel_2bar":
            assert not any(b[0] < a[1] for a, b in zip(notes, notes[1:], strict=False)), "not monophonic"
            assert [i.is_drum for i in midi.instruments] == [False]
        else:
            assert all(i.is_drum for i in midi.instruments)


def test_interpolate_fits_inputs_of_other_lengths_and_writes_the_whole_path(
        tmp_path: Path, bundles: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    one = melody_file(tmp_path / "one.mid", 1, qpm=90)
    seven = melody_file(tmp_path / "seven.mid", 7, low=63)  # in Eb major
    out = tmp_path / "out"
    paths = generate(out, bundles["cat-mel_2bar"], "--config=cat-mel_2bar", "--mode=interpolate",
                     f"--input_midi_1={one}", f"--input_midi_2={seven}", "--num_outputs=4", "--whole_path")
    printed = capsys.readouterr().out
    assert "one.mid was 1 bar: looped 2 times to fill 2 bars" in printed
    assert "seven.mid was 7 bars: its first 2 bars are used" in printed
    assert "seven.mid transposed down 3 semitones to C major" in printed
    steps = [p for p in paths if "-of-004" in p.name]
    whole = [p for p in paths if p.name.endswith("-path.mid")]
    assert len(steps) == 4 and len(whole) == 1 and len(paths) == 5
    for path in steps:  # at input 1's tempo
        assert pretty_midi.PrettyMIDI(str(path)).get_end_time() == pytest.approx(32 * 60 / 90 / 4)
    path_notes = notes_in_steps(pretty_midi.PrettyMIDI(str(whole[0])), 90.0)
    joined = [(a + 32 * k, b + 32 * k, p) for k, path in enumerate(steps)
              for a, b, p in notes_in_steps(pretty_midi.PrettyMIDI(str(path)), 90.0)]
    assert path_notes == joined  # the outputs end to end


def test_a_file_shorter_than_a_bar_is_refused_by_name(tmp_path: Path, bundles: dict[str, Path],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    short = write_midi(tmp_path / "blip.mid", [(0, False, "", [(0, 2, 60), (2, 6, 64)])])
    whole = melody_file(tmp_path / "whole.mid", 2)
    code = main([f"--output_dir={tmp_path / 'out'}", f"--bundle_file={bundles['cat-mel_2bar']}",
                 "--config=cat-mel_2bar", "--mode=interpolate", f"--input_midi_1={whole}", f"--input_midi_2={short}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "blip.mid has 6 sixteenth notes" in err and "at least one 4/4 bar (16 sixteenth notes" in err
    assert not (tmp_path / "out").exists()  # refused before anything was written
    code = main([f"--output_dir={tmp_path / 'out'}", f"--bundle_file={bundles['cat-mel_2bar']}",
                 "--config=cat-mel_2bar", "--mode=interpolate", f"--input_midi_1={whole}", f"--input_midi_2={whole}",
                 "--refine_steps=900"])
    assert code == 2 and "--refine_steps=900 is out of range; allowed: 0 to 500." in capsys.readouterr().err


def test_drums_on_channel_1_are_found_and_a_melody_is_no_drum_part(
        tmp_path: Path, bundles: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    on_one = write_midi(tmp_path / "loop.mid", [(0, False, "", KIT)])
    on_ten = write_midi(tmp_path / "groove.mid", [(0, True, "", KIT[:20])])
    paths = generate(tmp_path / "out", bundles["cat-drums_2bar"], "--config=cat-drums_2bar_small",
                     "--mode=interpolate", f"--input_midi_1={on_one}", f"--input_midi_2={on_ten}", "--num_outputs=3")
    assert "loop.mid: track 1 is not on MIDI channel 10 but plays drums" in capsys.readouterr().out
    assert len(paths) == 3 and all(i.is_drum for p in paths for i in pretty_midi.PrettyMIDI(str(p)).instruments)

    tune = melody_file(tmp_path / "tune.mid", 2)
    code = main([f"--output_dir={tmp_path / 'out2'}", f"--bundle_file={bundles['cat-drums_2bar']}",
                 "--config=cat-drums_2bar", "--mode=interpolate", f"--input_midi_1={on_ten}", f"--input_midi_2={tune}"])
    err = capsys.readouterr().err
    assert code == 2
    assert ("tune.mid has no drum part (no track on MIDI channel 10 and none that looks like drums); "
            "cat-drums_2bar needs one") in err


def test_the_same_seed_writes_the_same_midi(tmp_path: Path, bundles: dict[str, Path]) -> None:
    def run(out: str, seed: int) -> list[bytes]:
        assert main([f"--output_dir={tmp_path / out}", f"--bundle_file={bundles['cat-mel_2bar']}",
                     "--config=cat-mel_2bar", "--num_outputs=3", "--temperature=1.0", f"--seed={seed}"]) == 0
        return [p.read_bytes() for p in sorted((tmp_path / out).glob("*.mid"))]

    first = run("a", 7)
    assert run("b", 7) == first
    assert run("c", 8) != first


def test_a_part_is_cut_at_its_first_bar_with_a_note_and_looped_without_notes_running_on() -> None:
    late = [-2] * 20 + [67] + [-2] * 27 + [72] + [-2] * 15  # 4 bars, the first note in bar 2 after a beat's rest
    (track,), notes = align([("late.mid", late)], "melody", 32, transpose=True)
    assert track == tuple(late[16:48])
    assert notes == ["late.mid was 3 bars: from bar 2, its first 2 bars are used"]
    bar = [-2] * 4 + [60] + [-2] * 11  # 1 bar, a rest then a C held to the bar line
    (looped,), _ = align([("bar.mid", bar)], "melody", 32, transpose=False)
    assert looped == tuple(bar + [-1] + bar[1:])  # looped: the C stops where the bar starts again
    (high,), notes = align([("high.mid", [110, -2, 112, -1] * 8)], "melody", 32, transpose=False)
    assert high == (98, -2, 100, -1) * 8
    assert notes == ["high.mid moved down 1 octave into MusicVAE's range (MIDI 21-108)"]
    with pytest.raises(InputError, match="x.mid has 5 sixteenth notes"):
        align([("x.mid", [60, -2, -2, -2, -1])], "melody", 32, transpose=False)


def test_the_sandbox_reader_answers_the_parts_found(tmp_path: Path) -> None:
    piano = [(t, t + 4, 72 + t // 4 % 3) for t in range(0, 32, 4)] + [(t, t + 8, 48) for t in range(0, 32, 8)]
    bass = [(t, t + 8, 36) for t in range(0, 32, 8)]
    band = write_midi(tmp_path / "band.mid", [(0, False, "piano", piano), (33, False, "bass", bass),
                                              (0, True, "drums", KIT)], qpm=100)
    parts, qpm = read_parts_bytes(band.read_bytes(), "the attachment band.mid", "band.mid")
    assert qpm == 100 and set(parts) == {"melody", "bass", "drums"}
    assert parts["melody"][:5] == [72, -2, -2, -2, 73] and parts["bass"][:9] == [36] + [-2] * 7 + [36]
    assert parts["drums"][:3] == [[36, 42], [], [42]]
    alone = write_midi(tmp_path / "alone.mid", [(0, False, "piano", piano)])
    parts, _ = read_parts_bytes(alone.read_bytes(), "the attachment alone.mid", "alone.mid")
    assert parts["bass"][:9] == [48] + [-2] * 7 + [48]  # the left hand of a lone two-handed part
    empty = write_midi(tmp_path / "empty.mid", [(0, False, "piano", [])])
    with pytest.raises(InputError, match="the attachment empty.mid has no notes"):
        read_parts_bytes(empty.read_bytes(), "the attachment empty.mid", "empty.mid")
