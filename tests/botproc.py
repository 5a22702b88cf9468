"""A real `python -m bot` in a subprocess for tests and benchmarks: start on a free port, talk HTTP, stop or kill.

The bot answers /healthz within a second or two; its model worker needs ~8 s more to warm up, and jobs submitted
meanwhile simply wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
# Inherited settings that would change what the bot under test does.
_SCRUB = ("TUNESMITH_", "SHARE_BASE_URL", "DISCORD_", "SLACK_")
# A traceback through bot/__main__.py means main() raised (a worker's traceback never passes through it).
TEST_WARM = "chord_pitches_improv"
_CRASHED_IN_MAIN = f'File "{REPO / "bot" / "__main__.py"}", line'


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BotProcess:
    """One running `python -m bot`; `url` is where its chat page and API answer."""

    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    def log(self) -> str:
        """Everything the bot (and its workers) printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the log without the per-request access lines, for failure messages."""
        return "\n".join(line for line in self.log().splitlines() if "aiohttp.access" not in line)[-chars:]

    def failed_worker_starts(self) -> int:
        """How often a model worker died during warm-up (the bot retries every few seconds, forever)."""
        return self.log().count("did not start")

    def worker_pids(self) -> list[int]:
        """PIDs of the bot's `generation.worker` children (read from /proc; psutil is not installed)."""
        return [pid for pid in _children(self.proc.pid) if b"generation.worker" in _cmdline(pid)]

    def stop(self, *, kill: bool = False, timeout: float = 20.0) -> int | None:
        """SIGTERM (a clean shutdown) or SIGKILL (a crash); waits for the exit and returns the exit code.

        With kill=True the workers are killed too, by PID, as a machine crash would; orphaned workers of a
        killed bot would otherwise keep running (and writing artifacts) for a while.
        """
        if self.proc.poll() is not None:
            return self.proc.returncode
        workers = self.worker_pids() if kill else []
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=timeout)

    def __enter__(self) -> BotProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_bot(data_dir: Path, env: Mapping[str, str] | None = None, *, port: int | None = None,
              timeout: float = 60.0) -> BotProcess:
    """Start `python -m bot` on `data_dir` and return once GET /healthz answers.

    Args:
        data_dir: TUNESMITH_DATA_DIR (SQLite + artifacts); reuse it to restart "the same bot".
        env: extra settings, e.g. {"TUNESMITH_QUEUE_CAP": "1"}.
        port: the port to serve on (default: a free one).
        timeout: seconds to wait for /healthz.

    Raises:
        RuntimeError: the bot exited or never answered (the message carries its log).
    """
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    # Tests warm one model (the chat's default improv), not every family's default: each extra model is a second
    # or two of every start-up, and the others load on a job's first use anyway.
    extra = {"TUNESMITH_PORT": str(port), "TUNESMITH_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
             "TUNESMITH_WARM": TEST_WARM, **(env or {})}
    full_env.update(extra)
    log_path = data_dir.parent / f"bot-{port}-{uuid.uuid4().hex[:6]}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(PYTHON if PYTHON.exists() else sys.executable), "-m", "bot"], cwd=REPO,
                                env=full_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    bot = BotProcess(proc, port, data_dir, log_path, extra)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the bot exited with {proc.returncode}:\n{bot.log_tail(4000)}")
        if _CRASHED_IN_MAIN in bot.log():  # a start-up error that left the process hanging instead of exiting
            bot.stop(kill=True)
            raise RuntimeError(f"the bot crashed at start-up but did not exit:\n{bot.log_tail(4000)}")
        with contextlib.suppress(OSError):
            if get_json(f"{bot.url}/healthz", timeout=1.0)[0] == 200:
                return bot
        time.sleep(0.2)
    bot.stop(kill=True)
    raise RuntimeError(f"the bot did not answer /healthz within {timeout:.0f} s:\n{bot.log_tail(4000)}")


# --- sync HTTP (urllib) ---------------------------------------------------------------------------------
def request(method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
            timeout: float = 30.0) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) for any answer, 4xx/5xx included."""
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, res.read(), dict(res.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def get_bytes(url: str, timeout: float = 30.0) -> tuple[int, bytes]:
    status, body, _ = request("GET", url, timeout=timeout)
    return status, body


def get_json(url: str, timeout: float = 30.0) -> tuple[int, Any]:
    status, body, _ = request("GET", url, timeout=timeout)
    return status, _json(body)


def post_command(bot: BotProcess, text: str, user: str | None = None) -> tuple[int, Any]:
    """POST /api/commands as JSON, as the chat page does; returns (status, JSON body)."""
    payload: dict[str, str] = {"text": text}
    if user is not None:
        payload["user"] = user
    status, body, _ = request("POST", f"{bot.url}/api/commands", json.dumps(payload).encode(),
                              {"Content-Type": "application/json"})
    return status, _json(body)


def post_multipart(bot: BotProcess, text: str, primer: tuple[str, bytes] | list[tuple[str, bytes]] | None = None,
                   user: str | None = None) -> tuple[int, Any]:
    """POST /api/commands as multipart: field `text` (and `user`), file field(s) `primer` = (filename, bytes)."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    fields = {"text": text, **({"user": user} if user is not None else {})}
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for filename, data in [primer] if isinstance(primer, tuple) else primer or []:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="primer"; filename="{filename}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    status, body, _ = request("POST", f"{bot.url}/api/commands", b"".join(parts),
                              {"Content-Type": f"multipart/form-data; boundary={boundary}"}, timeout=60.0)
    return status, _json(body)


def wait_for_job(bot: BotProcess, job_id: str, timeout: float = 90.0, interval: float = 0.25) -> dict[str, Any]:
    """Poll GET /api/jobs/{id} until the job is done or failed; returns its last JSON view.

    Raises:
        TimeoutError: still unfinished after `timeout` seconds (the message has the last view).
    """
    deadline = time.monotonic() + timeout
    view: Any = None
    while time.monotonic() < deadline:
        status, view = get_json(f"{bot.url}/api/jobs/{job_id}")
        if status == 200 and view["status"] in ("done", "failed"):
            return dict(view)
        if bot.failed_worker_starts() >= 2:  # not a hiccup: no job will ever run
            raise TimeoutError(f"job {job_id} can never run, the model worker fails to start: {view}")
        time.sleep(interval)
    raise TimeoutError(f"job {job_id} unfinished after {timeout:.0f} s: {view}")


def midi_bytes(notes: list[tuple[int, int, int]], qpm: float = 120.0, drums: bool = False, program: int = 0,
               velocity: int = 90) -> bytes:
    """A one-part MIDI file of (pitch, start step, end step) notes on 16th steps."""
    import io

    import pretty_midi

    step_s = 60 / qpm / 4
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    part = pretty_midi.Instrument(program, is_drum=drums)
    part.notes = [pretty_midi.Note(velocity, p, s * step_s, e * step_s) for p, s, e in notes]
    midi.instruments.append(part)
    buf = io.BytesIO()
    midi.write(buf)
    return buf.getvalue()


def run_to_end(bot: BotProcess, text: str, files: tuple[str, bytes] | list[tuple[str, bytes]] | None = None,
               user: str = "tester", timeout: float = 180.0) -> dict[str, Any]:
    """Submit a command (with files, multipart) and wait until it is done: the job's final view. A job that does
    not finish fails the test with the bot's log."""
    import pytest

    status, body = post_multipart(bot, text, files, user=user) if files else post_command(bot, text, user=user)
    assert status == 202, body
    try:
        final = wait_for_job(bot, body["job_id"], timeout=timeout)
    except TimeoutError as e:
        pytest.fail(f"{e}\nbot log tail:\n{bot.log_tail()}")
    assert final["status"] == "done", final
    return final


def output_midis(final: Mapping[str, Any]) -> list[bytes]:
    """Each output's MIDI bytes of a finished job, after checking that its audio and piano roll are served."""
    midis = []
    for out in final["outputs"]:
        for key, magic in (("audio_url", b"OggS"), ("pianoroll_url", b"\x89PNG")):
            code, data = get_bytes(out[key])
            assert code == 200 and data.startswith(magic), key
        code, data = get_bytes(out["midi_url"])
        assert code == 200
        midis.append(data)
    return midis


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return {"raw": body.decode("utf-8", "replace")}


# --- async HTTP (aiohttp), for many users at once --------------------------------------------------------
async def apost_command(session: aiohttp.ClientSession, bot: BotProcess, text: str,
                        user: str | None = None) -> tuple[int, Any]:
    """POST /api/commands from an aiohttp session; returns (status, JSON body)."""
    payload: dict[str, str] = {"text": text, **({"user": user} if user is not None else {})}
    async with session.post(f"{bot.url}/api/commands", json=payload) as res:
        return res.status, await res.json(content_type=None)


async def await_job(session: aiohttp.ClientSession, bot: BotProcess, job_id: str, timeout: float = 180.0,
                    interval: float = 0.1) -> dict[str, Any]:
    """Poll the job until done or failed (async twin of `wait_for_job`)."""
    async with asyncio.timeout(timeout):
        while True:
            async with session.get(f"{bot.url}/api/jobs/{job_id}") as res:
                view = await res.json(content_type=None)
            if res.status == 200 and view["status"] in ("done", "failed"):
                return dict(view)
            await asyncio.sleep(interval)


# --- /proc ------------------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (field 4 of /proc/<pid>/stat, read after the command name)."""
    out: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""
