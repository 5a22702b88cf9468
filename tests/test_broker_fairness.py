"""Fair turns through the real broker: one user's burst delays another user's single job by about one job per
worker, because the bot keeps the waiting jobs in per-user turns and hands the broker one untaken job at a time."""

from __future__ import annotations

import time
from pathlib import Path

import redis
from broker_helpers import WorkerHost, broker_url, empty_db, wait_for

from bot.commands import parse_command
from generation.jobs.arq_queue import ArqQueue
from generation.jobs.base import JobEvent

REDIS_DB = 13
URL = broker_url(REDIS_DB, "fairness")
BURST = 12
__all__ = ["empty_db"]  # the fixture, used by name


async def test_a_single_job_overtakes_another_users_burst(empty_db: redis.Redis, tmp_path: Path) -> None:
    parsed = parse_command("/melody C4 - E4 - G4 bars:2 config:basic_rnn", default_seed=3)
    assert parsed.request is not None
    started: list[str] = []

    async def on_event(event: JobEvent) -> None:
        if event.kind == "started":
            started.append(event.job_id)

    worker = WorkerHost(URL, tmp_path / "worker.log")
    queue = ArqQueue(URL, poll_s=0.5)
    try:
        await worker.ready(empty_db)
        await queue.start(on_event)
        for i in range(1, BURST + 1):
            await queue.submit(f"a{i}", parsed.request, tmp_path / f"a{i}", owner="alice")
        assert queue.waiting == BURST
        await wait_for(lambda: "a1" in started, 60, "alice's first job to start")
        # ...and for the dispatcher to hand the broker her next one (on a loaded machine the test may look between
        # the start event and the dispatcher's turn, when nothing is handed yet)
        await wait_for(lambda: any(queue.position(f"a{i}") == 1 for i in range(2, BURST + 1)), 60,
                       "alice's next job to be handed to the broker")
        before = len(started)  # a1, or more if her short jobs ran on meanwhile
        submitted = time.monotonic()
        await queue.submit("b1", parsed.request, tmp_path / "b1", owner="bob")
        # alice's next job is in the broker already, the one after takes the same turn as bob's (it came first)
        assert queue.position("b1") == 3
        assert queue.waiting == BURST - before + 1
        await wait_for(lambda: "b1" in started, 90, "bob's job to start")
        waited = time.monotonic() - submitted
        ahead = started[before:started.index("b1")]
    finally:
        await queue.stop()
        worker.kill()
    assert started[:before] == [f"a{i}" for i in range(1, before + 1)]
    assert ahead == [f"a{before + 1}", f"a{before + 2}"], started  # bob waited for 2 of alice's jobs, not 12 - before
    print(f"bob's job started {waited:.1f} s after it was sent, behind {len(ahead)} of alice's {BURST} jobs")
