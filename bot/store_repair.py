"""Damage repair for the job database, below the async store: check the file, keep and restore consistent copies,
salvage what a damaged file still gives. Plain sqlite3, called in a thread by `JobStore.open` and its backups.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("bot.store")

JSON_FIELDS = ("progress", "result", "delivery")
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
-- bot/history.py: where a job made from an earlier result came from, and the results users starred
CREATE TABLE IF NOT EXISTS remixes (
    job_id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,        -- the job whose result it was made from
    action TEXT NOT NULL            -- again | vary | longer | harmonise | reply
);
CREATE INDEX IF NOT EXISTS remixes_source ON remixes(source_id, action);
CREATE TABLE IF NOT EXISTS stars (
    job_id TEXT PRIMARY KEY,        -- starred by its owner: listed as a favourite, kept past TUNESMITH_KEEP_DAYS
    created REAL NOT NULL
);
"""
COLUMNS = ("id", "share_token", "platform", "user_id", "channel", "command", "request", "status", "stage",
            "progress", "result", "error", "delivery", "created", "updated")
BACKUP_SUFFIXES = (".backup", ".backup.prev")  # newest first


@dataclass(frozen=True)
class StartupCheck:
    """What `JobStore.open` found in the file and what it did about it."""

    state: str  # "ok" | "new" | "restored" | "empty" (damaged and nothing to restore)
    jobs: int  # records in the store once open
    message: str  # the sentence logged for the operator
    moved_to: Path | None = None  # where a damaged file was kept
    lost_records: bool = False  # earlier records may be missing (restored from an older copy, or started empty)


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
                    for row in src.execute(f"SELECT {', '.join(COLUMNS)} FROM jobs ORDER BY rowid {order}"):
                        if _plausible(row):
                            rows[row[0]] = row
    except sqlite3.Error:
        return 0
    written = 0
    with contextlib.closing(sqlite3.connect(path)) as dst, dst:
        for row in rows.values():
            with contextlib.suppress(sqlite3.Error):
                cur = dst.execute(
                    f"INSERT INTO jobs ({', '.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))}) "
                    "ON CONFLICT(id) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
                    + " WHERE excluded.updated > jobs.updated", row)
                written += cur.rowcount
    return written


def _plausible(row: tuple[Any, ...]) -> bool:
    """A row read from a damaged file is kept only if every field has the type the schema gives it."""
    if len(row) != len(COLUMNS) or not all(isinstance(v, str) for v in row[:13]):
        return False
    if not all(isinstance(v, int | float) for v in row[13:]):
        return False
    try:
        return all(isinstance(json.loads(row[COLUMNS.index(k)] or "{}"), dict) for k in JSON_FIELDS)
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
