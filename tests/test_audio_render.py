"""Tests for generation.render.audio with the real FluidSynth binary and a real GM soundfont."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from generation.render.audio import AUDIO_FORMATS, RenderError, render_midi

needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None, reason="fluidsynth binary not on PATH (apt-get install fluidsynth)"
)


def _write_midi(path: Path, pitches: list[int]) -> Path:
    """Writes a piano part playing `pitches` as half-second notes."""
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0, name="piano")
    for i, pitch in enumerate(pitches):
        piano.notes.append(pretty_midi.Note(velocity=100, pitch=pitch, start=i * 0.5, end=(i + 1) * 0.5))
    pm.instruments.append(piano)
    pm.write(str(path))
    return path


@pytest.fixture
def arpeggio(tmp_path: Path) -> Path:
    """A 2 s C major arpeggio on piano."""
    return _write_midi(tmp_path / "arpeggio.mid", [60, 64, 67, 72])


def _fake_fluidsynth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Puts a shell script named fluidsynth first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "fluidsynth"
    exe.write_text(f"#!/bin/sh\n{script}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@needs_fluidsynth
@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_renders_each_format(arpeggio: Path, tmp_path: Path, fmt: str) -> None:
    out = render_midi(arpeggio, tmp_path / "out" / f"clip.{fmt}")
    assert out.is_file()
    audio, rate = sf.read(out, always_2d=True)
    assert 2.0 <= len(audio) / rate <= 5.0
    peak_db = 20 * np.log10(np.abs(audio).max())
    assert abs(peak_db - -1.0) <= 0.1
    assert 20 * np.log10(np.sqrt(np.mean(audio**2))) > -40.0


@needs_fluidsynth
def test_explicit_format_overrides_suffix(arpeggio: Path, tmp_path: Path) -> None:
    out = render_midi(arpeggio, tmp_path / "clip.audio", fmt="ogg", peak_dbfs=-6.0)
    assert sf.info(out).format == "OGG"
    audio, _ = sf.read(out)
    assert abs(20 * np.log10(np.abs(audio).max()) - -6.0) <= 0.1


@needs_fluidsynth
def test_empty_midi_is_an_error(tmp_path: Path) -> None:
    empty = _write_midi(tmp_path / "empty.mid", [])
    out = tmp_path / "empty.ogg"
    with pytest.raises(RenderError, match="no audible notes"):
        render_midi(empty, out)
    assert not out.exists()


def test_random_bytes_are_an_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mid"
    junk.write_bytes(np.random.default_rng(0).bytes(512))
    with pytest.raises(RenderError, match="not a valid MIDI"):
        render_midi(junk, tmp_path / "junk.wav")


def test_missing_midi_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="cannot read MIDI"):
        render_midi(tmp_path / "nope.mid", tmp_path / "nope.wav")


def test_bogus_soundfont_is_an_error(arpeggio: Path, tmp_path: Path) -> None:
    # FluidSynth itself would fall back to its default soundfont here and exit 0.
    with pytest.raises(RenderError, match="soundfont"):
        render_midi(arpeggio, tmp_path / "a.wav", soundfont=tmp_path / "missing.sf2")
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"not a soundfont at all")
    with pytest.raises(RenderError, match="not a valid soundfont"):
        render_midi(arpeggio, tmp_path / "a.wav", soundfont=fake)


def test_unknown_format_is_an_error(arpeggio: Path, tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="choose one of"):
        render_midi(arpeggio, tmp_path / "a.flac")


def test_fluidsynth_missing(arpeggio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(RenderError, match="apt-get install fluidsynth"):
        render_midi(arpeggio, tmp_path / "a.wav")


def test_fluidsynth_failure_reports_stderr(
    arpeggio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_fluidsynth(tmp_path, monkeypatch, "echo 'warming up' >&2\necho 'out of voices' >&2\nexit 3")
    with pytest.raises(RenderError, match=r"exit 3.*out of voices"):
        render_midi(arpeggio, tmp_path / "a.wav")


def test_fluidsynth_timeout(arpeggio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_fluidsynth(tmp_path, monkeypatch, "exec sleep 30")
    with pytest.raises(RenderError, match="longer than 0.5 s"):
        render_midi(arpeggio, tmp_path / "a.wav", timeout_s=0.5)


def test_bad_sample_rate_is_an_error(arpeggio: Path, tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="sample rate"):
        render_midi(arpeggio, tmp_path / "a.wav", sample_rate=1000)
