"""The broker queue, bot side: jobs go to model workers on any host through arq over Redis
(`TUNESMITH_QUEUE=redis://HOST:6379/0`; the workers run `tunesmith-worker --broker` the same address).

Waiting jobs stay here, in fair turns by owner (generation/jobs/fair.py); a dispatcher hands the broker a job
only when no job handed earlier is still untaken, so whatever a worker takes next is the next fair turn and a
burst from one user delays another user's job by about one job per worker. Each handed job is followed until
its result is in the broker: the worker's events stream says when it starts, how far it is and when it
finished; a poll every second catches anything the stream missed. The result's files are checked, then written
into the job's folder here. A job the broker no longer knows (a broker restarted without its data) is handed
again: the bot's records are the truth, the broker is the transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis, create_pool
from arq.constants import result_key_prefix
from arq.jobs import Job, JobResult, JobStatus
from redis.exceptions import RedisError

from generation.jobs.base import EventHandler, JobEvent
from generation.jobs.broker import (
    GENERATE,
    Broker,
    BrokerError,
    dumps,
    loads,
    progress_event,
    read_event,
    unpack_result,
    write_files,
)
from generation.jobs.fair import FairTurns
from generation.request import GenerationRequest

log = logging.getLogger(__name__)
WORKER_GONE_S = 15.0  # a worker that has not said it is alive for this long is not counted


class ArqQueue:
    """JobQueue over arq + Redis.

    Args:
        address: the broker, `redis://[:password@]host[:port][/db][?queue=name]`.
        handoff: jobs handed to the broker that no worker has taken yet, at most (1 keeps the turns fair).
        poll_s: how often each followed job is looked up in the broker when no event says it finished.
    """

    def __init__(self, address: str, *, handoff: int = 1, poll_s: float = 1.0) -> None:
        self.broker = Broker.parse(address)
        self._handoff = handoff
        self._poll_s = poll_s
        self._turns = FairTurns()
        self._handed: dict[str, None] = {}  # in the broker, not yet taken by a worker (in order)
        self._following: dict[str, asyncio.Event] = {}  # job -> set when its worker says it finished
        self._started: set[str] = set()
        self._wake = asyncio.Event()
        self._emit_lock = asyncio.Lock()  # one event at a time, so a job's events arrive in order
        self._tasks: set[asyncio.Task[None]] = set()
        self._redis: ArqRedis | None = None
        self._on_event: EventHandler | None = None
        self.ready = asyncio.Event()  # set while at least one worker is alive
        self._down_since: float | None = None  # when the broker stopped answering (None: it answers)

    async def start(self, on_event: EventHandler) -> None:
        self._on_event = on_event
        settings = self.broker.settings
        settings.conn_retries = 2
        try:
            self._redis = await create_pool(settings, job_serializer=dumps, job_deserializer=loads,
                                            default_queue_name=self.broker.queue)
            newest = await self._redis.xrevrange(self.broker.events, count=1)
        except (RedisError, OSError) as e:
            why = str(e).rstrip(".")
            raise BrokerError(f"cannot reach the job broker at {self.broker.redacted()}: {why}") from None
        last_event = newest[0][0] if newest else b"0-0"
        for job in (self._dispatch(), self._read_events(last_event), self._watch_workers()):
            self._spawn(job)

    async def stop(self) -> None:
        """Stop following; jobs in the broker stay there (their results wait for the next start)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._redis is not None:
            await self._redis.aclose()

    async def submit(self, job_id: str, request: GenerationRequest, out_dir: Path, owner: str = "") -> None:
        if job_id in self._following or job_id in self._turns:
            return  # already ours: a second submit must not run it twice
        self._turns.add(job_id, request, out_dir, owner)
        self._wake.set()

    def position(self, job_id: str) -> int | None:
        if job_id in self._handed:
            return list(self._handed).index(job_id) + 1
        place = self._turns.position(job_id)
        return None if place is None else len(self._handed) + place

    @property
    def waiting(self) -> int:
        return len(self._handed) + len(self._turns)

    # --- internals --------------------------------------------------------------------------------------
    def _spawn(self, job: Any) -> None:
        task = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _taken(self, job_id: str) -> None:
        """A worker has the job: the dispatcher may hand the broker the next one."""
        if job_id in self._handed:
            del self._handed[job_id]
            self._wake.set()

    async def _emit(self, event: JobEvent, *, final: bool = False) -> None:
        assert self._on_event is not None
        async with self._emit_lock:
            if event.job_id not in self._following:
                return  # finished already: a late or repeated event changes nothing
            if final:
                del self._following[event.job_id]
                self._started.discard(event.job_id)
            try:
                await self._on_event(event)
            except Exception:  # the queue must keep serving whatever one event's handler did
                log.exception("job %s: handling its %s event failed", event.job_id, event.kind)

    async def _dispatch(self) -> None:
        while True:
            while not self._turns or len(self._handed) >= self._handoff:
                self._wake.clear()
                await self._wake.wait()
            job = self._turns.pop()
            self._handed[job.job_id] = None
            self._following[job.job_id] = asyncio.Event()
            await self._enqueue(job.job_id, job.request.to_json())
            self._spawn(self._follow(job.job_id, job.request.to_json(), job.out_dir))

    async def _enqueue(self, job_id: str, request_json: str) -> None:
        """Hand a job to the broker; a job id it has (queued, running or finished) is left as it is."""
        assert self._redis is not None
        while True:
            try:
                await self._redis.enqueue_job(GENERATE, job_id, request_json, _job_id=job_id)
                return
            except (RedisError, OSError) as e:
                self._unreachable(e)
                await asyncio.sleep(1.0)

    async def _follow(self, job_id: str, request_json: str, out_dir: Path) -> None:
        assert self._redis is not None
        job = Job(job_id, self._redis, _queue_name=self.broker.queue, _deserializer=loads)
        finished = self._following[job_id]
        while True:
            try:
                info = await job.result_info()
                if info is not None:
                    break
                status = await job.status()
            except (RedisError, OSError) as e:
                self._unreachable(e)
                await asyncio.sleep(self._poll_s)
                continue
            if status == JobStatus.in_progress and job_id not in self._started:
                await self._mark_started(job_id)  # its "started" event was missed (e.g. sent before we started)
            elif status == JobStatus.not_found:
                log.warning("job %s: the broker no longer has it (restarted without its data?); handing it again",
                            job_id)
                await self._enqueue(job_id, request_json)
            finished.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await finished.wait()
        self._taken(job_id)
        await self._emit(await self._outcome(job_id, out_dir, info), final=True)
        with contextlib.suppress(RedisError, OSError):  # recorded here now: Redis need not hold the files for a day
            await self._redis.delete(result_key_prefix + job_id)

    async def _outcome(self, job_id: str, out_dir: Path, info: JobResult) -> JobEvent:
        """The job's done or error event, its files written first."""
        payload = info.result
        if not info.success:
            return JobEvent(job_id, "error", message=_failure_text(payload, info.job_try))
        if isinstance(payload, dict) and isinstance(payload.get("error"), str):
            return JobEvent(job_id, "error", message=payload["error"][:2000])
        try:
            result, files = unpack_result(payload)
            await asyncio.to_thread(write_files, out_dir, files)
        except BrokerError as e:
            log.error("job %s: a worker sent back an unusable result: %s", job_id, e)
            return JobEvent(job_id, "error", message="the model worker sent back a result the bot cannot use; "
                            "this is logged for the bot's operator")
        except OSError as e:
            log.error("job %s: cannot write its files into %s: %s", job_id, out_dir, e)
            return JobEvent(job_id, "error", message="the bot could not store this job's files; this is logged "
                            "for the bot's operator")
        return JobEvent(job_id, "done", result=result)

    async def _mark_started(self, job_id: str) -> None:
        self._taken(job_id)
        self._started.add(job_id)
        await self._emit(JobEvent(job_id, "started"))

    async def _read_events(self, last: bytes) -> None:
        assert self._redis is not None
        while True:
            try:
                batches = await self._redis.xread({self.broker.events: last}, count=100, block=1000)
            except (RedisError, OSError) as e:
                self._unreachable(e)
                await asyncio.sleep(1.0)
                continue
            if self._down_since is not None:
                log.warning("the broker answers again after %.0f s", time.monotonic() - self._down_since)
                self._down_since = None
            for _stream, entries in batches or []:
                for entry_id, fields in entries:
                    last = entry_id
                    event = read_event(fields)
                    if event is None or event["job_id"] not in self._following:
                        continue
                    job_id, kind = event["job_id"], event.get("kind")
                    if kind == "started":
                        await self._mark_started(job_id)  # again on a second try: the user sees it restart
                    elif kind == "progress":
                        await self._emit(progress_event(job_id, event))
                    elif kind == "finished":
                        self._following[job_id].set()

    def _unreachable(self, e: Exception) -> None:
        """Said once per outage (every followed job retries each second meanwhile)."""
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("the broker %s is unreachable (%s); jobs wait, nothing is lost, retrying each second",
                        self.broker.redacted(), e)

    async def _watch_workers(self) -> None:
        assert self._redis is not None
        announced = -1
        while True:
            try:
                alive = await self._redis.zcount(self.broker.workers, time.time() - WORKER_GONE_S, "+inf")
            except (RedisError, OSError):
                alive = 0
            if alive:
                self.ready.set()
            else:
                self.ready.clear()
            if alive != announced:
                log.info("%d model worker(s) connected to %s", alive, self.broker.redacted())
                announced = alive
            await asyncio.sleep(2.0)


def _failure_text(payload: Any, job_try: int) -> str:
    """What the user reads when arq itself failed the job."""
    message = payload.get("message", "") if isinstance(payload, dict) else str(payload)
    kind = payload.get("__exception__", "") if isinstance(payload, dict) else ""
    if re.search(r"max \d+ retries exceeded", message):
        lost = max(job_try - 1, 1)  # the refused try is not counted
        return (f"the model worker running this was lost {lost} time{'s' if lost > 1 else ''} (it crashed, was "
                "stopped, or its machine went away), so it was not tried again. This is logged for the bot's "
                "operator; try a smaller request, or again later")
    if kind in ("TimeoutError", "CancelledError"):
        return "this took too long on the model worker and was stopped; try fewer outputs or bars"
    if "expired" in message:
        return "no model worker took this within a day, so it was dropped; try again"
    log.error("job failed in the broker on try %d: %s %s", job_try, kind, message)
    return "the model worker failed on this; this is logged for the bot's operator"
