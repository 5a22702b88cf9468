"""Retention and clean-up with real files and a real SQLite store: finished jobs older than TUNESMITH_KEEP_DAYS
lose their record and files, folders without a record and the renderer's `.scratch` folders of finished jobs
are cleared, and a real `python -m bot` does it by itself at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from botproc import get_bytes, start_bot

from bot.retention import RetentionSweeper, sweep
from bot.settings import Settings
from bot.store import JobRecord, JobStore

DAY = 86_400.0


async def add_job(store: JobStore, artifacts: Path, *, status: str, age_days: float,
                  files: dict[str, int] | None = None) -> JobRecord:
    """A job recorded `age_days` ago, with its artifact folder holding `files` (name -> size in bytes)."""
    job_id = uuid.uuid4().hex
    job = JobRecord(id=job_id, share_token=f"tok{job_id}", platform="web", user_id="web:u", channel="",
                    command="/improv C G Am F", request="{}", status="queued", stage="queued")
    await store.add(job)
    await store.update(job_id, status=status, stage=status)
    when = time.time() - age_days * DAY
    with contextlib.closing(sqlite3.connect(store.path)) as db, db:  # set the clock back, behind the store
        db.execute("UPDATE jobs SET created = ?, updated = ? WHERE id = ?", (when, when, job_id))
    write_files(artifacts / job_id, files or {}, when)
    return job


def write_files(folder: Path, files: dict[str, int], mtime: float) -> None:
    for name, size in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        os.utime(path, (mtime, mtime))
    for path in [*folder.rglob("*"), folder]:
        if path.is_dir():
            os.utime(path, (mtime, mtime))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    s = JobStore(tmp_path / "jobs.sqlite3")
    await s.open()
    yield s
    await s.close()


async def test_old_finished_jobs_lose_record_and_files_and_everything_else_stays(
        store: JobStore, tmp_path: Path) -> None:
    art = tmp_path / "artifacts"
    old_done = await add_job(store, art, status="done", age_days=40, files={"a_0.ogg": 50_000, "a_0.mid": 300})
    old_failed = await add_job(store, art, status="failed", age_days=31, files={".scratch/x.wav": 70_000})
    recent = await add_job(store, art, status="done", age_days=29, files={"b_0.ogg": 1000})
    old_running = await add_job(store, art, status="running", age_days=40, files={"c_0.mid": 10})

    report = await sweep(store, art, keep_days=30)

    assert (report.records_deleted, report.folders_deleted) == (2, 2), report
    assert report.bytes_freed == 50_000 + 300 + 70_000, report
    assert await store.get(old_done.id) is None and await store.get(old_failed.id) is None
    assert not (art / old_done.id).exists() and not (art / old_failed.id).exists()
    for kept in (recent, old_running):
        assert await store.get(kept.id) is not None
        assert (art / kept.id).is_dir()
    assert (art / recent.id / "b_0.ogg").stat().st_size == 1000


async def test_keep_days_zero_keeps_jobs_but_clears_scratch_of_finished_jobs_only(
        store: JobStore, tmp_path: Path) -> None:
    art = tmp_path / "artifacts"
    done = await add_job(store, art, status="done", age_days=400,
                         files={"a_0.ogg": 2000, ".scratch/raw.wav": 123_456, ".scratch/part/1.wav": 1000})
    running = await add_job(store, art, status="running", age_days=0, files={".scratch/raw.wav": 5000})

    report = await sweep(store, art, keep_days=0)

    assert report.records_deleted == 0 and report.scratch_deleted == 1, report
    assert report.bytes_freed == 124_456, report
    assert await store.get(done.id) is not None and (art / done.id / "a_0.ogg").exists()
    assert not (art / done.id / ".scratch").exists()
    assert (art / running.id / ".scratch" / "raw.wav").exists()  # its renderer is still writing there


async def test_folders_without_a_record_go_after_a_day_and_links_are_not_followed(
        store: JobStore, tmp_path: Path) -> None:
    art = tmp_path / "artifacts"
    outside = tmp_path / "precious.txt"
    outside.write_text("not ours")
    stale = art / uuid.uuid4().hex
    write_files(stale, {"x_0.ogg": 4000}, time.time() - 2 * DAY)
    (stale / "link").symlink_to(outside)
    os.utime(stale / "link", (time.time() - 2 * DAY,) * 2, follow_symlinks=False)
    os.utime(stale, (time.time() - 2 * DAY,) * 2)
    fresh = art / uuid.uuid4().hex  # a job being recorded right now may already have its folder
    write_files(fresh, {"y_0.ogg": 10}, time.time())
    other = art / "not-a-job"
    write_files(other, {"notes.txt": 10}, time.time() - 90 * DAY)

    report = await sweep(store, art, keep_days=30)

    assert report.orphans_deleted == 1 and not stale.exists(), report
    assert report.bytes_freed == 4000 + len(str(outside)), report  # the link itself, not what it points at
    assert outside.read_text() == "not ours"
    assert fresh.is_dir() and other.is_dir()


async def test_after_lost_records_folders_without_a_record_are_kept_and_the_operator_told(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    orphan = data / "artifacts" / uuid.uuid4().hex
    write_files(orphan, {"z_0.ogg": 100}, time.time() - 5 * DAY)
    (data / "jobs.sqlite3").write_bytes(b"garbage " * 1000)  # damaged, no backup: the store starts empty
    store = JobStore(data / "jobs.sqlite3")
    await store.open()
    caplog.set_level(logging.WARNING, logger="bot.retention")
    try:
        report = await RetentionSweeper(store, data / "artifacts", keep_days=30).sweep_once()
    finally:
        await store.close()
    assert report.orphans_kept == 1 and report.orphans_deleted == 0 and orphan.is_dir(), report
    assert any("have no job record; they are kept" in r.getMessage() for r in caplog.records), caplog.text


async def test_the_sweeper_runs_at_start_and_again_each_interval_until_stopped(
        store: JobStore, tmp_path: Path) -> None:
    art = tmp_path / "artifacts"
    first = await add_job(store, art, status="done", age_days=0, files={".scratch/a.wav": 10})
    sweeper = RetentionSweeper(store, art, keep_days=30, interval_s=0.2)
    sweeper.start()
    async with asyncio.timeout(5):
        while (art / first.id / ".scratch").exists():
            await asyncio.sleep(0.05)
    later = await add_job(store, art, status="failed", age_days=0, files={".scratch/b.wav": 10})
    async with asyncio.timeout(5):
        while (art / later.id / ".scratch").exists():
            await asyncio.sleep(0.05)
    async with asyncio.timeout(2):
        await sweeper.stop()


def test_the_bot_sweeps_old_jobs_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    art = data / "artifacts"

    async def prepare() -> tuple[JobRecord, JobRecord]:
        s = JobStore(data / "jobs.sqlite3")
        await s.open()
        try:
            old = await add_job(s, art, status="done", age_days=45, files={"improv_0.ogg": 30_000})
            recent = await add_job(s, art, status="done", age_days=1,
                                   files={"improv_0.ogg": 20_000, ".scratch/raw.wav": 90_000})
        finally:
            await s.close()
        return old, recent

    old, recent = asyncio.run(prepare())
    with start_bot(data, {"TUNESMITH_WORKERS": "0", "TUNESMITH_KEEP_DAYS": "30"}) as bot:
        deadline = time.monotonic() + 15
        while ((art / old.id).exists() or (art / recent.id / ".scratch").exists()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not (art / old.id).exists(), bot.log_tail()
        assert not (art / recent.id / ".scratch").exists(), bot.log_tail()
        assert get_bytes(f"{bot.url}/s/{old.share_token}")[0] == 404
        assert get_bytes(f"{bot.url}/s/{recent.share_token}")[0] == 200
        assert (art / recent.id / "improv_0.ogg").exists()
        log = bot.log()
    assert "retention sweep: 1 old job records and 1 of their folders deleted" in log, log
    assert "0.1 MB freed" in log, log


def test_keep_days_setting() -> None:
    assert Settings.from_env({}).keep_days == 30
    assert Settings.from_env({"TUNESMITH_KEEP_DAYS": "0"}).keep_days == 0
    assert Settings.from_env({"TUNESMITH_KEEP_DAYS": "7.5"}).keep_days == 7.5
    for bad in ("-1", "nan", "soon"):
        with pytest.raises(SystemExit) as info:
            Settings.from_env({"TUNESMITH_KEEP_DAYS": bad})
        assert "TUNESMITH_KEEP_DAYS" in str(info.value.code), info.value.code
