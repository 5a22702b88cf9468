"""The coordinator between front ends and the job queue: check, record, enqueue, follow, deliver.

Front ends call `submit()` and register a deliverer per platform; the service calls it on every change of a
job (queued, generating, rendering, done, failed), also for jobs resumed after a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from bot.attachments import Attachment, builder_input, check_size, read_files, share_tokens
from bot.commands import help_text, parse_command
from bot.job_view import Deliverer, JobView, Refused, Submitted
from bot.retention import RetentionSweeper
from bot.settings import Settings
from bot.store import JobRecord, JobStore, StoreUnavailable
from generation.engine.bundle import installed_configs
from generation.errors import InputError
from generation.families.plugin import bounded_notes
from generation.jobs.base import JobEvent, JobQueue
from generation.music.primer_sandbox import AttachedPrimer
from generation.request import GenerationRequest

log = logging.getLogger(__name__)
_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_-]+(\.(mid|ogg|mp3|wav|png))?")
# In a finished job's `delivery` from the moment it finishes until its chat front end has posted the result: a
# bot killed in between posts it after the restart (deliver_pending), and never twice.
UNPOSTED = "unposted"


class Service:
    """Owns the store and the queue; the one place jobs change state."""

    def __init__(self, settings: Settings, store: JobStore, queue: JobQueue) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue
        self.artifacts = settings.data_dir / "artifacts"
        self._deliverers: dict[str, Deliverer] = {}
        self._watchers: dict[str, set[asyncio.Queue[JobView]]] = {}
        self._lock = asyncio.Lock()  # submit checks (limits) and inserts atomically
        self._delivering: set[asyncio.Task[None]] = set()
        self._job_locks: dict[str, asyncio.Lock] = {}
        self.installed: frozenset[str] = frozenset()  # configs with a trained model here (read at start)
        self._address_starts: dict[str, deque[float]] = {}  # per network address: job start times, last minute
        self._address_active: dict[str, set[str]] = {}  # per network address: jobs queued or running

    def register_deliverer(self, platform: str, deliverer: Deliverer) -> None:
        self._deliverers[platform] = deliverer

    _sweeper: RetentionSweeper | None = None  # set by start(): clears old jobs and leftovers, now and hourly

    async def start(self) -> None:
        self.installed = await asyncio.to_thread(installed_configs)
        await self.store.open()
        await self.queue.start(self._on_event)
        await self._recover()
        self._sweeper = RetentionSweeper(self.store, self.artifacts, self.settings.keep_days)
        self._sweeper.start()

    async def stop(self) -> None:
        if self._sweeper is not None:
            await self._sweeper.stop()
        await self.queue.stop()
        if self._delivering:
            await asyncio.wait(self._delivering, timeout=10)
        await self.store.close()

    async def set_delivery(self, job_id: str, delivery: dict[str, Any]) -> None:
        """Remember what a front end needs to reach the user later (e.g. the message it posted); merged into
        what is stored, so the service's own keys stay."""
        await self.store.update(job_id, delivery_patch=delivery)

    async def deliver_pending(self, platform: str) -> None:
        """Call once the platform's front end can post: shows where resumed jobs stand and posts the results a
        previous run finished but did not post (it was killed first, or finished before this front end was up)."""
        records = await self.store.unposted(platform)
        records += [r for r in await self.store.unfinished() if r.platform == platform]
        for record in records:
            await self._publish(record.id)

    async def submit(self, *, platform: str, user_id: str, text: str, channel: str = "",
                     attachments: Sequence[Attachment] = (), delivery: dict[str, Any] | None = None,
                     address: str = "") -> Submitted:
        """Check and queue one command.

        `address` is the caller's network address where there is one (web chat, HTTP API): limits apply to
        it as well as to `user_id`, so a caller cannot dodge them by changing names. Attached files (and earlier
        results named by their share links) are read only after the limits pass, in a bounded subprocess.

        Raises:
            CommandError: the command is malformed (points at the token).
            Refused: rate limit, full queue, or an unusable attachment.
        """
        seed = secrets.randbelow(2**31)
        words = text
        primers: tuple[AttachedPrimer, ...] = ()
        if attachments or share_tokens(text)[1]:
            for a in attachments:
                self.check_attachment(a.name, len(a.data))
            await self._check_limits(user_id, address)  # before any work on the files
            try:
                read = await read_files(text, attachments, self.settings.max_attachment_bytes,
                                        self.store.by_share_token, self.artifacts)
            except InputError as e:
                raise Refused(str(e)) from None
            words, primers = read.text, read.primers
        parsed = parse_command(words, primer_from_attachment=builder_input(words, primers),
                               primer_qpm=primers[0].qpm if primers else None, default_seed=seed,
                               installed=self.installed)
        if parsed.name == "help" or parsed.request is None:
            return Submitted("help", help=help_text(parsed.topic))
        return await self.submit_request(platform=platform, user_id=user_id, text=text, request=parsed.request,
                                         channel=channel, delivery=delivery, address=address)

    async def check_limits(self, user_id: str, address: str = "") -> None:
        """Raise Refused when this user (or address) may not start a job now: before any costly work for one."""
        await self._check_limits(user_id, address)

    async def submit_request(self, *, platform: str, user_id: str, text: str, request: GenerationRequest,
                             channel: str = "", delivery: dict[str, Any] | None = None, address: str = "",
                             recorded: Callable[[str], Awaitable[None]] | None = None) -> Submitted:
        """Queue a checked request under the limits; `text` is its recipe as shown. `recorded(job_id)` runs once
        the job is in the store, before it is queued (bot/remix.py records where a remix came from).

        Raises:
            Refused: rate limit or full queue.
        """
        async with self._lock:
            await self._check_limits(user_id, address)
            job = JobRecord(id=uuid.uuid4().hex, share_token=secrets.token_urlsafe(18), platform=platform,
                            user_id=user_id, channel=channel, command=text.strip(),
                            request=request.to_json(), status="queued", stage="queued",
                            delivery=delivery or {})
            await self.store.add(job)
            if recorded is not None:
                await recorded(job.id)
            if address:
                self._address_starts.setdefault(address, deque()).append(time.monotonic())
                self._address_active.setdefault(address, set()).add(job.id)
            await self.queue.submit(job.id, request, self.artifacts / job.id, owner=address or user_id)
        view = await self.view(job.id)
        assert view is not None
        return Submitted("job", job=view)

    async def view(self, job_id: str) -> JobView | None:
        record = await self.store.get(job_id)
        return self._view(record) if record else None

    async def view_by_share_token(self, token: str) -> JobView | None:
        record = await self.store.by_share_token(token)
        return self._view(record) if record else None

    async def record_by_share_token(self, token: str) -> JobRecord | None:
        return await self.store.by_share_token(token)

    def watch(self, job_id: str) -> asyncio.Queue[JobView]:
        """A queue receiving the job's view after each change (call `unwatch` when done)."""
        q: asyncio.Queue[JobView] = asyncio.Queue()
        self._watchers.setdefault(job_id, set()).add(q)
        return q

    def unwatch(self, job_id: str, q: asyncio.Queue[JobView]) -> None:
        self._watchers.get(job_id, set()).discard(q)

    def artifact(self, job_id: str, name: str) -> Path | None:
        """Where a job's output file `name` lives (no disk access here: the caller's file reader checks)."""
        if not _ARTIFACT_NAME.fullmatch(name) or not _ARTIFACT_NAME.fullmatch(job_id):
            return None
        return self.artifacts / job_id / name

    # --- internals --------------------------------------------------------------------------------------
    def check_attachment(self, name: str, size: int) -> None:
        """Refuse an attachment by its size before anyone downloads it."""
        try:
            check_size(name, size, self.settings.max_attachment_bytes)
        except InputError as e:
            raise Refused(str(e)) from None

    async def _check_limits(self, user_id: str, address: str) -> None:
        s = self.settings
        recent = await self.store.count_since(user_id, time.time() - 60)
        if recent >= s.rate_limit_per_minute:
            raise Refused(f"you have started {recent} jobs in the last minute; the limit is "
                          f"{s.rate_limit_per_minute} per minute. Try again shortly.", busy=True)
        active = await self.store.active_for(user_id)
        if active >= s.max_active_per_user:
            raise Refused(f"you already have {active} jobs waiting or running (at most {s.max_active_per_user}); "
                          "wait for one to finish.", busy=True)
        if address:
            self._forget_old_addresses()
            recent = len(self._address_starts.get(address, ()))
            if recent >= s.rate_limit_per_address_per_minute:
                raise Refused(f"{recent} jobs were started from your address in the last minute; the limit is "
                              f"{s.rate_limit_per_address_per_minute} per minute. Try again shortly.", busy=True)
            active = len(self._address_active.get(address, ()))
            if active >= s.max_active_per_address:
                raise Refused(f"{active} jobs from your address are waiting or running (at most "
                              f"{s.max_active_per_address}); wait for one to finish.", busy=True)
        if self.queue.waiting >= s.queue_cap:
            raise Refused(f"the queue is full ({self.queue.waiting} jobs waiting); try again in a minute.",
                          busy=True)

    def _forget_old_addresses(self) -> None:
        """Drop start times over a minute old, and addresses with nothing left (bounded memory)."""
        cutoff = time.monotonic() - 60
        for address in list(self._address_starts):
            starts = self._address_starts[address]
            while starts and starts[0] < cutoff:
                starts.popleft()
            if not starts:
                del self._address_starts[address]

    async def _on_event(self, event: JobEvent) -> None:
        if event.kind in ("done", "error"):
            for address, jobs in list(self._address_active.items()):
                jobs.discard(event.job_id)
                if not jobs:
                    del self._address_active[address]
        try:
            await self._record(event)
        except StoreUnavailable:  # logged by the store; the queue must keep serving jobs meanwhile
            log.error("job %s: its %s event could not be recorded (the job store is unavailable)", event.job_id,
                      event.kind)

    async def _record(self, event: JobEvent) -> None:
        record = await self.store.get(event.job_id)
        if record is None or record.status in ("done", "failed"):
            # A job runs at least once: a second run's events (a duplicate delivery, a job handed again after a
            # restart) must not reopen, re-post or overwrite what the user already has.
            log.info("job %s: ignoring a %s event (the job is %s)", event.job_id, event.kind,
                     record.status if record else "unknown")
            return
        if event.kind == "started":
            await self.store.update(event.job_id, status="running", stage="generating", progress={})
        elif event.kind == "progress":
            await self.store.update(event.job_id, stage=event.stage,
                                    progress={"done": event.done, "total": event.total})
        elif event.kind == "done":
            await self.store.update(event.job_id, status="done", stage="done", result=event.result,
                                    delivery_patch={UNPOSTED: True} if record.delivery else None)
        else:
            await self.store.update(event.job_id, status="failed", stage="failed", error=event.message,
                                    delivery_patch={UNPOSTED: True} if record.delivery else None)
        await self._publish(event.job_id)
        if event.kind == "started":  # everyone behind moved up one place
            for record in await self.store.unfinished():
                if record.status == "queued":
                    await self._publish(record.id)

    async def _publish(self, job_id: str) -> None:
        view = await self.view(job_id)
        if view is None:
            return
        for q in list(self._watchers.get(job_id, ())):
            q.put_nowait(view)
        if view.platform in self._deliverers:
            # In the background, so a slow upload never holds up the queue; the per-job lock (FIFO) keeps
            # each job's updates in order.
            task = asyncio.create_task(self._deliver(view))
            self._delivering.add(task)
            task.add_done_callback(self._delivering.discard)

    async def _deliver(self, view: JobView) -> None:
        lock = self._job_locks.setdefault(view.id, asyncio.Lock())
        async with lock:
            try:
                await self._post(view)
            except StoreUnavailable:
                log.error("job %s: whether its result was posted could not be read or recorded", view.id)
        if view.finished and not lock.locked():
            self._job_locks.pop(view.id, None)

    async def _post(self, view: JobView) -> None:
        """Hand the view to its front end; a chat result only while it is unposted, and only once."""
        final = view.finished and bool(view.delivery)
        if final:
            record = await self.store.get(view.id)
            if record is None or not record.delivery.get(UNPOSTED):
                return  # posted already: a catch-up met the live event
        try:
            await self._deliverers[view.platform](view)
        except Exception:  # a front end failing to post must not stop the others
            log.exception("delivering job %s to %s failed", view.id, view.platform)
        if final:  # tried once: never again, even if it failed (it may have been half posted)
            await self.store.update(view.id, delivery_patch={UNPOSTED: None})

    async def _recover(self) -> None:
        """Re-queue jobs a previous run left unfinished; report the ones that cannot run again."""
        for record in await self.store.unfinished():
            try:
                request = GenerationRequest.from_json(record.request)
            except Exception as e:  # any unreadable row: report it, never stop the bot from starting
                await self.store.update(record.id, status="failed", stage="failed",
                                        error=f"the bot restarted and could not resume this job ({e})")
                await self._publish(record.id)
                continue
            await self.store.update(record.id, status="queued", stage="queued", progress={})
            await self.queue.submit(record.id, request, self.artifacts / record.id, owner=record.user_id)
            log.info("resumed job %s after a restart", record.id)
            await self._publish(record.id)

    def _view(self, r: JobRecord) -> JobView:
        base = self.settings.public_url
        share = f"{base}/s/{r.share_token}"
        outputs = []
        for out in r.result.get("outputs", []):
            outputs.append({
                "audio_url": f"{share}/files/{out['audio']}",
                "midi_url": f"{share}/files/{out['midi']}",
                "pianoroll_url": f"{share}/files/{out['pianoroll']}",
                "audio": out["audio"], "midi": out["midi"], "pianoroll": out["pianoroll"],
                "seconds": out.get("seconds"),
            })
        try:
            request: dict[str, Any] = json.loads(r.request)
        except ValueError:
            request = {}
        if not isinstance(request, dict):
            request = {}
        return JobView(
            id=r.id, status=r.status, stage=r.stage,
            position=self.queue.position(r.id) if r.status == "queued" else None,
            done=int(r.progress.get("done", 0)), total=int(r.progress.get("total", 0)), command=r.command,
            share_url=share, outputs=outputs, error=r.error, seed=int(request.get("seed", 0)),
            model=str(request.get("config", "")), platform=r.platform, delivery=r.delivery,
            warming=r.status == "queued" and not self._workers_ready(),
            notes=bounded_notes(r.result.get("notes")),  # rows from before notes, or odd ones, give none
        )

    def _workers_ready(self) -> bool:
        ready = getattr(self.queue, "ready", None)
        return ready.is_set() if ready is not None else True

