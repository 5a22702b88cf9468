"""The embedded queue serves waiting jobs in fair turns by owner: one client's burst cannot starve the others."""

from __future__ import annotations

from pathlib import Path

from generation.families.improv.plugin import ImprovParams
from generation.jobs.embedded import EmbeddedQueue
from generation.request import GenerationRequest


async def _order(queue: EmbeddedQueue) -> list[str]:
    served = []
    while queue.waiting:
        job = await queue._next_job()  # what a worker slot takes next
        assert job is not None
        served.append(job[0])
    return served


async def test_a_burst_takes_turns_with_later_users() -> None:
    queue = EmbeddedQueue(workers=0)
    request = GenerationRequest("improv", "basic_improv", ImprovParams(("C",)))
    for job in ("a1", "a2", "a3", "a4", "b1", "c1", "b2"):
        await queue.submit(job, request, Path("/nonexistent"), owner=job[0])
    assert [queue.position(j) for j in ("a1", "b1", "c1", "a2", "b2")] == [1, 2, 3, 4, 5]
    first = await queue._next_job()
    assert first is not None and first[0] == "a1"
    await queue.submit("d1", request, Path("/nonexistent"), owner="d")  # arrives after a1 started
    assert await _order(queue) == ["b1", "c1", "a2", "b2", "d1", "a3", "a4"]


async def test_one_owner_alone_keeps_arrival_order() -> None:
    queue = EmbeddedQueue(workers=0)
    request = GenerationRequest("improv", "basic_improv", ImprovParams(("C",)))
    for job in ("x1", "x2", "x3"):
        await queue.submit(job, request, Path("/nonexistent"), owner="x")
    assert await _order(queue) == ["x1", "x2", "x3"]
