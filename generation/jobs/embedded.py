"""The embedded queue: asyncio in the bot's process, model work in `python -m generation.worker` children.

Each child loads the models once and stays warm; jobs and events cross as JSON lines on its stdin/stdout
(no pickles). A child that dies or overruns the job timeout fails that job with a message and is replaced.
Waiting jobs are served in fair turns by owner (generation/jobs/fair.py): a user's second waiting job runs
after every other user's first, so one client cannot starve the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from generation.jobs.base import EventHandler, JobEvent
from generation.jobs.fair import FairTurns
from generation.request import GenerationRequest

log = logging.getLogger(__name__)
# Measured on the 2-core dev machine: one worker loads the five chat defaults in 7.5-8.3 s, two at once in
# 9.6 s. Used until this bot has measured its own warm-up (see `warmup_record`).
DEFAULT_WARMUP_S = 10.0
SCRATCH = ".scratch"  # the renderer's temp folder inside a job's out_dir; removed here if the worker dies


class EmbeddedQueue:
    """Asyncio queue + `workers` warm worker processes.

    Args:
        workers: number of worker processes.
        warm_configs: models each worker loads before taking jobs (empty: the chat commands' defaults).
        job_timeout_s: a job running longer is killed (with its worker) and reported.
        worker_cmd: the command starting one worker (tests may point it elsewhere).
        warmup_record: a JSON file remembering how long the last warm-up took (the next start's estimate).
    """

    def __init__(self, workers: int = 1, warm_configs: tuple[str, ...] = (),
                 job_timeout_s: float = 120.0, worker_cmd: list[str] | None = None,
                 warmup_record: Path | None = None) -> None:
        self._n = workers
        self._warm = warm_configs
        self._timeout = job_timeout_s
        self._cmd = worker_cmd or [sys.executable, "-m", "generation.worker"]
        self._pending = FairTurns()
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._procs: set[asyncio.subprocess.Process] = set()
        self._on_event: EventHandler | None = None
        self._stopping = False
        self.ready = asyncio.Event()  # set when the first worker has warmed up
        self._warmup_record = warmup_record
        self._warmup_expected = DEFAULT_WARMUP_S
        self._warmup_started: float | None = None  # monotonic time the first worker spawn began
        self._warmup_took: float | None = None  # seconds until the first worker was ready

    async def start(self, on_event: EventHandler) -> None:
        self._on_event = on_event
        await asyncio.to_thread(_clear_stale_temp_dirs)
        if self._warmup_record is not None:
            remembered = await asyncio.to_thread(_read_warmup, self._warmup_record)
            self._warmup_expected = remembered or self._warmup_expected
        for i in range(self._n):
            task = asyncio.create_task(self._run_slot(i), name=f"worker-slot-{i}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()
        for proc in list(self._procs):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for proc in list(self._procs):  # reap, so no transport outlives the loop
            await proc.wait()
        self._procs.clear()
        await asyncio.to_thread(shutil.rmtree, _temp_base(os.getpid()), True)

    async def submit(self, job_id: str, request: GenerationRequest, out_dir: Path, owner: str = "") -> None:
        self._pending.add(job_id, request, out_dir, owner)
        self._wakeup.set()

    def position(self, job_id: str) -> int | None:
        return self._pending.position(job_id)

    @property
    def waiting(self) -> int:
        return len(self._pending)

    @property
    def warmup_elapsed_s(self) -> float:
        """Seconds the first warm-up has taken so far (its final length once ready; 0 before it starts)."""
        if self._warmup_took is not None:
            return self._warmup_took
        return 0.0 if self._warmup_started is None else time.monotonic() - self._warmup_started

    @property
    def warmup_expected_s(self) -> float:
        """How long the warm-up should take: the last one measured here, else DEFAULT_WARMUP_S."""
        return self._warmup_expected

    # --- one worker slot: keeps a live worker process and feeds it jobs --------------------------------
    async def _run_slot(self, slot: int) -> None:
        proc: asyncio.subprocess.Process | None = None
        try:
            while not self._stopping:
                if proc is None or proc.returncode is not None:
                    proc = await self._spawn(slot)
                    if proc is None:
                        await asyncio.sleep(2.0)  # a worker that cannot start: retry, do not spin
                        continue
                job = await self._next_job()
                if job is None:
                    break
                if not await self._run_job(proc, *job):
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
                    self._procs.discard(proc)
                    proc = None
        finally:
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()

    async def _next_job(self) -> tuple[str, GenerationRequest, Path] | None:
        while not self._pending:
            if self._stopping:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        first = self._pending.pop()
        return first.job_id, first.request, first.out_dir

    async def _spawn(self, slot: int) -> asyncio.subprocess.Process | None:
        if self._warmup_started is None:
            self._warmup_started = time.monotonic()
        # Each worker gets its own temp folder, emptied whenever a worker starts in that slot: what a killed
        # worker left there (TensorFlow's autograph files, a library's temp files) does not pile up.
        tmp = _temp_base(os.getpid()) / f"slot-{slot}"
        await asyncio.to_thread(shutil.rmtree, tmp, True)
        tmp.mkdir(parents=True)
        proc = await asyncio.create_subprocess_exec(
            *self._cmd, *self._warm, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=2**20, env={**os.environ, "TMPDIR": str(tmp)},
        )
        self._procs.add(proc)
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if _parse(line).get("event") != "ready":
            log.error("worker %d did not start (exit %s)", slot, await proc.wait())
            self._procs.discard(proc)
            return None
        log.info("worker %d ready (pid %d)", slot, proc.pid)
        if not self.ready.is_set():
            took = self._warmup_took = self.warmup_elapsed_s
            self.ready.set()
            log.info("models warmed up in %.1f s (expected about %.0f s)", took, self._warmup_expected)
            if self._warmup_record is not None:
                await asyncio.to_thread(_write_warmup, self._warmup_record, took)
        return proc

    async def _run_job(self, proc: asyncio.subprocess.Process, job_id: str, request: GenerationRequest,
                       out_dir: Path) -> bool:
        """Run one job on `proc`; False if the worker must be replaced."""
        assert proc.stdin is not None and proc.stdout is not None and self._on_event is not None
        await self._on_event(JobEvent(job_id, "started"))
        payload = {"job_id": job_id, "request": json.loads(request.to_json()), "out_dir": str(out_dir)}
        try:
            proc.stdin.write((json.dumps(payload) + "\n").encode())
            await proc.stdin.drain()
            async with asyncio.timeout(self._timeout):
                while True:
                    line = await proc.stdout.readline()
                    if not line:
                        code = await proc.wait()
                        await self._crashed(proc, job_id, request, out_dir, _exit_text(code))
                        return False
                    msg = _parse(line)
                    event = msg.get("event")
                    if event == "progress":
                        await self._on_event(JobEvent(job_id, "progress", stage=msg.get("stage", ""),
                                                      done=msg.get("done", 0), total=msg.get("total", 0)))
                    elif event == "done":
                        await self._on_event(JobEvent(job_id, "done", result=msg.get("result", {})))
                        return True
                    elif event == "error":
                        await self._on_event(JobEvent(job_id, "error", message=msg.get("message", "failed")))
                        return True
        except TimeoutError:
            log.error("job %s overran %.0f s on worker pid %d; killing it. Request: %s", job_id, self._timeout,
                      proc.pid, request.to_json())
            await asyncio.to_thread(shutil.rmtree, out_dir / SCRATCH, True)
            await self._on_event(JobEvent(job_id, "error", message=f"this took longer than {self._timeout:.0f} s "
                                          "and was stopped; try fewer outputs or bars"))
            return False
        except (BrokenPipeError, ConnectionResetError):
            await self._crashed(proc, job_id, request, out_dir, "its pipe closed")
            return False

    async def _crashed(self, proc: asyncio.subprocess.Process, job_id: str, request: GenerationRequest,
                       out_dir: Path, how: str) -> None:
        """Tell the operator what crashed on what; tell the user plainly, without inviting a retry that would
        crash again; clear the job's scratch files."""
        assert self._on_event is not None
        log.error("model worker pid %d died (%s) on job %s; a new worker is starting. Request: %s",
                  proc.pid, how, job_id, request.to_json())
        await asyncio.to_thread(shutil.rmtree, out_dir / SCRATCH, True)
        await self._on_event(JobEvent(job_id, "error", message=f"the model worker crashed while making this "
                                      f"({how}). This is a bug on our side, logged for the bot's operator; "
                                      "the same command would likely crash again, so change it (fewer bars, "
                                      "seconds or outputs) or report it"))


def _temp_base(pid: int) -> Path:
    return Path(tempfile.gettempdir()) / f"tunesmith-workers-{pid}"


def _clear_stale_temp_dirs() -> None:
    """Remove the worker temp folders of bots that are no longer running (e.g. killed with -9)."""
    for folder in Path(tempfile.gettempdir()).glob("tunesmith-workers-*"):
        pid = folder.name.rsplit("-", 1)[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {-code}, {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _read_warmup(path: Path) -> float | None:
    """The warm-up seconds remembered in `path`; None when absent or unreadable."""
    try:
        seconds = json.loads(path.read_text())["seconds"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(seconds) if isinstance(seconds, int | float) and 0 < seconds < 3600 else None


def _write_warmup(path: Path, seconds: float) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"seconds": round(seconds, 1)}) + "\n")
    except OSError as e:  # only the next start's estimate is lost
        log.warning("could not remember the warm-up time in %s: %s", path, e)


def _parse(line: bytes) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
