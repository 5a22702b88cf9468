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
        before = len(started)
        submitted = time.monotonic()
        await queue.submit("b1", parsed.request, tmp_path / "b1", owner="bob")
        # a2 is in the broker already, a3 takes the same turn as bob's job (it came first), then bob
        assert queue.position("b1") == 3
        assert queue.waiting == BURST
        await wait_for(lambda: "b1" in started, 90, "bob's job to start")
        waited = time.monotonic() - submitted
        ahead = started[before:started.index("b1")]
    finally:
        await queue.stop()
        worker.kill()
    assert ahead == ["a2", "a3"], started
    assert started[:before] == ["a1"]  # bob waited for 3 of alice's 12 jobs: a1 (running), a2 and a3
    print(f"bob's job started {waited:.1f} s after it was sent, behind {len(ahead)} of alice's {BURST} jobs")
