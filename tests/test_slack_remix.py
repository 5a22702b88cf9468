"""Slack's remixes end to end: real slack-bolt on our aiohttp app (HTTP mode, signed requests), the stand-in Slack
Web API, a real Service on SQLite and a real worker. A result is a Block Kit message with its piano roll and
buttons; a button press becomes a job posted as a new result; a reply in a result's thread remixes it; Star and
/history answer privately.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_standin import SlackStandIn, signed_block_action, signed_event, signed_slash_command

from bot.adapters.slack_bot import SlackFrontEnd
from bot.history import History
from bot.service import Service
from bot.settings import Settings
from bot.store import JobStore
from bot.web.app import create_app
from generation.jobs.embedded import EmbeddedQueue

pytestmark = [
    pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth binary not on PATH"),
    pytest.mark.asyncio(loop_scope="module"),
]

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
USER = "U0MIX"
JOB_WAIT_S = 120.0


@dataclass
class Rig:
    slack: SlackStandIn
    service: Service
    http: aiohttp.ClientSession
    url: str

    async def post(self, signed: tuple[str, dict[str, str]]) -> tuple[int, str]:
        body, headers = signed
        async with self.http.post(f"{self.url}/slack/events", data=body, headers=headers) as resp:
            return resp.status, await resp.text()

    async def result(self, job_ts: str) -> dict[str, Any]:
        """The message `job_ts` once it shows a finished job."""
        await self.slack.wait_for("chat.update", lambda c: c.params.get("ts") == job_ts
                                  and ("Done" in c.params.get("text", "") or "Failed" in c.params.get("text", "")),
                                  timeout=JOB_WAIT_S)
        return self.slack.messages[job_ts]

    async def next_post(self, before: int) -> str:
        """The ts of the next progress message the bot posts after `before` posts."""
        await self.slack.wait_for("chat.postMessage", count=before + 1, timeout=30)
        return list(self.slack.messages)[before]  # the stand-in keeps messages in the order they were posted


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    data = tmp_path_factory.mktemp("slack-remix")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    slack = SlackStandIn()
    await slack.start()
    settings = Settings(host="127.0.0.1", port=port, data_dir=data, slack_bot_token=slack.bot_token,
                        slack_signing_secret=SECRET, slack_api_base=slack.api_base, job_timeout_s=90,
                        rate_limit_per_minute=100, max_active_per_user=10)
    service = Service(settings, JobStore(data / "jobs.sqlite3"), EmbeddedQueue(workers=1, job_timeout_s=90))
    await service.start()
    front = SlackFrontEnd(settings, service)
    runner = web.AppRunner(create_app(service, front.routes()))
    await runner.setup()
    await web.SockSite(runner, sock).start()
    http = aiohttp.ClientSession()
    try:
        yield Rig(slack, service, http, f"http://127.0.0.1:{port}")
    finally:
        await http.close()
        await front.close()
        await runner.cleanup()
        await service.stop()
        await slack.close()


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """action_id -> the job id a result message's buttons carry."""
    return {e["action_id"]: e["value"] for b in message.get("blocks", []) if b["type"] == "actions"
            for e in b["elements"]}


async def job_of(rig: Rig, ts: str) -> str:
    job = await History(rig.service.store).by_message("slack", "C0CHAN", ts)
    assert job is not None
    return job


@pytest.fixture(scope="module")
async def melody(rig: Rig) -> tuple[str, dict[str, Any]]:
    """/melody typed in Slack, followed to its result: (its message ts, the message)."""
    before = len(rig.slack.of("chat.postMessage"))
    status, _ = await rig.post(signed_slash_command(SECRET, "/melody", "C4 - E4 - G4 - C5 - bars:2 seed:4",
                                                    user_id=USER))
    assert status == 200
    ts = await rig.next_post(before)
    return ts, await rig.result(ts)


async def test_a_result_is_a_block_kit_message_with_its_piano_roll_and_buttons(
        rig: Rig, melody: tuple[str, dict[str, Any]]) -> None:
    ts, message = melody
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds == ["section", "image", "context", "actions"], kinds
    image = message["blocks"][1]["image_url"]
    assert image.startswith(rig.url + "/s/") and image.endswith(".png")
    async with rig.http.get(image) as res:
        assert res.status == 200 and (await res.read()).startswith(b"\x89PNG")
    job = await job_of(rig, ts)
    assert buttons(message) == {f"ts_{a}": job for a in ("again", "vary", "longer", "harmonise", "star")}


async def test_a_button_press_posts_a_new_result(rig: Rig, melody: tuple[str, dict[str, Any]]) -> None:
    ts, message = melody
    before = len(rig.slack.of("chat.postMessage"))
    status, _ = await rig.post(signed_block_action(SECRET, "ts_longer", buttons(message)["ts_longer"],
                                                   user_id=USER, message_ts=ts))
    assert status == 200
    new_ts = await rig.next_post(before)
    assert new_ts != ts
    result = await rig.result(new_ts)
    assert "`/melody bars:4 seed:" in result["text"] and "Done" in result["text"], result["text"]
    assert buttons(result), "the new result has buttons of its own"


async def test_a_reply_in_the_thread_remixes_the_result(rig: Rig, melody: tuple[str, dict[str, Any]]) -> None:
    ts, _ = melody
    before = len(rig.slack.of("chat.postMessage"))
    status, _ = await rig.post(signed_event(SECRET, {"type": "message", "channel": "C0CHAN", "user": USER,
                                                     "text": "temperature:1.2", "ts": "9999.000001",
                                                     "thread_ts": ts}))
    assert status == 200
    result = await rig.result(await rig.next_post(before))
    assert "/melody C4 - E4 - G4 - C5 - bars:2 temperature:1.2 seed:4" in result["text"], result["text"]

    status, _ = await rig.post(signed_event(SECRET, {"type": "message", "channel": "C0CHAN", "user": USER,
                                                     "text": "transpose:+2", "ts": "9999.000002",
                                                     "thread_ts": ts}))
    told = await rig.slack.wait_for("chat.postEphemeral", lambda c: "transpose" in c.params.get("text", ""))
    assert told[0].params["thread_ts"] == ts and told[0].params["user"] == USER
    assert "'transpose' is not an option of /melody" in told[0].params["text"]

    posts = len(rig.slack.of("chat.postMessage"))
    await rig.post(signed_event(SECRET, {"type": "message", "channel": "C0CHAN", "user": USER, "text": "bars:8",
                                         "ts": "9999.000003", "thread_ts": "1234.000001"}))
    await asyncio.sleep(0.5)
    assert len(rig.slack.of("chat.postMessage")) == posts, "a thread under something else is not a remix"


async def test_star_and_history_answer_privately(rig: Rig, melody: tuple[str, dict[str, Any]]) -> None:
    ts, message = melody
    await rig.post(signed_block_action(SECRET, "ts_star", buttons(message)["ts_star"], user_id=USER, message_ts=ts))
    told = await rig.slack.wait_for("chat.postEphemeral", lambda c: "Starred" in c.params.get("text", ""))
    assert told[0].params["user"] == USER
    status, ack = await rig.post(signed_slash_command(SECRET, "/history", "starred", user_id=USER))
    text = json.loads(ack)["text"] if ack.startswith("{") else ack
    assert status == 200 and "\u2605 /melody C4 - E4 - G4 - C5 - bars:2 seed:4" in text, text
