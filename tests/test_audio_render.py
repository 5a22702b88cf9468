"""Tests for generation.render.audio with the real FluidSynth binary and a real GM soundfont."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from generation.render.audio import (
    AUDIO_FORMATS,
    BLOCK_FRAMES,
    HEADROOM_DB,
    PEAK_MARGIN_DB,
    RenderError,
    render_midi,
)

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


@pytest.fixture
def band(tmp_path: Path) -> Path:
    """4 s of drums (channel 10) under loud piano chords: sharp transients, where codecs overshoot most."""
    pm = pretty_midi.PrettyMIDI()
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    piano = pretty_midi.Instrument(program=0)
    for i in range(16):
        t = i * 0.25
        kick_or_snare = 36 if i % 2 == 0 else 38
        drums.notes += [pretty_midi.Note(127, 42, t, t + 0.1), pretty_midi.Note(127, kick_or_snare, t, t + 0.2)]
        if i % 4 == 0:
            piano.notes += [pretty_midi.Note(120, p, t, t + 1.0) for p in (48, 55, 60, 64, 67)]
    pm.instruments += [drums, piano]
    pm.write(str(tmp_path / "band.mid"))
    return tmp_path / "band.mid"


def _peak_db(path: Path) -> float:
    """The decoded file's peak in dBFS, as a player would see it."""
    return float(20 * np.log10(np.abs(sf.read(path, dtype="float32")[0]).max()))


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
    assert abs(_peak_db(out) - -1.0) <= PEAK_MARGIN_DB[fmt]
    assert 20 * np.log10(np.sqrt(np.mean(audio**2))) > -40.0


@needs_fluidsynth
def test_explicit_format_overrides_suffix(arpeggio: Path, tmp_path: Path) -> None:
    out = render_midi(arpeggio, tmp_path / "clip.audio", fmt="ogg", peak_dbfs=-6.0)
    assert sf.info(out).format == "OGG"
    assert abs(_peak_db(out) - -6.0) <= PEAK_MARGIN_DB["ogg"]


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


class _EncoderSpy:
    """Counts the audio files opened for writing and the largest block handed to an encoder."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened: list[str] = []
        self.largest_write = 0
        spy = self

        class SpyFile(sf.SoundFile):
            def __init__(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> None:
                super().__init__(file, mode, *args, **kwargs)
                if "w" in mode:
                    spy.opened.append(str(file))

            def write(self, data: Any) -> None:
                spy.largest_write = max(spy.largest_write, len(data))
                super().write(data)

        monkeypatch.setattr(sf, "SoundFile", SpyFile)


@needs_fluidsynth
@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_each_file_is_encoded_once_in_blocks(band: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              fmt: str) -> None:
    spy = _EncoderSpy(monkeypatch)
    out = render_midi(band, tmp_path / f"band.{fmt}")
    # One encoder, opened once: no trial encodes to chase the peak. Blocks small enough that libsndfile's
    # Vorbis encoder cannot crash (it does above 2**21 frames in one write).
    assert len(spy.opened) == 1, spy.opened
    assert 0 < spy.largest_write <= BLOCK_FRAMES
    assert sf.info(out).duration > 3.5


@needs_fluidsynth
@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
@pytest.mark.parametrize("target", [0.0, -1.0, -12.0])
def test_decoded_peak_never_clips_and_stays_near_the_target(band: Path, tmp_path: Path, fmt: str,
                                                             target: float) -> None:
    peak = _peak_db(render_midi(band, tmp_path / f"band.{fmt}", peak_dbfs=target))
    assert peak < 0.0  # not one decoded sample at full scale
    # A target nearer full scale than the codec's measured overshoot is lowered by that headroom.
    assert abs(peak - min(target, -HEADROOM_DB[fmt])) <= PEAK_MARGIN_DB[fmt]


@needs_fluidsynth
def test_no_temp_files_outlive_a_render(arpeggio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    scratch = tmp_path / "job" / ".scratch"
    render_midi(arpeggio, tmp_path / "job" / "a.ogg", scratch_dir=scratch)
    assert list(scratch.iterdir()) == []
    with pytest.raises(RenderError, match="no audible notes"):
        render_midi(_write_midi(tmp_path / "empty.mid", []), tmp_path / "job" / "b.ogg", scratch_dir=scratch)
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "job").iterdir()) == [".scratch", "a.ogg"]
    render_midi(arpeggio, tmp_path / "c.mp3")  # without a scratch folder: the system's, left as found
    assert list(system_tmp.iterdir()) == []


@needs_fluidsynth
def test_a_piece_ending_in_rests_lasts_its_length(arpeggio: Path, tmp_path: Path) -> None:
    """2 s of notes in a 6 s piece: the audio lasts 6 s, silent after the release; without a length, the tail."""
    trimmed, rate = sf.read(render_midi(arpeggio, tmp_path / "trimmed.ogg"), always_2d=True)
    whole, rate = sf.read(render_midi(arpeggio, tmp_path / "whole.ogg", min_seconds=6.0), always_2d=True)
    assert len(trimmed) / rate <= 3.5
    assert 5.99 <= len(whole) / rate <= 6.05
    assert np.abs(whole[int(4.0 * rate):]).max() < 1e-3, "the rests are silence"
    assert np.abs(whole[: int(2.0 * rate)]).max() > 0.5, "the notes are still there, at the peak level"
