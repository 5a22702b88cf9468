"""Retention: finished jobs older than TUNESMITH_KEEP_DAYS lose their record and files, and what jobs leave
behind is cleared (artifact folders no record points at, the renderer's `.scratch` folders of finished jobs).

`sweep()` does one pass and says what it freed; `RetentionSweeper` runs it at start-up and every hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from bot.store import FINISHED, JobStore, StoreUnavailable

log = logging.getLogger(__name__)

JOB_FOLDER = re.compile(r"[0-9a-f]{32}")  # uuid4().hex, as the service names jobs; anything else is left alone
SCRATCH = ".scratch"  # the renderer's temp area inside a job's folder
ORPHAN_GRACE_S = 86_400.0  # a folder without a record is left this long (its job may be being recorded)
SWEEP_INTERVAL_S = 3600.0
DAY_S = 86_400.0


@dataclass(frozen=True)
class SweepReport:
    """What one sweep removed."""

    records_deleted: int = 0  # finished jobs past the retention period
    folders_deleted: int = 0  # their artifact folders
    orphans_deleted: int = 0  # artifact folders with no record
    scratch_deleted: int = 0  # `.scratch` folders of finished jobs
    bytes_freed: int = 0
    orphans_kept: int = 0  # folders with no record, kept because the store lost records at start-up

    @property
    def removed_anything(self) -> bool:
        return bool(self.records_deleted or self.folders_deleted or self.orphans_deleted or self.scratch_deleted)

    def summary(self) -> str:
        return (f"retention sweep: {self.records_deleted} old job records and {self.folders_deleted} of their "
                f"folders deleted, {self.orphans_deleted} folders without a record, {self.scratch_deleted} "
                f"scratch folders; {self.bytes_freed / 1e6:.1f} MB freed")


async def sweep(store: JobStore, artifacts: Path, keep_days: float, *, now: float | None = None,
                delete_orphans: bool = True) -> SweepReport:
    """One pass. `keep_days` 0 keeps every record and its files (scratch and orphan folders are still cleared).

    Raises:
        StoreUnavailable: the job records cannot be read; nothing was deleted on disk.
    """
    now = time.time() if now is None else now
    deleted = await store.delete_finished_before(now - keep_days * DAY_S) if keep_days > 0 else []
    statuses = await store.statuses()
    return await asyncio.to_thread(_clear_files, artifacts, deleted, statuses, now, delete_orphans)


class RetentionSweeper:
    """Runs `sweep` at start and then every `interval_s`, until `stop()`; a failed pass is logged, not fatal."""

    def __init__(self, store: JobStore, artifacts: Path, keep_days: float,
                 interval_s: float = SWEEP_INTERVAL_S) -> None:
        self.store = store
        self.artifacts = artifacts
        self.keep_days = keep_days
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._said_kept = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="retention-sweep")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def sweep_once(self) -> SweepReport:
        startup = self.store.startup
        lost = startup is not None and startup.lost_records
        report = await sweep(self.store, self.artifacts, self.keep_days, delete_orphans=not lost)
        if report.removed_anything:
            log.info("%s", report.summary())
        if report.orphans_kept and not self._said_kept:
            self._said_kept = True
            log.warning("retention: %d artifact folders have no job record; they are kept because the job "
                        "database lost records at start-up (the damaged file was kept for inspection), and "
                        "cleared after a restart with an intact database", report.orphans_kept)
        return report

    async def _run(self) -> None:
        kept = f"{self.keep_days:g} days" if self.keep_days > 0 else "forever (TUNESMITH_KEEP_DAYS=0)"
        log.info("retention: finished jobs and their files are kept %s; sweeping every %.0f minutes", kept,
                 self.interval_s / 60)
        while True:
            try:
                await self.sweep_once()
            except StoreUnavailable as e:
                log.warning("retention sweep skipped: the job records are unavailable (%s)", e.cause)
            except Exception:  # a sweep must never take the bot down; say what broke and try again later
                log.exception("retention sweep failed")
            await asyncio.sleep(self.interval_s)


# --- files (run in a thread) -----------------------------------------------------------------------------
def _clear_files(artifacts: Path, deleted: list[str], statuses: dict[str, str], now: float,
                 delete_orphans: bool) -> SweepReport:
    freed = folders = orphans = scratch = kept = 0
    for job_id in deleted:
        folder = artifacts / job_id
        if JOB_FOLDER.fullmatch(job_id) and folder.is_dir():
            freed += _remove(folder)
            folders += 1
    try:
        entries = list(os.scandir(artifacts))
    except OSError:  # no artifacts yet
        entries = []
    for entry in entries:
        if not JOB_FOLDER.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        folder = Path(entry.path)
        status = statuses.get(entry.name)
        if status is None:
            if _newest_mtime(folder) > now - ORPHAN_GRACE_S:
                continue
            if not delete_orphans:
                kept += 1
                continue
            freed += _remove(folder)
            orphans += 1
        elif status in FINISHED and os.path.lexists(folder / SCRATCH):
            freed += _remove(folder / SCRATCH)
            scratch += 1
    return SweepReport(len(deleted), folders, orphans, scratch, freed, kept)


def _remove(path: Path) -> int:
    """Delete a folder (or file, or link: never followed); returns the bytes it held."""
    size = _size(path)
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError as e:
        log.warning("retention: could not delete %s (%s)", path, e)
        return max(0, size - _size(path))
    return size


def _size(path: Path) -> int:
    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(OSError):
            return path.lstat().st_size
        return 0
    total = 0
    for root, _dirs, files in os.walk(path):  # follows no link below the top
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _newest_mtime(folder: Path) -> float:
    newest = 0.0
    with contextlib.suppress(OSError):
        newest = folder.lstat().st_mtime
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            with contextlib.suppress(OSError):
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
    return newest
