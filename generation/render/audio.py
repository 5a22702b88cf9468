"""Render MIDI files to OGG, MP3 or WAV audio with the FluidSynth command line and a GM soundfont."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

AUDIO_FORMATS = ("ogg", "mp3", "wav")

_SOUNDFONT_CANDIDATES = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/soundfonts/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
)
# soundfile format and subtype for each output format.
_SF_FORMATS = {"ogg": ("OGG", "VORBIS"), "mp3": ("MP3", "MPEG_LAYER_III"), "wav": ("WAV", "PCM_16")}
_MIN_RATE, _MAX_RATE = 8000, 96000  # what FluidSynth's synth.sample-rate accepts
_GAIN = 0.5  # FluidSynth master gain; we render to float WAV and normalise later, so this cannot clip
_SILENCE_DBFS = -80.0  # a raw render whose peak is below this has no audible notes
_TAIL_DB = -50.0  # "sound" is anything within this many dB of the peak; quieter is reverb dying away
_TAIL_S = 1.0  # release tail kept after the last sound
_FADE_S = 0.05  # fade at the cut so trimming does not click
_PEAK_PASSES = 6  # re-encodes allowed to bring a lossy file's decoded peak onto the target
_PEAK_TOLERANCE_DB = 0.03
# FluidSynth exits 0 after these, having quietly rendered with a fallback soundfont or nothing at all.
_FLUIDSYNTH_ERRORS = ("not a SoundFont or MIDI file", "Failed to load SoundFont")


class RenderError(Exception):
    """Rendering failed; the message says what failed and what to do about it."""


def default_soundfont() -> Path:
    """Finds the General MIDI soundfont to render with.

    Returns:
        $TUNESMITH_SOUNDFONT if set, else the first of the usual Debian/Ubuntu locations that exists.

    Raises:
        RenderError: no soundfont was found.
    """
    env = os.environ.get("TUNESMITH_SOUNDFONT")
    if env:
        return Path(env)
    for path in _SOUNDFONT_CANDIDATES:
        if path.is_file():
            return path
    raise RenderError(
        "no General MIDI soundfont found: apt-get install fluid-soundfont-gm, or set TUNESMITH_SOUNDFONT"
    )


def _check_header(path: Path, what: str, magic: dict[int, bytes], fix: str) -> None:
    """Raises RenderError unless `path` is a readable file with the bytes `magic[offset]` at each offset."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as e:
        raise RenderError(f"cannot read {what} {path}: {e.strerror or e}; {fix}") from None
    if any(head[at : at + len(m)] != m for at, m in magic.items()):
        raise RenderError(f"{path} is not a valid {what}; {fix}")


def _run_fluidsynth(midi: Path, soundfont: Path, wav: Path, sample_rate: int, timeout_s: float) -> None:
    """Renders `midi` to a 32-bit float WAV at `wav`, raising RenderError on any failure."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise RenderError("FluidSynth is not installed: apt-get install fluidsynth")
    # We call the binary rather than going through midi2audio: midi2audio has no timeout and hides stderr.
    cmd = [exe, "-ni", "-q", "-g", str(_GAIN), "-r", str(sample_rate), "-O", "float", "-T", "wav",
           "-F", str(wav), str(soundfont), str(midi)]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:  # subprocess.run has already killed the child
        raise RenderError(
            f"FluidSynth took longer than {timeout_s:g} s rendering {midi.name} and was stopped; "
            "try a shorter piece or a longer timeout"
        ) from None
    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    bad = [ln for ln in lines if any(e in ln for e in _FLUIDSYNTH_ERRORS)]
    if proc.returncode != 0 or bad:
        last = (bad or lines or ["(no error output)"])[-1]
        raise RenderError(f"FluidSynth failed (exit {proc.returncode}) rendering {midi.name}: {last}")
    if not wav.is_file() or wav.stat().st_size == 0:
        raise RenderError(f"FluidSynth wrote no audio for {midi.name}; check that the MIDI file is valid")


def _trim_and_normalise(audio: np.ndarray, sample_rate: int, peak_dbfs: float) -> np.ndarray:
    """Cuts silence after the last sound plus a release tail, then scales the peak to `peak_dbfs`."""
    level = np.abs(audio).max(axis=1)
    peak = float(level.max())
    loud = np.flatnonzero(level > peak * 10 ** (_TAIL_DB / 20))
    end = min(len(audio), int(loud[-1]) + 1 + int(_TAIL_S * sample_rate))
    audio = audio[:end].copy()
    fade = min(end, int(_FADE_S * sample_rate))
    audio[end - fade :] *= np.linspace(1.0, 0.0, fade, dtype=audio.dtype)[:, None]
    return audio * np.float32(10 ** (peak_dbfs / 20) / peak)


def _decoded_error_db(path: Path, peak_dbfs: float) -> float:
    """How many dB the decoded file's peak is below the target."""
    return float(peak_dbfs - 20 * np.log10(np.abs(sf.read(path, dtype="float32")[0]).max()))


def render_midi(
    midi_path: Path,
    out_path: Path,
    *,
    fmt: str | None = None,
    soundfont: Path | None = None,
    sample_rate: int = 44100,
    timeout_s: float = 60.0,
    peak_dbfs: float = -1.0,
) -> Path:
    """Renders a MIDI file to a trimmed, peak-normalised audio file.

    Args:
        midi_path: the Standard MIDI File to render.
        out_path: where to write the audio; parent folders are created.
        fmt: one of AUDIO_FORMATS; by default taken from the suffix of `out_path`.
        soundfont: the .sf2 to play with; by default `default_soundfont()`.
        sample_rate: output sample rate in Hz.
        timeout_s: FluidSynth is stopped, and RenderError raised, after this many seconds.
        peak_dbfs: the peak level of the output, in dB relative to full scale.

    Returns:
        `out_path`.

    Raises:
        RenderError: the MIDI, soundfont, format or FluidSynth is missing or unusable, FluidSynth failed
            or timed out, or the MIDI has no audible notes.
    """
    midi_path, out_path = Path(midi_path), Path(out_path)
    fmt = (fmt or out_path.suffix.lstrip(".")).lower()
    if fmt not in AUDIO_FORMATS:
        raise RenderError(
            f"cannot write {fmt or 'audio without a file suffix'}: choose one of {AUDIO_FORMATS}"
        )
    sf_format, subtype = _SF_FORMATS[fmt]
    if sf_format not in sf.available_formats():
        raise RenderError(
            f"this libsndfile ({sf.__libsndfile_version__}) cannot write {fmt.upper()}: "
            "pip install -U soundfile (its wheels bundle libsndfile >= 1.1 with MP3 and OGG)"
        )
    if not _MIN_RATE <= sample_rate <= _MAX_RATE:
        raise RenderError(
            f"sample rate {sample_rate} Hz is outside {_MIN_RATE}-{_MAX_RATE} Hz: use e.g. 44100"
        )
    # Check the inputs ourselves: given a bad soundfont, FluidSynth falls back to its default and exits 0.
    _check_header(midi_path, "MIDI file", {0: b"MThd"}, "pass a Standard MIDI File (.mid)")
    soundfont = Path(soundfont) if soundfont is not None else default_soundfont()
    _check_header(
        soundfont, "soundfont", {0: b"RIFF", 8: b"sfbk"}, "pass a .sf2 file or set TUNESMITH_SOUNDFONT"
    )

    with tempfile.TemporaryDirectory(prefix="tunesmith-render-") as tmp:
        wav = Path(tmp) / "raw.wav"
        _run_fluidsynth(midi_path, soundfont, wav, sample_rate, timeout_s)
        try:
            audio, rate = sf.read(wav, dtype="float32", always_2d=True)
        except sf.LibsndfileError as e:
            raise RenderError(f"could not read FluidSynth's output for {midi_path.name}: {e}") from None
        if audio.size == 0 or np.abs(audio).max() < 10 ** (_SILENCE_DBFS / 20):
            raise RenderError(f"the MIDI has no audible notes ({midi_path.name} rendered to silence)")
        audio = _trim_and_normalise(audio, rate, peak_dbfs)
        # Encode next to the raw render, then move: a failure never leaves a half-written out_path.
        encoded = Path(tmp) / f"out.{fmt}"
        try:
            sf.write(encoded, audio, rate, format=sf_format, subtype=subtype)
            # Lossy codecs move the peak by a few tenths of a dB (and not linearly): measure each encode's
            # decoded peak, correct the gain, and keep whichever encode came closest.
            best_error = error = _decoded_error_db(encoded, peak_dbfs) if fmt != "wav" else 0.0
            gain = 1.0
            for attempt in range(_PEAK_PASSES if fmt != "wav" else 0):
                if abs(best_error) < _PEAK_TOLERANCE_DB:
                    break
                gain *= 10 ** (error / 20)
                trial = Path(tmp) / f"trial{attempt}.{fmt}"
                sf.write(trial, audio * np.float32(gain), rate, format=sf_format, subtype=subtype)
                error = _decoded_error_db(trial, peak_dbfs)
                if abs(error) < abs(best_error):
                    best_error = error
                    shutil.move(trial, encoded)
        except sf.LibsndfileError as e:
            raise RenderError(f"could not encode {fmt.upper()}: {e}") from None
        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(encoded, out_path)
        except OSError as e:
            raise RenderError(
                f"cannot write {out_path}: {e.strerror or e}; check the folder exists and is writable"
            ) from None
    return out_path
