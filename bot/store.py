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
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store_repair import (
    BACKUP_SUFFIXES,
    COLUMNS,
    JSON_FIELDS,
    SCHEMA,
    StartupCheck,
    check_and_repair,
    write_backup,
)

log = logging.getLogger(__name__)

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
                f"INSERT INTO jobs ({', '.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})",
                (job.id, job.share_token, job.platform, job.user_id, job.channel, job.command, job.request,
                 job.status, job.stage, json.dumps(job.progress), json.dumps(job.result), job.error,
                 json.dumps(job.delivery), now, now),
            )
            await self.db.commit()

    async def update(self, job_id: str, *, delivery_patch: dict[str, Any] | None = None, **changes: Any) -> None:
        """Change columns of one job; `delivery_patch` merges keys into `delivery` (None removes a key) in the same
        statement, so a flag set beside a new status is never seen without it."""
        cols = []
        values: list[Any] = []
        for key, value in changes.items():
            cols.append(f"{key} = ?")
            values.append(json.dumps(value) if key in JSON_FIELDS else value)
        if delivery_patch is not None:
            cols.append("delivery = json_patch(CASE WHEN json_valid(delivery) THEN delivery ELSE '{}' END, ?)")
            values.append(json.dumps(delivery_patch))
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

    async def unposted(self, platform: str) -> list[JobRecord]:
        """Finished jobs of `platform` whose result a chat front end has not posted yet (the bot stopped first)."""
        with self._guard("listing unposted jobs"):
            async with self.db.execute(
                "SELECT * FROM jobs WHERE platform = ? AND status IN ('done', 'failed') "
                "AND CASE WHEN json_valid(delivery) THEN json_extract(delivery, '$.unposted') END ORDER BY updated",
                (platform,),
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
        """Delete finished jobs last changed before `cutoff` (epoch seconds), starred ones excepted; returns their
        ids."""
        with self._guard("deleting old jobs"):
            async with self.db.execute("DELETE FROM jobs WHERE status IN ('done', 'failed') AND updated < ?"
                                       " AND id NOT IN (SELECT job_id FROM stars) RETURNING id", (cutoff,)) as cur:
                ids = [str(row[0]) async for row in cur]
            await self.db.executemany("DELETE FROM remixes WHERE job_id = ?", [(i,) for i in ids])
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
    for key in JSON_FIELDS:
        data[key] = json.loads(data[key] or "{}")
    return JobRecord(**data)


# --- the copies and the start-up check (plain sqlite3, run in a thread) -------------------------------------
