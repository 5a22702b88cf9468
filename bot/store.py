"""Every job in SQLite (aiosqlite, so the event loop never waits on disk): what was asked, where it stands,
what came out. A restarted bot reads it back to resume or report unfinished jobs.

The file is checked at start-up and a consistent copy is kept beside it (refreshed after each finished job,
the previous copy kept too), so a damaged, truncated or emptied file is moved aside and the newest good copy
restored; while the bot runs, any database error reaches callers as `StoreUnavailable`, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    share_token TEXT UNIQUE NOT NULL,
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL DEFAULT '',
    command TEXT NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL,           -- queued | running | done | failed
    stage TEXT NOT NULL DEFAULT '',
    progress TEXT NOT NULL DEFAULT '{}',
    result TEXT NOT NULL DEFAULT '{}',
    error TEXT NOT NULL DEFAULT '',
    delivery TEXT NOT NULL DEFAULT '{}',  -- how to reply later (may hold a short-lived interaction token)
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE INDEX IF NOT EXISTS jobs_user ON jobs(user_id, created);
"""
_COLUMNS = ("id", "share_token", "platform", "user_id", "channel", "command", "request", "status", "stage",
            "progress", "result", "error", "delivery", "created", "updated")
BACKUP_SUFFIXES = (".backup", ".backup.prev")  # newest first
FINISHED = ("done", "failed")


class StoreUnavailable(Exception):
    """The job records cannot be read or written right now (a damaged or unreachable database file).

    `str()` is for users; `cause` says what SQLite reported, for the operator's log.
    """

    MESSAGE = ("the job records are unavailable right now; please try again in a few minutes "
               "(the operator's log says why).")

    def __init__(self, cause: str) -> None:
        super().__init__(self.MESSAGE)
        self.cause = cause


@dataclass
class JobRecord:
    id: str
    share_token: str
    platform: str
    user_id: str
    channel: str
    command: str
    request: str
    status: str
    stage: str = ""
    progress: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    delivery: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    updated: float = 0.0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True)
class StartupCheck:
    """What `JobStore.open` found in the file and what it did about it."""

    state: str  # "ok" | "new" | "restored" | "empty" (damaged and nothing to restore)
    jobs: int  # records in the store once open
    message: str  # the sentence logged for the operator
    moved_to: Path | None = None  # where a damaged file was kept
    lost_records: bool = False  # earlier records may be missing (restored from an older copy, or started empty)


_JSON_FIELDS = ("progress", "result", "delivery")


class JobStore:
    """The jobs table. One connection; aiosqlite runs it on its own thread."""

    def __init__(self, path: Path, artifacts: Path | None = None) -> None:
        self.path = path
        self.artifacts = artifacts if artifacts is not None else path.parent / "artifacts"
        self.startup: StartupCheck | None = None
        self._db: aiosqlite.Connection | None = None
        self._failing = False  # a database error was logged and none has succeeded since
        self._backup_wanted = False
        self._backup_task: asyncio.Task[None] | None = None
        self._backup_failing = False  # the last copy failed and said so; say it again only after a success

    async def open(self) -> None:
        """Check the file (restoring the newest good copy if it is damaged), connect, and back it up."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        self.startup = check = await asyncio.to_thread(check_and_repair, self.path, self.artifacts)
        took = f" (checked in {(time.perf_counter() - started) * 1000:.0f} ms)"
        if check.state in ("restored", "empty"):
            log.error("%s%s", check.message, took)
        else:
            log.info("%s%s", check.message, took)
        try:
            self._db = await aiosqlite.connect(self.path)
            self._db.row_factory = aiosqlite.Row
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.executescript(SCHEMA)
            await self._db.commit()
        except sqlite3.Error as e:
            if self._db is not None:
                await self._db.close()
                self._db = None
            raise StoreUnavailable(f"cannot open {self.path}: {e}") from None
        self._schedule_backup()

    async def close(self) -> None:
        if self._db is not None:
            self._schedule_backup()  # the last state, queued jobs included
            await self.backup_settled()
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreUnavailable("the job store is not open")
        return self._db

    async def add(self, job: JobRecord) -> None:
        now = time.time()
        job.created = job.updated = now
        with self._guard("adding a job"):
            await self.db.execute(
                f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({','.join('?' * len(_COLUMNS))})",
                (job.id, job.share_token, job.platform, job.user_id, job.channel, job.command, job.request,
                 job.status, job.stage, json.dumps(job.progress), json.dumps(job.result), job.error,
                 json.dumps(job.delivery), now, now),
            )
            await self.db.commit()

    async def update(self, job_id: str, **changes: Any) -> None:
        cols = []
        values: list[Any] = []
        for key, value in changes.items():
            cols.append(f"{key} = ?")
            values.append(json.dumps(value) if key in _JSON_FIELDS else value)
        cols.append("updated = ?")
        values += [time.time(), job_id]
        with self._guard("updating a job"):
            await self.db.execute(f"UPDATE jobs SET {', '.join(cols)} WHERE id = ?", values)
            await self.db.commit()
        if changes.get("status") in FINISHED:
            # In the background: a 10k-job copy takes ~65 ms, which no delivery should wait for.
            self._schedule_backup()

    async def get(self, job_id: str) -> JobRecord | None:
        return await self._one("SELECT * FROM jobs WHERE id = ?", job_id)

    async def by_share_token(self, token: str) -> JobRecord | None:
        return await self._one("SELECT * FROM jobs WHERE share_token = ?", token)

    async def unfinished(self) -> list[JobRecord]:
        with self._guard("listing unfinished jobs"):
            async with self.db.execute(
                "SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created"
            ) as cur:
                return [_record(row) async for row in cur]

    async def count_since(self, user_id: str, since: float) -> int:
        return await self._count("SELECT COUNT(*) FROM jobs WHERE user_id = ? AND created >= ?", user_id, since)

    async def active_for(self, user_id: str) -> int:
        return await self._count("SELECT COUNT(*) FROM jobs WHERE user_id = ? AND status IN ('queued','running')",
                                 user_id)

    async def statuses(self) -> dict[str, str]:
        """Every job's id and status (for the retention sweep: which artifact folders have a record)."""
        with self._guard("listing jobs"):
            async with self.db.execute("SELECT id, status FROM jobs") as cur:
                return {str(row[0]): str(row[1]) async for row in cur}

    async def delete_finished_before(self, cutoff: float) -> list[str]:
        """Delete finished jobs last changed before `cutoff` (epoch seconds); returns their ids."""
        with self._guard("deleting old jobs"):
            async with self.db.execute("DELETE FROM jobs WHERE status IN ('done', 'failed') AND updated < ?"
                                       " RETURNING id", (cutoff,)) as cur:
                ids = [str(row[0]) async for row in cur]
            await self.db.commit()
        if ids:
            self._schedule_backup()
        return ids

    async def backup_settled(self) -> None:
        """Wait until the copy asked for last has been written (or has failed and said so)."""
        while self._backup_task is not None and not self._backup_task.done():
            await asyncio.shield(self._backup_task)

    # --- internals --------------------------------------------------------------------------------------
    async def _count(self, sql: str, *args: Any) -> int:
        with self._guard("counting jobs"):
            async with self.db.execute(sql, args) as cur:
                row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _one(self, sql: str, *args: Any) -> JobRecord | None:
        with self._guard("reading a job"):
            async with self.db.execute(sql, args) as cur:
                row = await cur.fetchone()
            return _record(row) if row else None

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Turn database errors into StoreUnavailable, logged once until the database answers again."""
        try:
            yield
        except (sqlite3.Error, ValueError) as e:  # ValueError: a closed connection, or unreadable JSON in a row
            if not self._failing:
                self._failing = True
                log.error("the job database %s failed while %s: %s. Users are told the job records are "
                          "unavailable. Restarting the bot checks the file and restores the newest good copy "
                          "(%s).", self.path, doing, e, ", ".join(self.path.name + s for s in BACKUP_SUFFIXES))
            raise StoreUnavailable(f"{doing}: {e}") from None
        if self._failing:
            self._failing = False
            log.warning("the job database %s answers again", self.path)

    def _schedule_backup(self) -> None:
        self._backup_wanted = True
        if self._backup_task is None or self._backup_task.done():
            self._backup_task = asyncio.create_task(self._backup_loop())

    async def _backup_loop(self) -> None:
        # Requests that arrive while a copy is being written are served by one more copy, not one each.
        while self._backup_wanted:
            self._backup_wanted = False
            try:
                await asyncio.to_thread(write_backup, self.path)
            except Exception as e:  # sqlite3.Error, OSError (disk full), _DamagedCopy: never stop the bot
                if not self._backup_failing:
                    self._backup_failing = True
                    log.error("the job database was not backed up (%s); the earlier copies are kept", e)
                return
            if self._backup_failing:
                self._backup_failing = False
                log.warning("the job database is backed up again")


def _record(row: aiosqlite.Row) -> JobRecord:
    data = dict(row)
    for key in _JSON_FIELDS:
        data[key] = json.loads(data[key] or "{}")
    return JobRecord(**data)


# --- the copies and the start-up check (plain sqlite3, run in a thread) -------------------------------------
class _DamagedCopy(Exception):
    """A fresh copy failed its check: the live file is damaged, so the earlier copies must stay."""


def backups(path: Path) -> list[Path]:
    """The copies kept beside `path`, newest first (they may not exist)."""
    return [path.with_name(path.name + suffix) for suffix in BACKUP_SUFFIXES]


def write_backup(path: Path) -> None:
    """Copy the live database consistently (SQLite's backup API), check the copy, then rotate it in."""
    newest, previous = backups(path)
    tmp = path.with_name(path.name + ".backup.tmp")
    tmp.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as src, contextlib.closing(sqlite3.connect(tmp)) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        problem = _quick_check(dst)
    if problem:
        tmp.unlink(missing_ok=True)
        raise _DamagedCopy(f"the live file is damaged: {problem}")
    if newest.exists():
        os.replace(newest, previous)
    os.replace(tmp, newest)
    _sync_dir(path.parent)


def check_and_repair(path: Path, artifacts: Path) -> StartupCheck:
    """Check the database before the bot opens it; move a damaged one aside and restore the newest good copy.

    A 0-byte or table-less file counts as damaged only when a copy or artifact folders show there was data.
    """
    copies = [p for p in backups(path) if p.exists()]
    had_data = bool(copies) or _has_job_folders(artifacts)
    if path.exists():
        problem, jobs = _inspect(path)
        if problem is None and jobs is not None:
            return StartupCheck("ok", jobs, f"the job database {path} is intact ({jobs} jobs)")
        if problem is None:
            if not had_data:
                return StartupCheck("new", 0, f"a new job database at {path}")
            empty = "is empty (0 bytes)" if path.stat().st_size == 0 else "has no jobs table"
            found = f"the job database {path} {empty} although backups or job files show it held jobs"
        else:
            found = f"the job database {path} is damaged ({problem})"
        aside = _move_aside(path)
        found += f"; the file was moved aside to {aside.name}"
        moved: Path | None = aside
    elif copies:
        moved = None
        found = f"the job database {path} is missing"
    else:
        if had_data:
            return StartupCheck("empty", 0, f"the job database {path} is missing and there is no backup; the bot "
                                "starts with NO job records (earlier share links will not work) although "
                                f"{artifacts} holds job files", lost_records=True)
        return StartupCheck("new", 0, f"a new job database at {path}")
    for sidecar in ("-wal", "-shm"):  # a stale log must never be applied to the copy restored below
        stale = path.with_name(path.name + sidecar)
        if stale.exists():
            _move_aside(stale)
    restored = _restore_newest(copies, path)
    if restored is None:
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.executescript(SCHEMA)
    salvaged = _salvage(moved, path) if moved is not None else 0
    jobs = _inspect(path)[1] or 0
    read_back = f"{salvaged} records were read back from the damaged file" if salvaged else ""
    if restored is None:
        return StartupCheck("empty", jobs, f"{found}. NO usable backup was found, so the bot starts with "
                            f"{jobs} job records{' (' + read_back + ')' if read_back else ''}: earlier jobs and "
                            "their share links are gone.", moved_to=moved, lost_records=True)
    copy, copied_jobs, when = restored
    after = f"; {read_back}, {jobs} jobs in all" if read_back else "; anything recorded after it is lost"
    return StartupCheck("restored", jobs, f"{found}. Restored {copied_jobs} jobs from the backup {copy.name} "
                        f"written {when}{after}.", moved_to=moved, lost_records=True)


def _inspect(path: Path) -> tuple[str | None, int | None]:
    """(what is wrong or None, number of jobs or None when there is no jobs table)."""
    try:
        with contextlib.closing(sqlite3.connect(path)) as db:
            problem = _quick_check(db)
            if problem:
                return problem, None
            if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").fetchone():
                return None, None
            return None, int(db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
    except sqlite3.Error as e:
        return str(e), None


def _quick_check(db: sqlite3.Connection) -> str:
    """'' when SQLite's quick_check passes (12 ms on a 10k-job, 15 MB store), else its first findings."""
    rows = [str(r[0]) for r in db.execute("PRAGMA quick_check(3)").fetchall()]
    return "" if rows == ["ok"] else "; ".join(rows).replace("\n", "; ")


def _restore_newest(copies: list[Path], path: Path) -> tuple[Path, int, str] | None:
    """Copy the newest copy that passes its check to `path`: (copy, jobs in it, when it was written)."""
    for copy in copies:
        problem, jobs = _inspect(copy)
        if problem or jobs is None:
            log.error("the backup %s is unusable too (%s)", copy, problem or "no jobs table")
            continue
        tmp = path.with_name(path.name + ".restoring")
        shutil.copyfile(copy, tmp)
        os.replace(tmp, path)
        _sync_dir(path.parent)
        when = datetime.fromtimestamp(copy.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return copy, jobs, when
    return None


def _salvage(damaged: Path, path: Path) -> int:
    """Read what rows the damaged file still gives (from both ends of the table) into `path`.

    Only rows missing from the restored copy, or newer there, are written; returns how many.
    """
    rows: dict[str, tuple[Any, ...]] = {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)) as src:
            for order in ("ASC", "DESC"):
                with contextlib.suppress(sqlite3.Error):
                    for row in src.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs ORDER BY rowid {order}"):
                        if _plausible(row):
                            rows[row[0]] = row
    except sqlite3.Error:
        return 0
    written = 0
    with contextlib.closing(sqlite3.connect(path)) as dst, dst:
        for row in rows.values():
            with contextlib.suppress(sqlite3.Error):
                cur = dst.execute(
                    f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({','.join('?' * len(_COLUMNS))}) "
                    "ON CONFLICT(id) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
                    + " WHERE excluded.updated > jobs.updated", row)
                written += cur.rowcount
    return written


def _plausible(row: tuple[Any, ...]) -> bool:
    """A row read from a damaged file is kept only if every field has the type the schema gives it."""
    if len(row) != len(_COLUMNS) or not all(isinstance(v, str) for v in row[:13]):
        return False
    if not all(isinstance(v, int | float) for v in row[13:]):
        return False
    try:
        return all(isinstance(json.loads(row[_COLUMNS.index(k)] or "{}"), dict) for k in _JSON_FIELDS)
    except ValueError:
        return False


def _move_aside(path: Path) -> Path:
    """Rename a damaged file (and its -wal/-shm) to `<name>.damaged-<UTC time>`, keeping it for inspection."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    os.replace(path, target)
    for sidecar in ("-wal", "-shm"):  # SQLite finds them by name, so they follow the file
        side = path.with_name(path.name + sidecar)
        if side.exists():
            os.replace(side, target.with_name(target.name + sidecar))
    return target


def _has_job_folders(artifacts: Path) -> bool:
    try:
        return any(p.is_dir() for p in artifacts.iterdir())
    except OSError:
        return False


def _sync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX: fsync the directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
