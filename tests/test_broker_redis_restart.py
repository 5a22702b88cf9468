"""The broker restarting mid-run loses nothing: a private redis-server (its own port and folder) is restarted
while a real `tunesmith-worker` runs a job and two more wait. The bot side (the broker queue) and the worker ride
out the outage; with the append-only file the broker comes back holding the jobs, the running job's lease and the
events, so every job finishes once; a broker that comes back empty (no persistence, killed) still loses no job,
because the bot hands it again what it no longer knows."""

from __future__ import annotations

from pathlib import Path

from broker_helpers import PrivateRedis, WorkerHost, stream_events, wait_for

from bot.commands import parse_command
from generation.jobs.arq_queue import ArqQueue
from generation.jobs.base import JobEvent
from generation.request import GenerationRequest

JOB_S = 180.0  # a loaded 2-core machine; includes the outage and the worker's reconnect
JOBS = {"long": ("bars:16 outputs:2", "alice"), "second": ("bars:4", "bob"), "third": ("bars:4", "carol")}


def request(extra: str) -> GenerationRequest:
    parsed = parse_command(f"/melody C4 - E4 - G4 - - - config:basic_rnn {extra}", default_seed=5)
    assert parsed.request is not None
    return parsed.request


class Run:
    """A broker queue and one worker against a private Redis, and what the queue reported."""

    def __init__(self, broker: PrivateRedis, folder: Path) -> None:
        self.broker = broker
        self.folder = folder
        self.url = broker.url(0, "outage")
        self.events: list[JobEvent] = []
        self.queue = ArqQueue(self.url, poll_s=0.5)
        # The lease outlasts the outage: the running job stays this worker's.
        self.worker = WorkerHost(self.url, folder / "worker.log", "--lease", "30")

    async def on_event(self, event: JobEvent) -> None:
        self.events.append(event)

    def kinds(self, job_id: str) -> list[str]:
        return [e.kind for e in self.events if e.job_id == job_id]

    async def start_jobs(self) -> None:
        client = self.broker.client(0)
        await self.worker.ready(client)
        client.close()
        await self.queue.start(self.on_event)
        for job_id, (extra, owner) in JOBS.items():
            await self.queue.submit(job_id, request(extra), self.folder / job_id, owner=owner)
        await wait_for(lambda: "started" in self.kinds("long"), JOB_S, "the first job to start")

    async def job_ends_while_the_broker_is_down(self) -> None:
        """The outage lasts until the running job's model work is done (arq's line for it in the worker's log), so
        the worker must store the result, and look for the next job, with no broker there."""
        await wait_for(lambda: "long:generate \u25cf" in self.worker.log.read_text(errors="replace"), JOB_S,
                       "the running job to end while the broker is down")

    async def finish(self) -> None:
        await wait_for(lambda: all(set(self.kinds(j)) & {"done", "error"} for j in JOBS), JOB_S,
                       "every job to finish after the broker restarted")
        assert self.worker.proc.poll() is None, f"the worker exited:\n{self.worker.log.read_text()[-3000:]}"
        for job_id in JOBS:
            ends = [e for e in self.events if e.job_id == job_id and e.kind in ("done", "error")]
            assert len(ends) == 1 and ends[0].kind == "done", ends
            for output in ends[0].result["outputs"]:
                assert (self.folder / job_id / output["midi"]).read_bytes()[:4] == b"MThd"
                assert (self.folder / job_id / output["audio"]).read_bytes()[:4] == b"OggS"

    def starts(self, job_id: str) -> int:
        client = self.broker.client(0)
        try:
            return sum(1 for e in stream_events(client, self.queue.broker)
                       if e["job_id"] == job_id and e["kind"] == "started")
        finally:
            client.close()

    async def close(self) -> None:
        await self.queue.stop()
        self.worker.kill()
        self.broker.stop(kill=True)


async def test_a_broker_restarted_mid_job_with_its_append_only_file_loses_nothing(tmp_path: Path) -> None:
    run = Run(PrivateRedis(tmp_path / "redis", appendonly=True), tmp_path)
    try:
        await run.start_jobs()
        run.broker.stop()  # an operator's restart: Redis writes the append-only file and exits
        await run.job_ends_while_the_broker_is_down()
        run.broker.start()  # same port and folder: the jobs, the lease and the events come back
        await run.finish()
        assert {job_id: run.starts(job_id) for job_id in JOBS} == {job_id: 1 for job_id in JOBS}  # none ran twice
    finally:
        await run.close()


async def test_a_broker_that_comes_back_empty_loses_no_job(tmp_path: Path) -> None:
    run = Run(PrivateRedis(tmp_path / "redis", appendonly=False), tmp_path)
    try:
        await run.start_jobs()
        run.broker.stop(kill=True)  # a crash of a broker that keeps nothing on disk
        await run.job_ends_while_the_broker_is_down()
        run.broker.start()
        await run.finish()  # the bot's queue hands the broker again every job it no longer knows
    finally:
        await run.close()
