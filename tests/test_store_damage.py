"""The job store survives damage: real SQLite files emptied, truncated or overwritten, before a real
`python -m bot` starts or while it runs; the backups kept beside the file; what the operator is told.

Bots here run with TUNESMITH_WORKERS=0: they only look jobs up, so no model needs to warm up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from botproc import get_bytes, get_json, post_command, request, start_bot

from bot.store import JobRecord, JobStore, StoreUnavailable

NO_WORKERS = {"TUNESMITH_WORKERS": "0"}
PAGE = 4096


def record(**changes: object) -> JobRecord:
    job_id = uuid.uuid4().hex
    base: dict[str, object] = {"id": job_id, "share_token": f"tok{job_id[:20]}", "platform": "web",
                               "user_id": "web:someone", "channel": "", "command": "/improv C G Am F",
                               "request": '{"family": "improv", "seed": 7}' + " " * 800, "status": "queued",
                               "stage": "queued"}
    return JobRecord(**{**base, **changes})  # type: ignore[arg-type]


async def finish(store: JobStore, job: JobRecord) -> None:
    """Record `job` and finish it as the service does when a worker reports a result."""
    await store.add(job)
    await store.update(job.id, status="running", stage="generating")
    await store.update(job.id, status="done", stage="done",
                       result={"outputs": [{"audio": "improv_0.ogg", "midi": "improv_0.mid",
                                            "pianoroll": "improv_0.png", "seconds": 8.0}]})


@contextlib.asynccontextmanager
async def opened(db: Path) -> AsyncIterator[JobStore]:
    """An open store, closed however the test ends (an open one would keep the test process alive)."""
    store = JobStore(db)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def finished_store(db: Path, count: int) -> list[JobRecord]:
    """A store holding `count` finished jobs, closed cleanly (as after a bot's shutdown)."""
    jobs = [record() for _ in range(count)]

    async def fill() -> None:
        async with opened(db) as store:
            for job in jobs:
                await finish(store, job)

    asyncio.run(fill())
    return jobs


def write_at(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)


def truncate(path: Path, size: int) -> None:
    with path.open("r+b") as f:
        f.truncate(size)


def damaged_files(data: Path) -> list[Path]:
    """The damaged database files kept aside (without their -wal/-shm companions)."""
    return [p for p in data.glob("jobs.sqlite3.damaged-*") if not p.name.endswith(("-wal", "-shm"))]


DAMAGE: dict[str, Callable[[Path], None]] = {
    "emptied to 0 bytes": lambda p: truncate(p, 0),
    "truncated to half": lambda p: truncate(p, p.stat().st_size // 2),
    "a page overwritten": lambda p: write_at(p, 3 * PAGE, os.urandom(PAGE)),
    "header overwritten": lambda p: write_at(p, 0, os.urandom(100)),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_database_is_restored_from_backup_and_the_bot_says_so(tmp_path: Path, damage: str) -> None:
    data = tmp_path / "data"
    jobs = finished_store(data / "jobs.sqlite3", 40)
    DAMAGE[damage](data / "jobs.sqlite3")

    with start_bot(data, NO_WORKERS) as bot:
        for job in (jobs[0], jobs[-1]):
            status, view = get_json(f"{bot.url}/api/jobs/{job.id}")
            assert status == 200 and view["status"] == "done", (damage, status, view, bot.log_tail())
            status, page = get_bytes(f"{bot.url}/s/{job.share_token}")
            assert status == 200 and b"improv_0.ogg" in page, (status, page[:300])
        log = bot.log()
    assert "Traceback" not in log, log
    assert "moved aside" in log and "Restored 40 jobs from the backup jobs.sqlite3.backup written" in log, log
    kept = damaged_files(data)
    assert len(kept) == 1 and kept[0].name[len("jobs.sqlite3.damaged-"):].endswith("Z"), kept


def test_with_nothing_to_restore_the_bot_starts_empty_and_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "artifacts" / uuid.uuid4().hex).mkdir(parents=True)  # files of earlier jobs: there was data
    (data / "jobs.sqlite3").write_bytes(b"this is not an SQLite file at all" * 200)

    with start_bot(data, NO_WORKERS) as bot:
        status, body = post_command(bot, "/help")
        assert status == 200, body
        log = bot.log()
    assert "Traceback" not in log, log
    assert "is damaged (file is not a database)" in log and "NO usable backup was found" in log, log
    assert "earlier jobs and their share links are gone" in log, log
    kept = damaged_files(data)
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"this is not an SQLite file"), kept


def test_store_errors_under_a_running_bot_are_503_not_500(tmp_path: Path) -> None:
    data = tmp_path / "data"
    jobs = finished_store(data / "jobs.sqlite3", 60)
    with start_bot(data, NO_WORKERS) as bot:
        status, _ = get_json(f"{bot.url}/api/jobs/{jobs[0].id}")
        assert status == 200
        size = bot.db_path.stat().st_size
        write_at(bot.db_path, PAGE, os.urandom(size - PAGE))  # every page but the header, under the bot

        answers = [get_json(f"{bot.url}/api/jobs/{job.id}") for job in jobs[1:]]
        answers += [(request("GET", f"{bot.url}/s/{job.share_token}")[0], None) for job in jobs[1:6]]
        answers.append(post_command(bot, "/improv C G Am F"))
        codes = [status for status, _ in answers]
        assert 500 not in codes, (codes, bot.log_tail())
        assert 503 in codes, (codes, bot.log_tail())  # the damage was noticed, not served from a cache
        unavailable = next(body for status, body in answers if status == 503 and body)
        assert "job records are unavailable right now" in unavailable["error"], unavailable
        assert get_json(f"{bot.url}/healthz")[0] == 200
        log = bot.log()
    assert log.count("failed while") == 1, log  # logged once with its cause, not once per request
    assert "database disk image is malformed" in log or "file is not a database" in log, log


async def test_backup_is_refreshed_after_each_finished_job_and_the_previous_kept(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    first, second = record(), record()
    async with opened(db) as store:
        await finish(store, first)
        await store.backup_settled()
        await finish(store, second)
        await store.backup_settled()
        newest, previous = db.with_name("jobs.sqlite3.backup"), db.with_name("jobs.sqlite3.backup.prev")
        with contextlib.closing(sqlite3.connect(newest)) as b:
            assert dict(b.execute("SELECT id, status FROM jobs").fetchall()) == {first.id: "done",
                                                                                 second.id: "done"}
        with contextlib.closing(sqlite3.connect(previous)) as b:
            assert dict(b.execute("SELECT id, status FROM jobs").fetchall())[first.id] == "done"


async def test_rows_newer_than_the_backup_are_read_back_from_the_damaged_file(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    await asyncio.to_thread(finished_store, db, 200)
    late = record()  # recorded by a bot killed before it could refresh the backup
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("INSERT INTO jobs (id, share_token, platform, user_id, channel, command, request, status, "
                     "created, updated) VALUES (?,?,?,?,?,?,?,?,?,?)",
                     (late.id, late.share_token, "web", "web:late", "", late.command, late.request, "queued",
                      time.time(), time.time()))
    write_at(db, 20 * PAGE, os.urandom(PAGE))

    async with opened(db) as store:
        assert store.startup is not None and store.startup.state == "restored", store.startup
        got = await store.get(late.id)
        assert got is not None and got.status == "queued"
        assert "records were read back from the damaged file" in store.startup.message, store.startup.message


async def test_a_damaged_file_under_an_open_store_raises_store_unavailable_logged_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "jobs.sqlite3"
    jobs = await asyncio.to_thread(finished_store, db, 60)
    async with opened(db) as store:
        await store.backup_settled()
        write_at(db, PAGE, os.urandom(db.stat().st_size - PAGE))
        caplog.set_level(logging.ERROR, logger="bot.store")
        refused = 0
        for job in jobs:
            try:
                await store.get(job.id)
            except StoreUnavailable:
                refused += 1
        assert refused > 0, "the damage went unnoticed"
        with pytest.raises(StoreUnavailable) as info:
            await store.add(record())
        assert str(info.value).startswith("the job records are unavailable right now; "), info.value
        assert "malformed" in info.value.cause or "not a database" in info.value.cause, info.value.cause
        failures = [r for r in caplog.records if "failed while" in r.getMessage()]
        assert len(failures) == 1, [r.getMessage() for r in caplog.records]
    # Closing made one more copy: it was refused as damaged and the good ones were kept.
    with contextlib.closing(sqlite3.connect(db.with_name("jobs.sqlite3.backup"))) as b:
        assert b.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 60


async def test_a_new_or_intact_database_starts_without_alarm(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    db.touch()  # a 0-byte file with no backup and no job files: nothing was lost
    async with opened(db) as store:
        assert store.startup is not None and store.startup.state == "new"
        await finish(store, record())
    async with opened(db) as store:
        assert store.startup is not None and store.startup.state == "ok" and store.startup.jobs == 1
    assert not list(tmp_path.glob("*.damaged-*"))
