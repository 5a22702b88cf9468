"""A model worker on any host: takes generation jobs from the broker (arq over Redis), runs each in a warm model
process, and sends progress and the finished files back through the broker. `tunesmith-worker --broker URL`.

The model process is the embedded queue's child (`python -m generation.worker`), with the same warm-up, crash
and timeout handling; files are written to this host's own temp folder and shipped back as the job's result.
No chat tokens and no disk are shared with the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.worker import Worker, func
from redis.exceptions import RedisError

from generation.jobs.base import JobEvent
from generation.jobs.broker import GENERATE, RESULT_KEEP_S, Broker, BrokerError, dumps, event_fields, loads, pack_files
from generation.jobs.embedded import EmbeddedQueue
from generation.request import GenerationRequest

log = logging.getLogger("tunesmith.worker")
ALIVE_EVERY_S = 5.0  # how often a worker tells the bot it is alive (the bot counts it gone after 15 s)
EVENTS_KEPT = 10_000  # the events stream is trimmed to about this many entries
CHAT_SECRETS = ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


class ModelWorker:
    """One warm model process and the job running on it; talks to the broker for events, lease and liveness."""

    def __init__(self, broker: Broker, warm: tuple[str, ...], job_timeout_s: float, lease_s: float) -> None:
        self.broker = broker
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.lease_s = lease_s
        self._models = EmbeddedQueue(workers=1, warm_configs=warm, job_timeout_s=job_timeout_s)
        self._ends: dict[str, asyncio.Future[JobEvent]] = {}
        self._redis: ArqRedis | None = None
        self._alive: asyncio.Task[None] | None = None

    async def start(self, ctx: dict[str, Any]) -> None:
        """arq's on_startup: load the models before taking any job, then say we are alive."""
        self._redis = ctx["redis"]
        await self._models.start(self._on_model_event)
        log.info("worker %s: loading models", self.name)
        await self._models.ready.wait()
        log.info("worker %s: models ready; taking jobs from %s (queue %s)", self.name, self.broker.redacted(),
                 self.broker.queue)
        self._alive = asyncio.create_task(self._say_alive())

    async def stop(self, ctx: dict[str, Any]) -> None:
        if self._alive is not None:
            self._alive.cancel()
            await asyncio.gather(self._alive, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await ctx["redis"].zrem(self.broker.workers, self.name)
        await self._models.stop()

    async def generate(self, ctx: dict[str, Any], job_id: str, request_json: str) -> dict[str, Any]:
        """The job: {"result", "files"} on success, {"error": user text} when the job itself failed."""
        await self._renew_lease(job_id)  # before anything else: arq's own lease lasts the whole job timeout
        lease = asyncio.create_task(self._hold_lease(job_id))
        await self.emit(job_id, "started", attempt=ctx.get("job_try", 1), worker=self.name)
        out_dir = Path(tempfile.mkdtemp(prefix="tunesmith-job-"))
        try:
            try:
                request = GenerationRequest.from_json(request_json)
            except (ValueError, TypeError, KeyError) as e:
                return {"error": f"the model worker could not read this job ({e})"}
            end = self._ends[job_id] = asyncio.get_running_loop().create_future()
            await self._models.submit(job_id, request, out_dir)
            event = await end
            if event.kind == "error":
                return {"error": event.message}
            return {"result": event.result, "files": await asyncio.to_thread(pack_files, out_dir, event.result)}
        finally:
            self._ends.pop(job_id, None)
            lease.cancel()
            await asyncio.gather(lease, return_exceptions=True)
            await asyncio.to_thread(shutil.rmtree, out_dir, True)

    async def finished(self, ctx: dict[str, Any]) -> None:
        """arq's after_job_end (the result is stored): tell the bot to look now rather than at its next poll."""
        await self.emit(ctx["job_id"], "finished", worker=self.name)

    async def emit(self, job_id: str, kind: str, **data: Any) -> None:
        assert self._redis is not None
        try:
            await self._redis.xadd(self.broker.events, event_fields(job_id, kind, **data),  # type: ignore[arg-type]
                                   maxlen=EVENTS_KEPT, approximate=True)
        except (RedisError, OSError) as e:  # progress is a courtesy; the result is what counts
            log.warning("job %s: could not send its %s event: %s", job_id, kind, e)

    async def _on_model_event(self, event: JobEvent) -> None:
        if event.kind == "progress":
            await self.emit(event.job_id, "progress", stage=event.stage, done=event.done, total=event.total)
        elif event.kind in ("done", "error") and event.job_id in self._ends:
            self._ends[event.job_id].set_result(event)

    async def _hold_lease(self, job_id: str) -> None:
        """Keep the job ours while this process lives: a short in-progress lease, renewed. If this host dies,
        the lease lapses within `lease_s` and another worker takes the job (arq counts the try)."""
        while True:
            await asyncio.sleep(self.lease_s / 4)
            await self._renew_lease(job_id)

    async def _renew_lease(self, job_id: str) -> None:
        assert self._redis is not None
        try:
            await self._redis.pexpire(in_progress_key_prefix + job_id, int(self.lease_s * 1000))
        except (RedisError, OSError) as e:
            log.warning("job %s: could not renew its lease: %s", job_id, e)

    async def _say_alive(self) -> None:
        assert self._redis is not None
        while True:
            try:
                now = time.time()
                await self._redis.zadd(self.broker.workers, {self.name: now})
                await self._redis.zremrangebyscore(self.broker.workers, 0, now - 3600)  # long-gone workers
            except (RedisError, OSError) as e:
                log.warning("could not reach the broker: %s", e)
            await asyncio.sleep(ALIVE_EVERY_S)


class SteadyWorker(Worker):
    """arq's worker, riding out a broker outage (a Redis restart, a network cut) instead of exiting: arq's loop
    stops at the first connection error, and a result it cannot store is lost. Here the loop waits for the broker,
    a slot arq counted for a job it could not start is given back, and a finished job's result is stored once the
    broker answers again. (Written against arq 0.26-0.28's Worker.)"""

    _down_since: float | None = None

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except (RedisError, OSError) as e:
            self._broker_down(e)
            await asyncio.sleep(1.0)
            return
        self._broker_up()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        try:
            await super().start_jobs(job_ids)
        except (RedisError, OSError):
            # arq took a slot for the job it was starting (each other path gives it back or hands it to the job)
            self.job_counter -= 1
            self.sem.release()
            raise

    async def finish_job(self, *args: Any, **kwargs: Any) -> None:
        await self._until_stored(super().finish_job, *args, **kwargs)

    async def finish_failed_job(self, *args: Any, **kwargs: Any) -> None:
        await self._until_stored(super().finish_failed_job, *args, **kwargs)

    async def _until_stored(self, store: Any, *args: Any, **kwargs: Any) -> None:
        """One transaction (result, queue, keys), tried until the broker takes it: the job's result is what
        counts. If the outage outlasts the job's lease, another worker may run it again; the bot posts once."""
        while True:
            try:
                await store(*args, **kwargs)
                self._broker_up()
                return
            except (RedisError, OSError) as e:
                self._broker_down(e)
                await asyncio.sleep(1.0)

    def _broker_down(self, e: Exception) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("the broker is unreachable (%s); waiting for it (running jobs go on)", e)

    def _broker_up(self) -> None:
        if self._down_since is not None:
            log.warning("the broker answers again after %.0f s", time.monotonic() - self._down_since)
            self._down_since = None


def make_worker(broker: Broker, *, warm: tuple[str, ...] = (), job_timeout_s: float = 120.0,
                max_tries: int = 3, lease_s: float = 20.0, drain_s: int = 60) -> Worker:
    """An arq worker that takes one job at a time; a job is tried at most `max_tries` times in all.

    On SIGTERM or SIGINT it takes no more jobs and lets the running one finish for up to `drain_s` seconds; a job
    still running then is cancelled and arq puts it back in the queue for another worker (one of its tries)."""
    model = ModelWorker(broker, warm, job_timeout_s, lease_s)
    return SteadyWorker(
        functions=[func(model.generate, name=GENERATE, max_tries=max_tries, timeout=job_timeout_s + 30)],
        redis_settings=broker.settings, queue_name=broker.queue, max_jobs=1, poll_delay=0.2,
        keep_result=RESULT_KEEP_S, job_serializer=dumps, job_deserializer=loads,
        on_startup=model.start, on_shutdown=model.stop, after_job_end=model.finished,
        health_check_interval=60, log_results=False, job_completion_wait=drain_s,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="tunesmith-worker", description="Run a Tunesmith model worker that takes jobs from the bot's broker.")
    parser.add_argument("--broker", default=os.environ.get("TUNESMITH_QUEUE", ""),
                        help="the bot's TUNESMITH_QUEUE, e.g. redis://:PASSWORD@10.0.0.5:6379/0")
    parser.add_argument("--models", nargs="*", default=[],
                        help="configs to load before taking jobs (default: the chat commands' defaults)")
    parser.add_argument("--job-timeout", type=float, default=120.0, help="seconds a job may run (default 120)")
    parser.add_argument("--max-tries", type=int, default=3,
                        help="a job whose worker is lost is tried again up to this many times in all (default 3)")
    parser.add_argument("--lease", type=float, default=20.0,
                        help="seconds after this worker is lost before another takes its job (default 20)")
    parser.add_argument("--drain", type=int, default=60,
                        help="on SIGTERM, seconds the running job may take to finish before it is handed back to "
                             "the queue for another worker (default 60; 0 hands it back at once)")
    args = parser.parse_args(argv)
    if not args.broker:
        parser.error("give --broker redis://HOST:6379/0 (the bot's TUNESMITH_QUEUE)")
    if not (args.max_tries >= 1 and args.lease >= 2 and args.job_timeout > 0 and args.drain >= 0):
        parser.error("--max-tries must be at least 1, --lease at least 2 s, --job-timeout positive, --drain 0 or more")
    try:
        broker = Broker.parse(args.broker)
    except BrokerError as e:
        parser.error(str(e))
    for name in CHAT_SECRETS:  # started beside a bot with its env file: the models still never see the tokens
        os.environ.pop(name, None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    make_worker(broker, warm=tuple(args.models), job_timeout_s=args.job_timeout, max_tries=args.max_tries,
                lease_s=args.lease, drain_s=args.drain).run()


if __name__ == "__main__":
    main()
