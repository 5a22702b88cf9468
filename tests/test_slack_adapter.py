"""The Slack front end end to end: real slack-bolt on our aiohttp app, a stand-in Slack Web API on 127.0.0.1,
a real Service (SQLite) and one real model worker (generation + FluidSynth)."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pretty_midi
import pytest
from aiohttp import web
from blockbuster import blockbuster_ctx
from botproc import TEST_WARM
from slack_standin import SlackStandIn, signed_slash_command, slash_command_envelope

from bot.adapters.slack_bot import SlackFrontEnd
from bot.commands import help_text
from bot.service import Service
from bot.settings import Settings
from bot.store import JobRecord, JobStore
from bot.web.app import create_app
from generation.jobs.embedded import EmbeddedQueue

pytestmark = [
    pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth binary not on PATH"),
    pytest.mark.asyncio(loop_scope="module"),  # one loop for the module-scoped worker-backed service
]

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class Rig:
    """Everything the tests talk to, on the module's event loop."""

    slack: SlackStandIn
    service: Service
    front: SlackFrontEnd
    http: aiohttp.ClientSession
    url: str

    async def post(self, body: str, headers: dict[str, str]) -> tuple[int, str, float]:
        start = time.monotonic()
        async with self.http.post(f"{self.url}/slack/events", data=body, headers=headers) as resp:
            return resp.status, await resp.text(), time.monotonic() - start

    async def ack_text(self, command: str, text: str) -> str:
        body, headers = signed_slash_command(SECRET, command, text)
        async with self.http.post(f"{self.url}/slack/events", data=body, headers=headers) as resp:
            status, text = resp.status, await resp.text()
            json_body = resp.content_type == "application/json"
        assert status == 200
        return str(json.loads(text)["text"]) if json_body else text  # bolt answers a bare text ack as text/plain

    async def jobs(self) -> int:
        async with self.service.store.db.execute("SELECT COUNT(*) FROM jobs") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    data = tmp_path_factory.mktemp("slack")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound first, so share links carry the real port
    port = sock.getsockname()[1]
    slack = SlackStandIn()
    await slack.start()
    settings = Settings(host="127.0.0.1", port=port, data_dir=data, slack_bot_token=slack.bot_token,
                        slack_signing_secret=SECRET, slack_api_base=slack.api_base, slack_app_token=slack.app_token,
                        job_timeout_s=90)
    queue = EmbeddedQueue(workers=1, warm_configs=(TEST_WARM,), job_timeout_s=90)
    service = Service(settings, JobStore(data / "jobs.sqlite3"), queue)
    await service.start()
    front = SlackFrontEnd(settings, service)
    runner = web.AppRunner(create_app(service, front.routes()))
    await runner.setup()
    await web.SockSite(runner, sock).start()
    http = aiohttp.ClientSession()
    try:
        async with asyncio.timeout(120):  # the worker loads TensorFlow and the model
            await queue.ready.wait()
        yield Rig(slack, service, front, http, f"http://127.0.0.1:{port}")
    finally:
        await http.close()
        await front.close()
        await runner.cleanup()
        await service.stop()
        await slack.close()


async def test_improv_acks_then_posts_progress_and_uploads_audio_midi_and_pianoroll(rig: Rig) -> None:
    slack = rig.slack
    body, headers = signed_slash_command(SECRET, "/improv", "C G Am F primer:60", user_id="U0AMY")
    with blockbuster_ctx(scanned_modules=["bot"]):  # the adapter never blocks the loop (file reads included)
        status, ack, took = await rig.post(body, headers)
        assert status == 200 and took < 3.0
        assert "Working on it" in ack

        posted = (await slack.wait_for("chat.postMessage", timeout=15))[0]
        assert posted.params["channel"] == "C0CHAN" and "<@U0AMY>" in posted.params["text"]
        complete = (await slack.wait_for("files.completeUploadExternal", timeout=120))[0]
        done = (await slack.wait_for("chat.update", lambda c: "Done" in c.params.get("text", ""), timeout=15))[0]

    progress = [c.params["text"] for c in slack.of("chat.update") if c is not done]
    assert any("Generating" in t or "Rendering" in t for t in progress), progress

    uploads = {c.filename: c.body for c in slack.of("upload")}
    assert sorted(Path(n).suffix for n in uploads) == [".mid", ".ogg", ".png"]
    ogg = next(b for n, b in uploads.items() if n.endswith(".ogg"))
    png = next(b for n, b in uploads.items() if n.endswith(".png"))
    mid = next(b for n, b in uploads.items() if n.endswith(".mid"))
    assert ogg.startswith(b"OggS") and len(ogg) > 10_000
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    midi = pretty_midi.PrettyMIDI(io.BytesIO(mid))
    assert midi.get_end_time() == pytest.approx(8.0, abs=0.05)  # 4 chords x 1 bar at 120 qpm
    melody = next(i for i in midi.instruments if i.name == "Melody")
    assert melody.notes[0].pitch == 60 and melody.notes[0].start == 0.0  # the primer

    assert complete.params["channel_id"] == "C0CHAN"
    view = await rig.service.view_by_share_token(done.params["text"].split("/s/")[1].split()[0])
    assert view is not None and view.status == "done"
    recipe = complete.params["initial_comment"]
    assert view.share_url in recipe and f"seed {view.seed}" in recipe and view.model in recipe
    assert "C G Am F primer:60" in recipe
    async with rig.http.get(view.share_url) as page:  # the link a user clicks works
        assert page.status == 200
    # Enough is stored to deliver after a restart: channel, user and the progress message.
    assert view.delivery["channel"] == "C0CHAN" and view.delivery["user"] == "U0AMY"
    assert {c.params["ts"] for c in slack.of("chat.update")} == {view.delivery["ts"]}  # one message, edited


async def test_unsigned_forged_or_stale_requests_get_401_and_start_nothing(rig: Rig) -> None:
    jobs, posts = await rig.jobs(), len(rig.slack.of("chat.postMessage"))
    body, headers = signed_slash_command(SECRET, "/improv", "C G Am F")
    unsigned = {"Content-Type": headers["Content-Type"]}
    forged = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
    _, wrong_secret = signed_slash_command("not-the-secret", "/improv", "C G Am F")
    stale_body, stale = signed_slash_command(SECRET, "/improv", "C G Am F", timestamp=time.time() - 600)
    for b, h in ((body, unsigned), (body, forged), (body, wrong_secret), (stale_body, stale)):
        status, _, _ = await rig.post(b, h)
        assert status == 401
    await asyncio.sleep(0.2)
    assert await rig.jobs() == jobs
    assert len(rig.slack.of("chat.postMessage")) == posts


async def test_bad_chord_is_pointed_at_in_the_ack_and_starts_nothing(rig: Rig) -> None:
    jobs = await rig.jobs()
    text = await rig.ack_text("/improv", "C H7")
    assert "'H7'" in text and "Accepted" in text
    assert "```\n/improv C H7\n          ^^\n```" in text
    assert await rig.jobs() == jobs


async def test_help_answers_with_the_help_text(rig: Rig) -> None:
    jobs = await rig.jobs()
    assert help_text() in await rig.ack_text("/help", "")
    assert await rig.jobs() == jobs


async def test_socket_mode_acks_over_the_websocket(rig: Rig) -> None:
    jobs = await rig.jobs()
    await rig.front.start_socket_mode()
    try:
        await rig.slack.socket_send(slash_command_envelope("/help", "", envelope_id="env-help"))
        await rig.slack.socket_send(slash_command_envelope("/improv", "C H7", envelope_id="env-bad"))
        acks = {c.params["envelope_id"]: c.params.get("payload", {}).get("text", "")
                for c in await rig.slack.wait_for("socket.ack", count=2, timeout=10)}
        assert help_text() in acks["env-help"]
        assert "'H7'" in acks["env-bad"] and "^^" in acks["env-bad"]
        assert await rig.jobs() == jobs
    finally:
        await rig.front.close()


async def test_a_job_from_before_a_restart_edits_its_stored_message_with_the_error(rig: Rig) -> None:
    """What the service does for a job it resumed: the deliverer finds the message from `delivery` alone."""
    earlier = await rig.front.client.chat_postMessage(channel="C0OLD", text="`/improv C F` Queued")
    posts = len(rig.slack.of("chat.postMessage"))
    record = JobRecord(id=uuid.uuid4().hex, share_token=uuid.uuid4().hex, platform="slack", user_id="slack:U0OLD",
                       channel="C0OLD", command="/improv C F", request="{}", status="failed", stage="failed",
                       error="the model worker crashed (exit code -9) while making this; please try again",
                       delivery={"channel": "C0OLD", "user": "U0OLD", "ts": earlier["ts"]})
    await rig.service.store.add(record)
    view = await rig.service.view(record.id)
    assert view is not None
    await rig.front.deliver(view)
    update = rig.slack.of("chat.update")[-1]
    assert update.params["ts"] == earlier["ts"] and update.params["channel"] == "C0OLD"
    assert "Failed: the model worker crashed" in update.params["text"]
    assert len(rig.slack.of("chat.postMessage")) == posts


async def test_chorale_command_uploads_a_chorale(rig: Rig) -> None:
    slack = rig.slack
    before = len(slack.of("files.completeUploadExternal"))
    body, headers = signed_slash_command(SECRET, "/chorale", "G4 E4 C4 bars:1 seed:9", user_id="U0BACH")
    status, ack, _ = await rig.post(body, headers)
    assert status == 200 and "Working on it" in ack
    await slack.wait_for("files.completeUploadExternal", count=before + 1, timeout=120)
    mid = [c.body for c in slack.of("upload") if c.filename.endswith(".mid")][-1]
    midi = pretty_midi.PrettyMIDI(io.BytesIO(mid))
    assert {n.pitch for i in midi.instruments for n in i.notes if n.start == 0} >= {67, 64, 60}
    assert midi.get_end_time() == pytest.approx(2.0, abs=0.01)
