"""Nothing is lost when a worker host dies: against the real broker, kill -9 a worker mid-job and the job is
taken by another worker and finishes; a job whose workers keep dying is reported failed after its tries."""

from __future__ import annotations

from pathlib import Path

import redis
from broker_helpers import WorkerHost, broker_url, empty_db, stream_events, wait_for

from bot.commands import parse_command
from generation.jobs.arq_queue import ArqQueue
from generation.jobs.base import JobEvent
from generation.request import GenerationRequest

REDIS_DB = 14
URL = broker_url(REDIS_DB, "redelivery")
WORKER_ARGS = ("--lease", "3", "--max-tries", "2")  # a lost worker's job is taken again 3 s later
__all__ = ["empty_db"]  # the fixture, used by name


def request() -> GenerationRequest:
    parsed = parse_command("/melody C4 - E4 - G4 - - - bars:16 outputs:2 config:basic_rnn", default_seed=7)
    assert parsed.request is not None
    return parsed.request


def starts(client: redis.Redis, queue: ArqQueue, job_id: str) -> list[tuple[int, str]]:
    """(try, worker) of every start of the job, as the workers reported them."""
    return [(e["attempt"], e["worker"]) for e in stream_events(client, queue.broker)
            if e["job_id"] == job_id and e["kind"] == "started"]


async def test_a_job_whose_worker_is_killed_mid_job_finishes_on_another(empty_db: redis.Redis,
                                                                        tmp_path: Path) -> None:
    events: list[JobEvent] = []

    async def on_event(event: JobEvent) -> None:
        events.append(event)

    queue = ArqQueue(URL, poll_s=0.5)
    first = WorkerHost(URL, tmp_path / "first.log", *WORKER_ARGS)
    hosts = [first]
    try:
        await first.ready(empty_db)
        await queue.start(on_event)
        await queue.submit("x", request(), tmp_path / "x", owner="u")
        await wait_for(lambda: starts(empty_db, queue, "x"), 60, "the job to start")
        first.kill()  # mid-job: the worker reports the start before it runs the model
        second = WorkerHost(URL, tmp_path / "second.log", *WORKER_ARGS)
        hosts.append(second)
        await wait_for(lambda: any(e.kind in ("done", "error") for e in events), 120, "the job to finish")
    finally:
        await queue.stop()
        for host in hosts:
            host.kill()
    assert starts(empty_db, queue, "x") == [(1, first.name), (2, second.name)]
    end = events[-1]
    assert end.kind == "done", end.message
    assert [e.kind for e in events].count("done") == 1
    for output in end.result["outputs"]:
        assert (tmp_path / "x" / output["midi"]).read_bytes()[:4] == b"MThd"
        assert (tmp_path / "x" / output["audio"]).read_bytes()[:4] == b"OggS"
        assert (tmp_path / "x" / output["pianoroll"]).read_bytes()[:4] == b"\x89PNG"


async def test_a_job_that_loses_its_worker_every_time_is_reported_failed(empty_db: redis.Redis,
                                                                         tmp_path: Path) -> None:
    events: list[JobEvent] = []

    async def on_event(event: JobEvent) -> None:
        events.append(event)

    queue = ArqQueue(URL, poll_s=0.5)
    hosts = [WorkerHost(URL, tmp_path / "w0.log", *WORKER_ARGS)]
    try:
        await hosts[0].ready(empty_db)
        await queue.start(on_event)
        await queue.submit("y", request(), tmp_path / "y", owner="u")
        for attempt in (1, 2):  # --max-tries 2: both tries lose their worker
            await wait_for(lambda n=attempt: len(starts(empty_db, queue, "y")) == n, 120, f"start {attempt}")
            hosts[-1].kill()
            hosts.append(WorkerHost(URL, tmp_path / f"w{attempt}.log", *WORKER_ARGS))
        await wait_for(lambda: any(e.kind in ("done", "error") for e in events), 120, "the job to be given up")
    finally:
        await queue.stop()
        for host in hosts:
            host.kill()
    assert len(starts(empty_db, queue, "y")) == 2  # the third worker refused it without running the model
    end = events[-1]
    assert end.kind == "error"
    assert "was lost 2 times" in end.message and "not tried again" in end.message
    assert not (tmp_path / "y").exists()
