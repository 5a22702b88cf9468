"""Slack's remixes end to end: real slack-bolt on our aiohttp app (HTTP mode, signed requests), the stand-in Slack
Web API, a real Service on SQLite and a real worker. A result is a Block Kit message with its piano roll and
buttons; a button press becomes a job posted as a new result (Add drums and Arrange built on the tune); a reply in
a result's thread remixes it; Star and /history answer privately. A command works where the bot was never
invited: a public channel is joined to share the files, and in a private channel the result comes through the
command's response_url.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pretty_midi
import pytest
from aiohttp import web
from botproc import TEST_WARM
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
                        share_base_url=f"http://127.0.0.1:{port}",  # public: Slack may fetch the piano roll
                        rate_limit_per_minute=100, max_active_per_user=10)
    queue = EmbeddedQueue(workers=1, warm_configs=(TEST_WARM,), job_timeout_s=90)
    service = Service(settings, JobStore(data / "jobs.sqlite3"), queue)
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
    assert buttons(message) == {f"ts_{a}": job for a in ("again", "vary", "longer", "harmonise", "drums", "arrange",
                                                         "star")}


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


def midi_uploads(rig: Rig) -> list[pretty_midi.PrettyMIDI]:
    """Every MIDI file the bot has uploaded, in order (one worker: jobs finish one after another)."""
    return [pretty_midi.PrettyMIDI(io.BytesIO(c.body)) for c in rig.slack.of("upload") if c.filename.endswith(".mid")]


def tune_and_kit(midi: pretty_midi.PrettyMIDI) -> tuple[list[int], int, int]:
    """(pitched notes' pitches in time order, how many drum notes, how many pitched parts)."""
    tune = sorted((n for i in midi.instruments if not i.is_drum for n in i.notes), key=lambda n: (n.start, n.pitch))
    kit = sum(len(i.notes) for i in midi.instruments if i.is_drum)
    return [n.pitch for n in tune], kit, sum(1 for i in midi.instruments if not i.is_drum and i.notes)


async def test_add_drums_and_arrange_post_new_results_built_on_the_tune(
        rig: Rig, melody: tuple[str, dict[str, Any]]) -> None:
    """Add drums keeps the melody note for note and adds a drum part; Arrange makes a band of it (more parts,
    drums among them). Neither result offers Add drums again: both have drums."""
    ts, message = melody
    tune = tune_and_kit(midi_uploads(rig)[0])[0]  # the melody fixture's job ran first
    assert tune and "seed:4" in message["text"]
    for action, command in (("ts_drums", "/drumify keep:on"), ("ts_arrange", "/arrange")):
        before, files = len(rig.slack.of("chat.postMessage")), len(midi_uploads(rig))
        status, _ = await rig.post(signed_block_action(SECRET, action, buttons(message)[action], user_id=USER,
                                                       message_ts=ts))
        assert status == 200
        result = await rig.result(await rig.next_post(before))
        assert f"`{command}" in result["text"] and "Done" in result["text"], result["text"]
        pitches, kit, parts = tune_and_kit(midi_uploads(rig)[files])
        assert kit > 0, f"{action}: no drum part"
        if action == "ts_drums":
            assert pitches == tune and parts == 1, "the melody, note for note, and nothing else pitched"
        else:
            assert parts >= 2 and set(tune) <= set(pitches), (parts, tune, pitches)
        assert "ts_drums" not in buttons(result) and "ts_again" in buttons(result), buttons(result)


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
                                                     "text": "tempo:90", "ts": "9999.000002",
                                                     "thread_ts": ts}))
    told = await rig.slack.wait_for("chat.postEphemeral", lambda c: "tempo" in c.params.get("text", ""))
    assert told[0].params["thread_ts"] == ts and told[0].params["user"] == USER
    assert "'tempo' is not an option of /melody" in told[0].params["text"]

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


async def test_in_a_public_channel_it_has_not_joined_the_bot_joins_to_share_the_files(rig: Rig) -> None:
    rig.slack.not_joined.add("C0PUBLIC")
    before = len(rig.slack.of("chat.postMessage"))
    status, _ = await rig.post(signed_slash_command(SECRET, "/drums", "bars:1 seed:2", user_id=USER,
                                                    channel_id="C0PUBLIC", response_url=rig.slack.response_url("pub")))
    assert status == 200
    ts = await rig.next_post(before)  # chat:write.public: the progress message needs no invitation
    result = await rig.result(ts)
    assert "Done" in result["text"] and "could not be attached" not in result["text"], result["text"]
    assert [c.params["channel"] for c in rig.slack.of("conversations.join")] == ["C0PUBLIC"]
    shared = [c for c in rig.slack.of("files.completeUploadExternal") if c.params.get("channel_id") == "C0PUBLIC"]
    assert len(shared) == 2, "refused (not in the channel), then shared after joining"
    assert {f.filename.rsplit(".", 1)[1] for f in rig.slack.files.values() if f.title} >= {"mid", "ogg", "png"}
    assert not [c for c in rig.slack.of("response_url") if c.params["url_name"] == "pub"]


async def test_in_a_private_channel_the_result_comes_through_the_response_url(rig: Rig) -> None:
    rig.slack.private.add("G0SECRET")
    posts = len(rig.slack.of("chat.postMessage"))
    status, _ = await rig.post(signed_slash_command(SECRET, "/melody", "E4 - G4 - bars:2 seed:6", user_id=USER,
                                                    channel_id="G0SECRET",
                                                    response_url=rig.slack.response_url("secret")))
    assert status == 200
    [answer] = await rig.slack.wait_for("response_url", lambda c: c.params["url_name"] == "secret",
                                        timeout=JOB_WAIT_S)
    assert answer.params["response_type"] == "in_channel", answer.params
    text = answer.params["text"]
    assert "`/melody E4 - G4 - bars:2 seed:6`: Done" in text and "/s/" in text and "share page" in text, text
    kinds = [b["type"] for b in answer.params["blocks"]]
    assert kinds == ["section", "image", "context", "actions"], kinds
    job = buttons(answer.params)["ts_again"]
    tries = [c for c in rig.slack.of("chat.postMessage")[posts:] if c.params["channel"] == "G0SECRET"]
    assert len(tries) == 1, "refused once (not a member, cannot join), then never tried again for this job"
    assert [c.params["channel"] for c in rig.slack.of("conversations.join")].count("G0SECRET") == 1
    assert not [c for c in rig.slack.of("chat.postEphemeral") if c.params.get("channel") == "G0SECRET"
                and "refused" in c.params.get("text", "")]

    # a button under that message: the new result goes through the press's own response_url
    status, _ = await rig.post(signed_block_action(SECRET, "ts_again", job, user_id=USER, channel_id="G0SECRET",
                                                   response_url=rig.slack.response_url("again")))
    [again] = await rig.slack.wait_for("response_url", lambda c: c.params["url_name"] == "again",
                                       timeout=JOB_WAIT_S)
    assert "`/melody E4 - G4 - bars:2 seed:" in again.params["text"] and "Done" in again.params["text"]
    assert buttons(again.params)["ts_again"] != job, "a new job, with buttons of its own"
    # Star answers the user alone, through the response_url (chat.postEphemeral cannot reach that channel)
    await rig.post(signed_block_action(SECRET, "ts_star", job, user_id=USER, channel_id="G0SECRET",
                                       response_url=rig.slack.response_url("star")))
    [star] = await rig.slack.wait_for("response_url", lambda c: c.params["url_name"] == "star", timeout=10)
    assert star.params["response_type"] == "ephemeral" and "Starred" in star.params["text"], star.params
