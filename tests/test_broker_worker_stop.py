"""A worker stopped on purpose (SIGTERM: `systemctl stop`, `docker stop`, a deploy) hands back no job half done:
it takes no more jobs and finishes the running one (--drain seconds); a job outlasting that goes back to the queue,
and another worker runs it (arq's retry). Real Redis, real `tunesmith-worker` processes."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import redis
from broker_helpers import WorkerHost, broker_url, empty_db, stream_events, wait_for

from bot.commands import parse_command
from generation.jobs.arq_queue import ArqQueue
from generation.jobs.base import JobEvent

REDIS_DB = 10
URL = broker_url(REDIS_DB, "stop")
JOB_S = 180.0
__all__ = ["empty_db"]  # the fixture, used by name


class Jobs:
    def __init__(self, client: redis.Redis, folder: Path) -> None:
        self.client = client
        self.folder = folder
        self.queue = ArqQueue(URL, poll_s=0.5)
        self.events: list[JobEvent] = []
        self.hosts: list[WorkerHost] = []

    async def on_event(self, event: JobEvent) -> None:
        self.events.append(event)

    def host(self, name: str, drain: int) -> WorkerHost:
        host = WorkerHost(URL, self.folder / f"{name}.log", "--lease", "5", "--drain", str(drain))
        self.hosts.append(host)
        return host

    async def submit(self, job_id: str, extra: str, owner: str) -> None:
        parsed = parse_command(f"/melody C4 - E4 - G4 - - - config:basic_rnn {extra}", default_seed=9)
        assert parsed.request is not None
        await self.queue.submit(job_id, parsed.request, self.folder / job_id, owner=owner)

    def starts(self, job_id: str) -> list[tuple[int, str]]:
        return [(e["attempt"], e["worker"]) for e in stream_events(self.client, self.queue.broker)
                if e["job_id"] == job_id and e["kind"] == "started"]

    async def all_done(self, *job_ids: str) -> None:
        await wait_for(lambda: all(any(e.job_id == j and e.kind in ("done", "error") for e in self.events)
                                   for j in job_ids), JOB_S, f"jobs {job_ids} to finish")
        for job_id in job_ids:
            ends = [e for e in self.events if e.job_id == job_id and e.kind in ("done", "error")]
            assert [e.kind for e in ends] == ["done"], ends

    async def close(self) -> None:
        await self.queue.stop()
        for host in self.hosts:
            host.kill()


async def test_a_stopped_worker_finishes_its_job_and_takes_no_more(empty_db: redis.Redis, tmp_path: Path) -> None:
    jobs = Jobs(empty_db, tmp_path)
    try:
        first = jobs.host("first", drain=120)
        await first.ready(empty_db)
        await jobs.queue.start(jobs.on_event)
        await jobs.submit("x", "bars:16 outputs:2", "ann")
        await jobs.submit("y", "bars:4", "bob")
        await wait_for(lambda: jobs.starts("x"), JOB_S, "the first job to start")
        os.kill(first.proc.pid, signal.SIGTERM)  # the main process only, as systemd's KillMode=mixed and docker do
        second = jobs.host("second", drain=120)  # y waits in the queue for it: the stopping worker must not take y
        await jobs.all_done("x", "y")
        assert first.proc.wait(JOB_S) == 0
    finally:
        await jobs.close()
    assert jobs.starts("x") == [(1, first.name)]  # finished where it ran, not run again
    assert jobs.starts("y") == [(1, second.name)]


async def test_a_job_outlasting_the_drain_is_run_by_another_worker(empty_db: redis.Redis, tmp_path: Path) -> None:
    jobs = Jobs(empty_db, tmp_path)
    try:
        first = jobs.host("first", drain=1)
        await first.ready(empty_db)
        await jobs.queue.start(jobs.on_event)
        await jobs.submit("z", "bars:8", "cat")
        await wait_for(lambda: jobs.starts("z"), JOB_S, "the job to start")
        os.kill(first.model_pid(), signal.SIGSTOP)  # its model cannot finish within the drain
        os.kill(first.proc.pid, signal.SIGTERM)
        assert first.proc.wait(JOB_S) == 0
        second = jobs.host("second", drain=1)
        await jobs.all_done("z")
    finally:
        await jobs.close()
    assert jobs.starts("z") == [(1, first.name), (2, second.name)]
    assert any(e.job_id == "z" and e.kind == "done" for e in jobs.events)
