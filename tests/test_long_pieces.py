"""Long pieces render, and the model worker survives them and leaves no temp files: real FluidSynth, real models.

libsndfile's Vorbis encoder crashed the process (SIGSEGV) when one write carried more than 2**21 frames (47.5 s at
44.1 kHz): every chat command at its maximum length took the model worker down, and the CLIs exited -11.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from bot.commands import MAX_BARS, MAX_SECONDS, parse_command

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
PIECE_S = 130.0  # longer than any chat command's maximum at its default tempo (64 bars at 120 qpm: 128 s)
RELEASE_S = 3.0  # the last notes' release (strings ring on) plus the renderer's one-second tail


def _python() -> str:
    return str(PYTHON if PYTHON.exists() else sys.executable)


def _long_midi(path: Path, seconds: float) -> Path:
    """A piano melody over held string chords, `seconds` long."""
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    strings = pretty_midi.Instrument(program=48)
    for i in range(int(seconds / 0.5)):
        t = i * 0.5
        piano.notes.append(pretty_midi.Note(90, 60 + (i * 5) % 17, t, t + 0.5))
        if i % 4 == 0:
            strings.notes += [pretty_midi.Note(70, p, t, min(t + 2.0, seconds)) for p in (48, 55, 64)]
    pm.instruments += [piano, strings]
    pm.write(str(path))
    return path


def _decoded(path: Path) -> tuple[float, float]:
    """(seconds, peak dBFS) of an audio file as a player decodes it."""
    audio, rate = sf.read(path, dtype="float32")
    return len(audio) / rate, float(20 * np.log10(np.abs(audio).max()))


@pytest.mark.parametrize("fmt", ["ogg", "mp3"])
def test_a_piece_longer_than_any_command_renders(tmp_path: Path, fmt: str) -> None:
    midi = _long_midi(tmp_path / "long.mid", PIECE_S)
    out = tmp_path / f"long.{fmt}"
    # In a child process: the old encoder crash would otherwise take pytest down with it.
    code = f"from generation.render.audio import render_midi; render_midi({str(midi)!r}, {str(out)!r})"
    proc = subprocess.run([_python(), "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"render exited {proc.returncode}: {proc.stderr[-2000:]}"
    seconds, peak = _decoded(out)
    assert PIECE_S <= seconds <= PIECE_S + RELEASE_S
    assert -2.0 <= peak < 0.0


@pytest.mark.parametrize("fmt", ["ogg", "mp3"])
def test_performance_cli_writes_a_minute_of_audio(tmp_path: Path, fmt: str) -> None:
    exe = REPO / ".venv" / "bin" / "performance_rnn_generate"
    proc = subprocess.run(
        [str(exe), "--num_steps=6000", f"--audio={fmt}", "--num_outputs=1", "--seed=7", f"--output_dir={tmp_path}"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)},  # this checkout's code, whichever one the venv installed
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    (audio,) = tmp_path.glob(f"*.{fmt}")
    seconds, peak = _decoded(audio)
    assert 50.0 <= seconds <= 60.0 + RELEASE_S  # 60 s of performance (silence at its end would be trimmed)
    assert peak < 0.0
    assert f"wrote {audio}" in proc.stdout


class WorkerProcess:
    """`python -m generation.worker` speaking its JSON-lines protocol, with its stderr kept in a file."""

    def __init__(self, tmp: Path, warm: str, env: dict[str, str]) -> None:
        self.stderr_path = tmp / "worker-stderr.txt"
        with self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [_python(), "-m", "generation.worker", warm], cwd=REPO, env={**os.environ, **env},
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True,
            )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.next_event(lambda e: e.get("event") == "ready", timeout=240)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)  # the worker's stdout closed: it exited

    def next_event(self, wanted: Any, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no answer from the worker in {timeout:.0f} s:\n{self.stderr()}") from None
            if event is None:
                raise AssertionError(f"the worker died (exit {self.proc.wait()}):\n{self.stderr()}")
            if wanted(event):
                return event

    def run(self, job_id: str, command: str, out_dir: Path, timeout: float = 300) -> dict[str, Any]:
        request = parse_command(command, default_seed=3).request
        assert request is not None
        payload = {"job_id": job_id, "request": json.loads(request.to_json()), "out_dir": str(out_dir)}
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(payload) + "\n")
        self.proc.stdin.flush()
        return self.next_event(lambda e: e.get("job_id") == job_id and e["event"] in ("done", "error"), timeout)

    def stderr(self, tail: int = 4000) -> str:
        return self.stderr_path.read_text(errors="replace")[-tail:]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signals the worker's whole process group (it and any FluidSynth it started)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=30)


def _ours(system_tmp: Path) -> list[str]:
    """What is left in the worker's TMPDIR, but TensorFlow's autograph sources (written once per process)."""
    return [p.name for p in system_tmp.iterdir() if not p.name.startswith("__autograph_generated_file")]


@pytest.fixture
def system_tmp(tmp_path: Path) -> Path:
    """A private TMPDIR for the worker, so leftovers of ours are told apart from other programs' files."""
    path = tmp_path / "system-tmp"
    path.mkdir()
    return path


def test_every_command_at_its_maximum_length_renders_in_the_worker(tmp_path: Path, system_tmp: Path) -> None:
    worker = WorkerProcess(tmp_path, "chord_pitches_improv", {"TMPDIR": str(system_tmp)})
    try:
        commands = {"improv": f"/improv C G Am F bars:{MAX_BARS}", "chorale": f"/chorale G4 E4 C4 bars:{MAX_BARS}",
                    "perform": f"/perform seconds:{MAX_SECONDS}", "pianoroll": f"/pianoroll bars:{MAX_BARS}"}
        # Default tempi: 120 qpm (2 s a bar), /pianoroll 60 qpm (4 s a bar).
        expected_s = {"improv": MAX_BARS * 2.0, "chorale": MAX_BARS * 2.0, "perform": float(MAX_SECONDS),
                      "pianoroll": MAX_BARS * 4.0}
        for name, command in commands.items():
            out_dir = tmp_path / name
            event = worker.run(name, command, out_dir)
            assert event["event"] == "done", f"{command}: {event}"
            (output,) = event["result"]["outputs"]
            seconds, peak = _decoded(out_dir / output["audio"])
            assert expected_s[name] * 0.75 <= seconds <= expected_s[name] + RELEASE_S, (command, seconds)
            assert peak < 0.0
            # Only what the user gets is left: no scratch folder, nothing in the system's temp folder.
            assert sorted(p.suffix for p in out_dir.iterdir()) == [".mid", ".ogg", ".png"]
            assert _ours(system_tmp) == []
        # A native crash anyway: the operator's log gets the Python stack, not a bare "exit -11".
        worker.kill(signal.SIGSEGV)
        log = worker.stderr(tail=1_000_000)
        assert "Fatal Python error: Segmentation fault" in log
        assert "generation/worker.py" in log
    finally:
        worker.kill()


def test_a_failed_or_killed_render_leaves_files_only_in_the_scratch_folder(tmp_path: Path,
                                                                            system_tmp: Path) -> None:
    # A FluidSynth that notes where it was told to write and starts writing there; then it fails, or (once
    # `hang` exists) hangs until the worker is killed.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    args_file, hang = tmp_path / "fluidsynth-args.txt", tmp_path / "hang"
    exe = bin_dir / "fluidsynth"
    exe.write_text('#!/bin/sh\nwhile [ "$1" != "-F" ]; do shift; done\n'
                   'head -c 1000000 /dev/zero > "$2"\n'
                   f'echo "$2" > {args_file}.part && mv {args_file}.part {args_file}\n'
                   f'[ -e {hang} ] && exec sleep 60\n'
                   'echo "fluidsynth: out of voices" >&2; exit 3\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    env = {"TMPDIR": str(system_tmp), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    worker = WorkerProcess(tmp_path, "chord_pitches_improv", env)
    try:
        event = worker.run("failed", "/improv C G Am F", tmp_path / "failed")
        assert event["event"] == "error" and "out of voices" in event["message"]
        assert sorted(p.name for p in (tmp_path / "failed").iterdir()) == ["melody_1.mid"]
        args_file.unlink()

        hang.touch()
        request = parse_command("/improv C G Am F", default_seed=1).request
        assert request is not None and worker.proc.stdin is not None
        worker.proc.stdin.write(json.dumps({"job_id": "killed", "request": json.loads(request.to_json()),
                                            "out_dir": str(tmp_path / "killed")}) + "\n")
        worker.proc.stdin.flush()
        deadline = time.monotonic() + 120
        while not args_file.exists():
            assert time.monotonic() < deadline, f"FluidSynth never started:\n{worker.stderr()}"
            time.sleep(0.1)
    finally:
        worker.kill()
    raw = Path(args_file.read_text().strip())
    scratch = tmp_path / "killed" / ".scratch"
    assert scratch in raw.parents, f"the raw render went to {raw}, outside {scratch}"
    assert raw.stat().st_size == 1_000_000
    assert _ours(system_tmp) == []
    # So removing <out_dir>/.scratch (the queue does, after a crash) leaves only the finished MIDI.
    assert sorted(p.name for p in (tmp_path / "killed").iterdir()) == [".scratch", "melody_1.mid"]
