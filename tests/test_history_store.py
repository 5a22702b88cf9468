"""The recipe tables on a real SQLite store: a starred result outlives the retention sweep, a remix remembers
its source, and a user's history lists their own jobs newest first."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.history import History, Origin
from bot.store import JobRecord, JobStore

DAY = 86_400.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    s = JobStore(tmp_path / "jobs.sqlite3")
    await s.open()
    yield s
    await s.close()


async def add(store: JobStore, user: str = "web:u", age_days: float = 0.0, status: str = "done") -> str:
    job_id = uuid.uuid4().hex
    await store.add(JobRecord(id=job_id, share_token=f"t{job_id}", platform="web", user_id=user, channel="",
                              command="/melody bars:2", request="{}", status=status, stage=status))
    when = time.time() - age_days * DAY
    with contextlib.closing(sqlite3.connect(store.path)) as db, db:  # set the clock back, behind the store
        db.execute("UPDATE jobs SET created = ?, updated = ? WHERE id = ?", (when, when, job_id))
    return job_id


async def test_a_starred_result_outlives_the_retention_sweep(store: JobStore) -> None:
    history = History(store)
    kept, old, remix = await add(store, age_days=40), await add(store, age_days=40), await add(store, age_days=40)
    await history.set_star(kept, True)
    await history.add_origin(remix, Origin(kept, "vary"))
    deleted = await store.delete_finished_before(time.time() - 30 * DAY)
    assert sorted(deleted) == sorted([old, remix])
    assert await store.get(kept) is not None and await store.get(old) is None
    assert (await history.about([kept]))[kept] == (None, True)
    with contextlib.closing(sqlite3.connect(store.path)) as db:
        assert db.execute("SELECT COUNT(*) FROM remixes").fetchone()[0] == 0, "the remix row went with its job"
    await history.set_star(kept, False)
    assert await store.delete_finished_before(time.time() - 30 * DAY) == [kept]


async def test_history_is_the_users_own_newest_first(store: JobStore) -> None:
    history = History(store)
    first = await add(store, age_days=2)
    second = await add(store, age_days=1)
    await add(store, user="web:someone else")
    third = await add(store, status="queued")
    await history.add_origin(third, Origin(first, "longer"))
    await history.set_star(second, True)
    entries = await history.recent("web:u")
    assert [e.record.id for e in entries] == [third, second, first]
    assert entries[0].origin == Origin(first, "longer") and entries[1].starred and not entries[2].starred
    assert [e.record.id for e in await history.recent("web:u", finished_only=True)] == [second, first]
    assert [e.record.id for e in await history.recent("web:u", starred=True)] == [second]
    assert await history.count_made(first, "longer") == 1 and await history.count_made(first, "vary") == 0
