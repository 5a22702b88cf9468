"""A bot on the broker backend killed with kill -9 loses nothing and posts nothing twice: a real `python -m bot`
(Slack front end in HTTP mode, talking to a stand-in Slack), real Redis, a real `tunesmith-worker` process.

Killed mid-job, the worker finishes the job while the bot is down; the restarted bot collects that result from
the broker, finishes the jobs that were waiting, and posts each result once in the message it posted before.
Killed while posting a result, the restarted bot posts it (once)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
from aiohttp import web
from botproc import BotProcess, start_bot
from broker_helpers import WorkerHost, broker_url, empty_db, stream_events, wait_for
from slack_standin import Call, SlackStandIn, signed_slash_command

pytestmark = pytest.mark.asyncio(loop_scope="module")
REDIS_DB = 12
URL = broker_url(REDIS_DB, "restart")
SECRET = "restart-test-signing-secret"
JOB_S = 180.0  # generous: a loaded 2-core machine, the first job also waits for nothing else
PLAY = "/melody C4 - E4 - G4 - - - config:basic_rnn"
__all__ = ["empty_db"]  # the fixture, used by name


@dataclass
class HoldingSlack(SlackStandIn):
    """The stand-in Slack, able to hold file uploads (the bot's request waits) until `release` is set."""

    release: asyncio.Event | None = None

    async def _upload(self, request: web.Request) -> web.Response:
        await request.read()  # kept by aiohttp: the stand-in reads it again below
        if self.release is not None and not self.release.is_set():
            await self._record(Call("upload.held", {}))
            await self.release.wait()
        return await super()._upload(request)


@dataclass
class Rig:
    slack: HoldingSlack
    worker: WorkerHost
    client: redis.Redis
    http: aiohttp.ClientSession
    folder: Path
    bots: list[BotProcess] = field(default_factory=list)

    async def start_bot(self, data: Path) -> BotProcess:
        env = {"TUNESMITH_QUEUE": URL, "SLACK_BOT_TOKEN": self.slack.bot_token, "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_BASE": self.slack.api_base, "TUNESMITH_RATE_LIMIT_PER_MINUTE": "100",
               "TUNESMITH_MAX_ACTIVE_PER_USER": "10"}
        bot = await asyncio.to_thread(start_bot, data, env)  # in a thread: the stand-in must keep answering
        self.bots.append(bot)
        return bot

    async def command(self, bot: BotProcess, text: str, user: str) -> str:
        """Send a slash command as Slack does; the id of the job it started."""
        body, headers = signed_slash_command(SECRET, "/melody", text.removeprefix("/melody "), user_id=user)
        async with self.http.post(f"{bot.url}/slack/events", data=body, headers=headers) as res:
            assert res.status == 200, await res.text()
        rows = jobs(bot.db_path)
        assert text in rows, f"no job for {text!r}: {list(rows)}"
        return str(rows[text]["id"])

    def events(self, job_id: str, kind: str) -> list[dict[str, Any]]:
        return [e for e in stream_events(self.client, self.worker.broker)
                if e["job_id"] == job_id and e["kind"] == kind]

    def posted(self, command: str) -> list[Call]:
        """The result posts (the files shared with the recipe) of the job started by `command`."""
        return [c for c in self.slack.of("files.completeUploadExternal")
                if f"`{command}`" in str(c.params.get("initial_comment", ""))]

    def messages(self, command: str) -> list[Call]:
        """The progress messages posted for the job (later edited, never posted again)."""
        return [c for c in self.slack.of("chat.postMessage") if f"`{command}`" in str(c.params.get("text", ""))]


def jobs(db_path: Path) -> dict[str, dict[str, Any]]:
    """The bot's job rows by command, read beside the running bot (SQLite in WAL mode)."""
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        db.row_factory = sqlite3.Row
        return {row["command"]: dict(row) for row in db.execute("SELECT * FROM jobs")}


@pytest.fixture(scope="module")
async def rig(empty_db: redis.Redis, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    folder = tmp_path_factory.mktemp("broker_restart")
    slack = HoldingSlack()
    await slack.start()
    worker = WorkerHost(URL, folder / "worker.log", "--lease", "5")
    http = aiohttp.ClientSession()
    rig = Rig(slack, worker, empty_db, http, folder)
    try:
        await worker.ready(empty_db)
        yield rig
    finally:
        for bot in rig.bots:
            await asyncio.to_thread(bot.stop, kill=True)
        await http.close()
        worker.kill()
        await slack.close()


async def test_a_bot_killed_mid_job_posts_every_result_once_after_its_restart(rig: Rig) -> None:
    data = rig.folder / "killed-mid-job"
    first = await rig.start_bot(data)
    long, short, last = f"{PLAY} bars:16 outputs:2 seed:11", f"{PLAY} bars:4 seed:12", f"{PLAY} bars:4 seed:13"
    ids = {text: await rig.command(first, text, user) for text, user in ((long, "U1"), (short, "U2"), (last, "U3"))}
    # Each job's progress message is posted and its ts recorded before the kill (so the kill tests the jobs).
    await rig.slack.wait_for("chat.postMessage", timeout=30, count=3)
    await wait_for(lambda: all(r["delivery"].count('"ts"') for r in jobs(first.db_path).values()), 30,
                   "the progress messages' ts to be recorded")
    await wait_for(lambda: jobs(first.db_path)[long]["status"] == "running", JOB_S, "the first job to start")
    assert await asyncio.to_thread(first.stop, kill=True) == -9
    rows = jobs(first.db_path)
    assert [rows[text]["status"] for text in ids] == ["running", "queued", "queued"], rows

    # The worker finishes the job while no bot is there; its result waits in the broker.
    await wait_for(lambda: rig.events(ids[long], "finished"), JOB_S, "the worker to finish the job")
    assert not rig.posted(long)

    second = await rig.start_bot(data)
    for text in ids:
        def shares(c: Call, t: str = text) -> bool:
            return f"`{t}`" in str(c.params.get("initial_comment", ""))

        await rig.slack.wait_for("files.completeUploadExternal", shares, timeout=JOB_S)
    assert await asyncio.to_thread(second.stop) == 0  # a clean stop: nothing can be posted after it
    rows = jobs(second.db_path)
    for text, job_id in ids.items():
        assert rows[text]["status"] == "done", rows[text]
        assert len(rig.posted(text)) == 1, f"{text!r} was posted {len(rig.posted(text))} times"
        assert len(rig.messages(text)) == 1, f"{text!r} had {len(rig.messages(text))} progress messages"
        assert '"unposted"' not in rows[text]["delivery"]
        assert len(rig.events(job_id, "started")) == 1  # run once: a restart hands the broker no job twice
    (message,) = [m for m in rig.slack.messages.values() if f"`{long}`" in m["text"]]
    assert "Done" in message["text"]  # the message posted before the kill, edited by the restarted bot
    shared = [f for f in rig.slack.files.values() if f.title and f.title.startswith("Melody")]
    audio = [f.data for f in shared if f.filename.endswith(".ogg")]
    assert len(audio) == 4 and all(a.startswith(b"OggS") for a in audio)  # 2 + 1 + 1 outputs


async def test_a_bot_killed_while_posting_a_result_posts_it_once_after_its_restart(rig: Rig) -> None:
    data = rig.folder / "killed-while-posting"
    release = rig.slack.release = asyncio.Event()
    first = await rig.start_bot(data)
    text = f"{PLAY} bars:4 seed:21"
    job_id = await rig.command(first, text, "U4")
    await rig.slack.wait_for("upload.held", timeout=JOB_S)  # the job is done; the bot is sending its files
    assert await asyncio.to_thread(first.stop, kill=True) == -9
    assert jobs(first.db_path)[text]["status"] == "done"
    release.set()  # the held upload is answered to no one: nothing was shared
    assert not rig.posted(text)

    second = await rig.start_bot(data)
    await rig.slack.wait_for("files.completeUploadExternal", lambda c: f"`{text}`" in
                             str(c.params.get("initial_comment", "")), timeout=JOB_S)
    assert await asyncio.to_thread(second.stop) == 0
    assert len(rig.posted(text)) == 1
    assert len(rig.messages(text)) == 1
    assert len(rig.events(job_id, "started")) == 1
    (message,) = [m for m in rig.slack.messages.values() if f"`{text}`" in m["text"]]
    assert "Done" in message["text"]
