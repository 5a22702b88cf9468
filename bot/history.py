"""A user's results with their recipes: where a remix came from, stars, and the last results of a user, read from
the job store's SQLite file (tables `remixes` and `stars`, made with the jobs table by bot/store_repair.py).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bot.store import JobRecord, JobStore, StoreUnavailable, _record

MAX_LISTED = 50


@dataclass(frozen=True)
class Origin:
    """Where a job made from an earlier result came from."""

    source_id: str
    action: str  # again | vary | longer | harmonise | reply


@dataclass(frozen=True)
class Entry:
    """One job of a user's history."""

    record: JobRecord
    origin: Origin | None
    starred: bool


class History:
    """Reads and writes the remix and star tables on the store's connection."""

    def __init__(self, store: JobStore) -> None:
        self.store = store

    async def add_origin(self, job_id: str, origin: Origin) -> None:
        with _guard("recording where a remix came from"):
            await self.store.db.execute("INSERT OR REPLACE INTO remixes (job_id, source_id, action) VALUES (?, ?, ?)",
                                        (job_id, origin.source_id, origin.action))
            await self.store.db.commit()

    async def count_made(self, source_id: str, action: str) -> int:
        """How many jobs were made from `source_id` by `action` (the next Vary goes a step hotter)."""
        with _guard("counting remixes"):
            async with self.store.db.execute("SELECT COUNT(*) FROM remixes WHERE source_id = ? AND action = ?",
                                             (source_id, action)) as cur:
                row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def set_star(self, job_id: str, on: bool) -> None:
        with _guard("starring a result"):
            if on:
                await self.store.db.execute("INSERT OR IGNORE INTO stars (job_id, created) VALUES (?, ?)",
                                            (job_id, time.time()))
            else:
                await self.store.db.execute("DELETE FROM stars WHERE job_id = ?", (job_id,))
            await self.store.db.commit()

    async def about(self, job_ids: Sequence[str]) -> dict[str, tuple[Origin | None, bool]]:
        """(origin, starred) of each job id given."""
        if not job_ids:
            return {}
        marks = ",".join("?" * len(job_ids))
        found: dict[str, tuple[Origin | None, bool]] = {i: (None, False) for i in job_ids}
        with _guard("reading recipes"):
            async with self.store.db.execute(
                    f"SELECT jobs.id, remixes.source_id, remixes.action, stars.job_id IS NOT NULL FROM jobs "
                    f"LEFT JOIN remixes ON remixes.job_id = jobs.id LEFT JOIN stars ON stars.job_id = jobs.id "
                    f"WHERE jobs.id IN ({marks})", tuple(job_ids)) as cur:
                async for row in cur:
                    origin = Origin(str(row[1]), str(row[2])) if row[1] is not None else None
                    found[str(row[0])] = (origin, bool(row[3]))
        return found

    async def by_message(self, platform: str, channel: str, ts: str) -> str | None:
        """The job whose result is the chat message `ts` in `channel` (Slack: a reply in its thread remixes it)."""
        with _guard("finding the result a message shows"):
            async with self.store.db.execute(
                    "SELECT id FROM jobs WHERE platform = ? AND channel = ? AND CASE WHEN json_valid(delivery) THEN "
                    "json_extract(delivery, '$.ts') END = ? ORDER BY created DESC LIMIT 1",
                    (platform, channel, ts)) as cur:
                row = await cur.fetchone()
        return str(row[0]) if row else None

    async def recent(self, user_id: str, limit: int = 20, *, starred: bool = False,
                     finished_only: bool = False) -> list[Entry]:
        """The user's last jobs, newest first (only the starred ones, or only finished ones, when asked)."""
        where = "jobs.user_id = ?"
        if starred:
            where += " AND stars.job_id IS NOT NULL"
        if finished_only:
            where += " AND jobs.status IN ('done', 'failed')"
        with _guard("listing a user's results"):
            async with self.store.db.execute(
                    "SELECT jobs.* FROM jobs LEFT JOIN stars ON stars.job_id = jobs.id "
                    f"WHERE {where} ORDER BY jobs.created DESC, jobs.rowid DESC LIMIT ?",
                    (user_id, max(1, min(limit, MAX_LISTED)))) as cur:
                records = [_record(row) async for row in cur]
        marks = await self.about([r.id for r in records])
        entries = [Entry(r, *marks[r.id]) for r in records]
        return entries


@contextlib.contextmanager
def _guard(doing: str) -> Iterator[None]:
    """Database errors reach callers as StoreUnavailable (the user is told to try later), never as a traceback."""
    try:
        yield
    except (sqlite3.Error, ValueError) as e:
        raise StoreUnavailable(f"{doing}: {e}") from None
