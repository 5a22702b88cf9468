"""Hostile requests to the Slack front end: the real SlackFrontEnd and slack-bolt on our aiohttp app over
127.0.0.1, a stand-in Slack Web API, a real Service on SQLite (no model worker: nothing here reaches a model)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from slack_standin import SlackStandIn, signed_slash_command, slack_signature

from bot.adapters.slack_bot import ReplayGuard, SlackFrontEnd
from bot.service import Service
from bot.settings import Settings
from bot.store import JobStore
from bot.web.app import create_app
from generation.jobs.embedded import EmbeddedQueue

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "e0c9a4c1d2b3a4f5e6d7c8b9a0f1e2d3"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Rig:
    slack: SlackStandIn
    service: Service
    front: SlackFrontEnd
    http: aiohttp.ClientSession
    url: str

    async def post(self, body: str | bytes, headers: dict[str, str]) -> tuple[int, str, float, dict[str, str]]:
        start = time.monotonic()
        async with self.http.post(f"{self.url}/slack/events", data=body, headers=headers) as resp:
            return resp.status, await resp.text(), time.monotonic() - start, dict(resp.headers)

    async def jobs(self) -> int:
        async with self.service.store.db.execute("SELECT COUNT(*) FROM jobs") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    data = tmp_path_factory.mktemp("slack-hostile")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    slack = SlackStandIn()
    await slack.start()
    settings = Settings(host="127.0.0.1", port=port, data_dir=data, slack_bot_token=slack.bot_token,
                        slack_signing_secret=SECRET, slack_api_base=slack.api_base)
    service = Service(settings, JobStore(data / "jobs.sqlite3"), EmbeddedQueue(workers=0))
    await service.start()
    front = SlackFrontEnd(settings, service)
    runner = web.AppRunner(create_app(service, front.routes()))
    await runner.setup()
    await web.SockSite(runner, sock).start()
    http = aiohttp.ClientSession()
    try:
        yield Rig(slack, service, front, http, f"http://127.0.0.1:{port}")
    finally:
        await http.close()
        await front.close()
        await runner.cleanup()
        await service.stop()
        await slack.close()


def _signed_with(timestamp: str, body: str) -> dict[str, str]:
    return {**FORM, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": slack_signature(SECRET, timestamp,
                                                                                                    body)}


BODY, _ = signed_slash_command(SECRET, "/improv", "C G Am F", user_id="U0BAD")


def bad_headers() -> dict[str, dict[str, str]]:
    """Each case's headers, signed now: built when a test runs, so "10 minutes ahead" is still ahead of the clock
    however long the suite has been running (slack-bolt accepts 5 minutes either way)."""
    _, good = signed_slash_command(SECRET, "/improv", "C G Am F", user_id="U0BAD")
    now = str(int(time.time()))
    return {
        "timestamp abc": _signed_with("abc", BODY),
        "timestamp empty": _signed_with("", BODY),
        "timestamp 1e3": _signed_with("1e3", BODY),
        "timestamp with a sign": _signed_with("+" + now, BODY),
        "timestamp in Arabic digits": {**_signed_with(now, BODY), "X-Slack-Request-Timestamp": "١٢٣٤"},
        "timestamp of 400 digits": _signed_with("9" * 400, BODY),
        "timestamp 10 minutes old": _signed_with(str(int(time.time()) - 600), BODY),
        "timestamp 10 minutes ahead": _signed_with(str(int(time.time()) + 600), BODY),
        "no timestamp header": {k: v for k, v in good.items() if k != "X-Slack-Request-Timestamp"},
        "no signature header": {k: v for k, v in good.items() if k != "X-Slack-Signature"},
        "no headers at all": FORM,
        "wrong signature": {**good, "X-Slack-Signature": "v0=" + "0" * 64},
        "signature not hex": {**good, "X-Slack-Signature": "v0=" + "z" * 64},
        "signature not v0": {**good, "X-Slack-Signature": good["X-Slack-Signature"].replace("v0=", "v1=")},
        "signature with non-ASCII": {**good, "X-Slack-Signature": "v0=é"},
        "another app's secret": signed_slash_command("not-our-secret", "/improv", "C G Am F", user_id="U0BAD")[1],
    }


@pytest.mark.parametrize("case", list(bad_headers()))
async def test_bad_or_missing_timestamps_and_signatures_get_a_short_401_and_start_nothing(rig: Rig,
                                                                                          case: str) -> None:
    jobs, posts = await rig.jobs(), len(rig.slack.of("chat.postMessage"))
    status, text, _, _ = await rig.post(BODY, bad_headers()[case])
    assert status in (400, 401), (status, text)
    assert text.startswith("Slack request refused") and len(text) < 200, text
    assert "Traceback" not in text and "Error" not in text
    await asyncio.sleep(0.05)
    assert await rig.jobs() == jobs
    assert len(rig.slack.of("chat.postMessage")) == posts


async def test_a_body_changed_after_signing_is_refused(rig: Rig) -> None:
    jobs = await rig.jobs()
    body, headers = signed_slash_command(SECRET, "/improv", "C G Am F", user_id="U0BAD")
    status, text, _, _ = await rig.post(body.replace("C+G", "F+G"), headers)
    assert status == 401 and "signature does not match" in text
    assert await rig.jobs() == jobs


async def test_a_replayed_signed_request_makes_no_second_job(rig: Rig) -> None:
    jobs, posts = await rig.jobs(), len(rig.slack.of("chat.postMessage"))
    body, headers = signed_slash_command(SECRET, "/improv", "C G Am F seed:3", user_id="U0REPLAY")
    status, text, _, _ = await rig.post(body, headers)
    assert status == 200 and "Working on it" in text
    assert await rig.jobs() == jobs + 1
    await rig.slack.wait_for("chat.postMessage", count=posts + 1, timeout=10)
    for _ in range(3):  # the same bytes again, well inside Slack's 5-minute window
        status, text, _, _ = await rig.post(body, headers)
        assert status == 401 and "already received" in text, text
    await asyncio.sleep(0.2)
    assert await rig.jobs() == jobs + 1
    assert len(rig.slack.of("chat.postMessage")) == posts + 1


async def test_slack_retries_are_acknowledged_without_a_job(rig: Rig) -> None:
    jobs = await rig.jobs()
    body, headers = signed_slash_command(SECRET, "/improv", "C G Am F seed:4", user_id="U0RETRY")
    retry = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    status, text, took, answer = await rig.post(body, retry)
    assert status == 200 and took < 3.0
    assert answer.get("X-Slack-No-Retry") == "1"
    await asyncio.sleep(0.2)
    assert await rig.jobs() == jobs


async def test_a_signed_1_mb_text_is_refused_within_3_s_with_a_clear_message(rig: Rig) -> None:
    jobs = await rig.jobs()
    body, headers = signed_slash_command(SECRET, "/improv", "C" * 1_000_000, user_id="U0HUGE")
    status, text, took, _ = await rig.post(body, headers)
    assert status == 413 and took < 3.0, (status, took)
    assert "at most 4,000 characters" in text and len(text) < 200
    async with rig.http.get(f"{rig.url}/healthz") as health:  # still answering
        assert health.status == 200
    assert await rig.jobs() == jobs


async def test_a_streamed_body_without_a_length_is_cut_off_at_the_cap(rig: Rig) -> None:
    async def endless() -> AsyncIterator[bytes]:
        for _ in range(200):  # 12.8 MB if nobody stopped reading
            yield b"text=" + b"C" * 64_000

    status, text, took, _ = await rig.post(endless(), FORM)  # type: ignore[arg-type]  # aiohttp streams it
    assert status == 413 and took < 3.0 and "at most 4,000 characters" in text


async def test_a_signed_text_over_4000_characters_gets_the_length_message_in_the_ack(rig: Rig) -> None:
    jobs = await rig.jobs()
    body, headers = signed_slash_command(SECRET, "/improv", "C " * 10_000, user_id="U0LONG")
    assert len(body) < 64 * 1024  # under the body cap: Slack shows the user this ack
    status, text, took, _ = await rig.post(body, headers)
    assert status == 200 and took < 3.0
    assert "20,007 characters long" in text and "at most 4,000" in text, text[:300]
    assert "C C C C" not in text  # the text is not echoed back at the user
    assert await rig.jobs() == jobs


async def test_refused_bodies_are_logged_as_a_short_prefix_and_the_size(rig: Rig,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # as `python -m bot` logs, set before its front end exists (bolt copies it)
    front = SlackFrontEnd(rig.service.settings, rig.service)
    runner = web.AppRunner(web.Application())
    runner.app.add_routes(front.routes())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    secret_looking = "text=" + "Z" * 40_000
    forged = {**FORM, "X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "1" * 64}
    try:
        for headers in (FORM, forged):
            async with rig.http.post(url, data=secret_looking, headers=headers) as resp:
                assert resp.status == 401
    finally:
        await runner.cleanup()
        await front.close()
        rig.service.register_deliverer("slack", rig.front.deliver)
    messages = [r.getMessage() for r in caplog.records]
    assert max((m.count("Z") for m in messages), default=0) <= 100, "a refused body was logged at length"
    refused = [m for m in messages if "refused" in m]
    assert len(refused) == 2 and all("40005 bytes" in m for m in refused), refused


async def test_replay_memory_is_bounded_and_forgets_after_the_window() -> None:
    guard = ReplayGuard(window_s=300, limit=1000)
    now = 1_700_000_000.0
    for n in range(5000):
        assert guard.first_time(f"v0={n:064x}", int(now), now)
    assert len(guard) <= 1000
    assert not guard.first_time(f"v0={4999:064x}", int(now), now)  # recent ones are still refused
    assert guard.first_time(f"v0={4999:064x}", int(now), now + 301)  # and forgotten once stale anyway
    assert len(guard) == 1
