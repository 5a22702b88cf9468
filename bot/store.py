"""Every job in SQLite (aiosqlite, so the event loop never waits on disk): what was asked, where it stands,
what came out. A restarted bot reads it back to resume or report unfinished jobs."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

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
        return self.status in ("done", "failed")


_JSON_FIELDS = ("progress", "result", "delivery")


class JobStore:
    """The jobs table. One connection; aiosqlite runs it on its own thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path)
        self._db.row_factory = aiosqlite.Row
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.executescript(SCHEMA)
        await self._db.commit()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("JobStore is not open")
        return self._db

    async def add(self, job: JobRecord) -> None:
        now = time.time()
        job.created = job.updated = now
        await self.db.execute(
            "INSERT INTO jobs (id, share_token, platform, user_id, channel, command, request, status, stage,"
            " progress, result, error, delivery, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (job.id, job.share_token, job.platform, job.user_id, job.channel, job.command, job.request, job.status,
             job.stage, json.dumps(job.progress), json.dumps(job.result), job.error, json.dumps(job.delivery),
             now, now),
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
        await self.db.execute(f"UPDATE jobs SET {', '.join(cols)} WHERE id = ?", values)
        await self.db.commit()

    async def get(self, job_id: str) -> JobRecord | None:
        return await self._one("SELECT * FROM jobs WHERE id = ?", job_id)

    async def by_share_token(self, token: str) -> JobRecord | None:
        return await self._one("SELECT * FROM jobs WHERE share_token = ?", token)

    async def unfinished(self) -> list[JobRecord]:
        async with self.db.execute(
            "SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created"
        ) as cur:
            return [_record(row) async for row in cur]

    async def count_since(self, user_id: str, since: float) -> int:
        async with self.db.execute("SELECT COUNT(*) FROM jobs WHERE user_id = ? AND created >= ?",
                                   (user_id, since)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def active_for(self, user_id: str) -> int:
        async with self.db.execute("SELECT COUNT(*) FROM jobs WHERE user_id = ? AND status IN ('queued','running')",
                                   (user_id,)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _one(self, sql: str, *args: Any) -> JobRecord | None:
        async with self.db.execute(sql, args) as cur:
            row = await cur.fetchone()
        return _record(row) if row else None


def _record(row: aiosqlite.Row) -> JobRecord:
    data = dict(row)
    for key in _JSON_FIELDS:
        data[key] = json.loads(data[key] or "{}")
    return JobRecord(**data)
