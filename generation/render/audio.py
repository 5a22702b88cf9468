"""Render MIDI files to OGG, MP3 or WAV audio with the FluidSynth command line and a GM soundfont."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from generation.render.formats import AUDIO_FORMATS

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
_FADE_S = 0.05  # fade-out at the cut
# Frames handed to the encoder per write: libsndfile 1.2's Vorbis encoder crashes the process (SIGSEGV) when one
# write carries more than 2**21 frames (47.5 s at 44.1 kHz), so every format is written in blocks.
BLOCK_FRAMES = 65536
# Lossy codecs move the decoded peak away from the peak of the samples they were given, either way. Measured on
# 64 real renders (POP909, piano-midi.de, Groove drums, ASAP, our chat outputs; up to 60 s each, samples peaking
# at -1 dBFS, libsndfile 1.2.2), decoded peak minus input peak: OGG -0.67 to +0.42 dB (medians -0.10, -0.03 in
# two batches), MP3 -0.24 to +0.17 dB (medians 0.00). So we encode once, at the target but never above
# -HEADROOM_DB (the largest overshoot seen plus ~0.15 dB): the decoded peak never clips and lands within
# PEAK_MARGIN_DB of the target (the largest miss seen plus ~0.15 dB).
HEADROOM_DB = {"ogg": 0.6, "mp3": 0.3, "wav": 0.0}
PEAK_MARGIN_DB = {"ogg": 0.8, "mp3": 0.4, "wav": 0.01}
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
    # dynamic-sample-loading: read only the samples of the presets the piece plays (FluidR3 is 148 MB; one note
    # then renders in 0.12 s instead of 0.21 s, in 46 MB instead of 174 MB). Same samples out for a melody and
    # for a POP909 band arrangement; a Groove drum take differed by at most 71 dB below its peak.
    cmd = [exe, "-ni", "-q", "-o", "synth.dynamic-sample-loading=1", "-g", str(_GAIN), "-r", str(sample_rate),
           "-O", "float", "-T", "wav", "-F", str(wav), str(soundfont), str(midi)]  # fmt: skip
    # FluidSynth starts SDL audio even when writing a file; SDL's ALSA hot-plug thread sleeps in 100 ms steps and
    # is joined at exit, adding up to 0.1 s to every render. Its dummy driver has no such thread.
    env = {**os.environ, "SDL_AUDIODRIVER": "dummy"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False, env=env)
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


def _loudness_scan(raw: sf.SoundFile) -> tuple[float, int]:
    """The peak of a raw render and the frame after its last sound (within _TAIL_DB of the peak), block by block."""
    peaks = [float(np.abs(block).max(initial=0.0)) for block in raw.blocks(BLOCK_FRAMES, dtype="float32")]
    peak = max(peaks, default=0.0)
    if peak < 10 ** (_SILENCE_DBFS / 20):
        return peak, 0
    threshold = peak * 10 ** (_TAIL_DB / 20)
    last = max(i for i, p in enumerate(peaks) if p > threshold)  # the block holding the last sound
    raw.seek(last * BLOCK_FRAMES)
    level = np.abs(raw.read(BLOCK_FRAMES, dtype="float32", always_2d=True)).max(axis=1)
    return peak, last * BLOCK_FRAMES + int(np.flatnonzero(level > threshold)[-1]) + 1


def _encode(raw: sf.SoundFile, peak: float, end: int, path: Path, fmt: str, peak_dbfs: float,
            min_frames: int = 0) -> None:
    """Writes frames [0, end) of `raw` plus a faded release tail to `path`, and at least `min_frames` (silence
    past the render if need be): one encode, in blocks.

    The peak is scaled to `peak_dbfs`, but never above the codec's headroom.
    """
    sf_format, subtype = _SF_FORMATS[fmt]
    end = min(raw.frames, end + int(_TAIL_S * raw.samplerate))
    padding = max(0, min_frames - end)
    fade = min(end, int(_FADE_S * raw.samplerate))  # fade at the cut so trimming does not click
    ramp = np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    gain = np.float32(10 ** (min(peak_dbfs, -HEADROOM_DB[fmt]) / 20) / peak)
    raw.seek(0)
    with sf.SoundFile(path, "w", raw.samplerate, raw.channels, subtype, format=sf_format) as out:
        for start in range(0, end, BLOCK_FRAMES):
            block = raw.read(min(BLOCK_FRAMES, end - start), dtype="float32", always_2d=True) * gain
            faded = max(start, end - fade)  # first frame of this block inside the fade
            if faded < start + len(block):
                block[faded - start :] *= ramp[faded - (end - fade) : start + len(block) - (end - fade)]
            out.write(block)
        for start in range(0, padding, BLOCK_FRAMES):
            out.write(np.zeros((min(BLOCK_FRAMES, padding - start), raw.channels), np.float32))


def render_midi(
    midi_path: Path,
    out_path: Path,
    *,
    fmt: str | None = None,
    soundfont: Path | None = None,
    sample_rate: int = 44100,
    timeout_s: float = 60.0,
    peak_dbfs: float = -1.0,
    scratch_dir: Path | None = None,
    min_seconds: float = 0.0,
) -> Path:
    """Renders a MIDI file to a trimmed, peak-normalised audio file.

    Args:
        midi_path: the Standard MIDI File to render.
        out_path: where to write the audio; parent folders are created.
        fmt: one of AUDIO_FORMATS; by default taken from the suffix of `out_path`.
        soundfont: the .sf2 to play with; by default `default_soundfont()`.
        sample_rate: output sample rate in Hz.
        timeout_s: FluidSynth is stopped, and RenderError raised, after this many seconds.
        peak_dbfs: the peak level of the output, in dB relative to full scale. Lossy formats are encoded once,
            so their decoded peak lands within PEAK_MARGIN_DB of it, and never above -HEADROOM_DB before encoding.
        scratch_dir: where the raw render and the encode are made (a fresh folder inside it, removed on return
            or error); by default the system temp folder. A worker passes one it can remove if it is killed.
        min_seconds: the audio lasts at least this long (the piece's length: a piece ending in a rest still
            lasts its bars); past the last sound only its 1 s release tail is kept otherwise.

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
    sf_format = _SF_FORMATS[fmt][0]
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

    if scratch_dir is not None:
        try:
            Path(scratch_dir).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RenderError(f"cannot create the scratch folder {scratch_dir}: {e.strerror or e}") from None
    with tempfile.TemporaryDirectory(prefix="tunesmith-render-", dir=scratch_dir) as tmp:
        wav = Path(tmp) / "raw.wav"
        _run_fluidsynth(midi_path, soundfont, wav, sample_rate, timeout_s)
        # Encode next to the raw render, then move: a failure never leaves a half-written out_path.
        encoded = Path(tmp) / f"out.{fmt}"
        try:
            with sf.SoundFile(wav) as raw:  # read in blocks: memory stays flat whatever the length
                peak, end = _loudness_scan(raw)
                if end == 0:
                    raise RenderError(f"the MIDI has no audible notes ({midi_path.name} rendered to silence)")
                try:
                    _encode(raw, peak, end, encoded, fmt, peak_dbfs, int(min_seconds * raw.samplerate))
                except sf.LibsndfileError as e:
                    raise RenderError(f"could not encode {fmt.upper()}: {e}") from None
        except sf.LibsndfileError as e:
            raise RenderError(f"could not read FluidSynth's output for {midi_path.name}: {e}") from None
        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(encoded, out_path)
        except OSError as e:
            raise RenderError(
                f"cannot write {out_path}: {e.strerror or e}; check the folder exists and is writable"
            ) from None
    return out_path
