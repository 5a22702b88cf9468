"""Discord's buttons under a result, end to end: real discord.py against the stand-in Discord, the real Service on
SQLite and a real worker. A button press becomes a job whose result is posted with its own buttons, Reply opens a
modal whose options remix the result, Star and /history answer privately, and buttons under a message posted
before the front end restarted still work (they are keyed on the stored job id, not on anything in memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import mido
import pretty_midi
import pytest
from discord_env import DiscordEnv, discord_env
from discord_standin import Call, DiscordStandIn, SentInteraction

from bot.adapters.discord_bot import DiscordFrontEnd

pytestmark = [
    pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth binary not on PATH"),
    pytest.mark.asyncio(loop_scope="module"),
]

JOB_WAIT_S = 120.0  # the first job includes the worker's start-up
USER = "1001"


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DiscordEnv]:
    async with discord_env(tmp_path_factory.mktemp("discord-remix"), rate_limit_per_minute=100,
                           max_active_per_user=10) as env:
        yield env


async def final(standin: DiscordStandIn, sent: SentInteraction) -> Call:
    """The edit of the deferred reply that carries the result's files (or says the job failed)."""
    return await standin.wait_for(lambda c: c.method == "PATCH" and f"/{sent.token}/" in c.path
                                  and (bool(c.files) or "Failed" in c.content), timeout=JOB_WAIT_S)


def buttons(call: Call) -> dict[str, str]:
    """label -> custom_id of the buttons a message was posted with."""
    return {b["label"]: b["custom_id"] for row in call.message.get("components", []) for b in row["components"]}


@pytest.fixture(scope="module")
async def melody(env: DiscordEnv) -> Call:
    sent = await env.standin.slash("melody", {"melody": "C4 - E4 - G4 - C5 -", "bars": 2, "seed": 4}, user_id=USER)
    return await final(env.standin, sent)


def pitches(call: Call) -> list[int]:
    """The pitches of a posted result's MIDI, in time order."""
    midi = pretty_midi.PrettyMIDI(io.BytesIO(next(b for n, b in call.files if n.endswith(".mid"))))
    return [n.pitch for n in sorted((n for i in midi.instruments for n in i.notes), key=lambda n: (n.start, n.pitch))]


async def press(env: DiscordEnv, message: Call, label: str) -> SentInteraction:
    return await env.standin.press(env.standin.posted(message), buttons(message)[label], user_id=USER)


async def test_a_result_is_posted_with_its_buttons(melody: Call) -> None:
    found = buttons(melody)
    assert list(found) == ["Again", "Vary", "Longer", "Harmonise this", "Add drums", "Arrange", "Reply",
                           "\u2606 Star"], found
    job = found["Again"].split(":")[2]
    assert all(custom_id.endswith(":" + job) for custom_id in found.values())


async def test_pressing_again_posts_a_new_result(env: DiscordEnv, melody: Call) -> None:
    sent = await press(env, melody, "Again")
    result = await final(env.standin, sent)
    assert env.standin.calls_for(sent)[0].body["type"] == 5, "a press is deferred at once, publicly"
    recipe = result.embeds[0]["description"]
    assert recipe.startswith("```\n/melody C4 - E4 - G4 - C5 - bars:2 seed:") and "seed:4\n" not in recipe, recipe
    assert sorted(name.rsplit(".", 1)[1] for name, _ in result.files) == ["mid", "ogg", "png"]
    assert "Again" in buttons(result), "the new result has buttons of its own"


async def test_reply_opens_a_modal_whose_options_remix_the_result(env: DiscordEnv, melody: Call) -> None:
    sent = await press(env, melody, "Reply")
    modal = await env.standin.wait_for(lambda c: f"/{sent.token}/" in c.path and c.path.endswith("/callback"))
    assert modal.body["type"] == 9 and modal.body["data"]["custom_id"].startswith("ts-reply:"), modal.body
    submitted = await env.standin.submit_modal(modal.body["data"]["custom_id"], {"text": "temperature:1.2"},
                                               user_id=USER)
    result = await final(env.standin, submitted)
    assert "/melody C4 - E4 - G4 - C5 - bars:2 temperature:1.2 seed:4" in result.text, result.text

    again = await press(env, melody, "Reply")  # a modal answers once: a second reply opens another
    await env.standin.wait_for(lambda c: f"/{again.token}/" in c.path and c.path.endswith("/callback"))
    bad = await env.standin.submit_modal(modal.body["data"]["custom_id"], {"text": "tempo:90"}, user_id=USER)
    answer = await env.standin.wait_for(lambda c: f"/{bad.token}" in c.path and c.method == "POST"
                                        and "/callback" not in c.path)
    assert answer.ephemeral and "'tempo' is not an option of /melody" in answer.content, answer.content

    third = await press(env, melody, "Reply")  # the example: the same piece, two semitones up
    await env.standin.wait_for(lambda c: f"/{third.token}/" in c.path and c.path.endswith("/callback"))
    up = await env.standin.submit_modal(modal.body["data"]["custom_id"], {"text": "transpose:+2"}, user_id=USER)
    result = await final(env.standin, up)
    assert "/melody C4 - E4 - G4 - C5 - bars:2 transpose:+2 seed:4" in result.text, result.text
    assert pitches(result) == [p + 2 for p in pitches(melody)]


def parts_of(call: Call) -> tuple[list[int], list[int], int]:
    """(pitched notes' pitches in time order, drum keys, how many notes the file plays on channel 10) of a posted
    MIDI."""
    data = next(b for n, b in call.files if n.endswith(".mid"))
    midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    tune = sorted((n for i in midi.instruments if not i.is_drum for n in i.notes), key=lambda n: (n.start, n.pitch))
    kit = [n.pitch for i in midi.instruments if i.is_drum for n in i.notes]
    written = mido.MidiFile(file=io.BytesIO(data))
    on_ten = sum(m.type == "note_on" and m.velocity > 0 and m.channel == 9 for t in written.tracks for m in t)
    return [n.pitch for n in tune], kit, on_ten


async def test_add_drums_keeps_the_tune_and_adds_a_drum_part(env: DiscordEnv, melody: Call) -> None:
    sent = await press(env, melody, "Add drums")
    result = await final(env.standin, sent)
    assert result.embeds[0]["description"].startswith("```\n/drumify keep:on https://tunesmith.test/s/"), result.text
    tune, kit, on_ten = parts_of(result)
    assert tune == pitches(melody), "the melody, note for note"
    assert kit and on_ten == len(kit), "a drum part, every note of it on channel 10 (and nothing else there)"
    assert "Add drums" not in buttons(result) and "Again" in buttons(result)


async def test_a_reply_that_mentions_the_bot_remixes_the_result(env: DiscordEnv, melody: Call) -> None:
    """No Message Content intent: the mention brings the text; the result is posted as a reply to the user."""
    standin = env.standin
    message = standin.posted(melody)

    def answers(sent: dict[str, Any]) -> Callable[[Call], bool]:  # a post in reply to the user's message `sent`
        return lambda c: str((c.body.get("message_reference") or {}).get("message_id")) == sent["id"]

    reply = await standin.reply(message, f"<@{standin.bot_id}> transpose:+2", user_id=USER)
    result = await standin.wait_for(lambda c: c.method == "POST" and c.path == f"/channels/{message['channel_id']}/"
                                    "messages" and answers(reply)(c) and bool(c.files), timeout=JOB_WAIT_S)
    assert "/melody C4 - E4 - G4 - C5 - bars:2 transpose:+2 seed:4" in result.text, result.text
    assert pitches(result) == [p + 2 for p in pitches(melody)]
    assert "Again" in buttons(result), "the remix has buttons of its own"

    harmonised = await standin.reply(message, f"<@!{standin.bot_id}> /harmonize", user_id=USER)
    result = await standin.wait_for(lambda c: answers(harmonised)(c) and bool(c.files), timeout=JOB_WAIT_S)
    assert result.text.count("/harmonize https://tunesmith.test/s/") == 1, result.text

    before = len(standin.calls)
    await standin.reply(message, "transpose:+2", user_id=USER, mention=False)  # not asked: left alone
    bad = await standin.reply(message, f"<@{standin.bot_id}> tempo:90", user_id=USER)
    told = await standin.wait_for(answers(bad))
    assert "'tempo' is not an option of /melody" in told.content and not told.files, told.content
    mine = standin.user_message("a tune", {})
    odd = await standin.reply(mine, f"<@{standin.bot_id}> again", user_id=USER)
    told = await standin.wait_for(answers(odd))
    assert "Reply to one of my results" in told.content
    answered = [c for c in standin.calls[before:] if c.body.get("message_reference")]
    assert len(answered) == 2, "the reply without a mention was not answered"


async def test_star_and_history_answer_privately(env: DiscordEnv, melody: Call) -> None:
    sent = await press(env, melody, "\u2606 Star")
    answer = await env.standin.wait_for(lambda c: f"/{sent.token}/" in c.path and c.path.endswith("/callback"))
    assert answer.ephemeral and "Starred" in answer.content
    sent = await env.standin.slash("history", {"starred": True}, user_id=USER)
    listing = await env.standin.wait_for(lambda c: f"/{sent.token}/" in c.path and c.path.endswith("/callback"))
    assert listing.ephemeral and "\u2605 /melody C4 - E4 - G4 - C5 - bars:2 seed:4" in listing.content, listing.content
    assert "https://tunesmith.test/s/" in listing.content


async def test_buttons_work_after_the_front_end_restarts(env: DiscordEnv, melody: Call) -> None:
    await env.front.close()
    env.standin.identified.clear()
    env.front = DiscordFrontEnd(env.settings, env.service)  # nothing of the old one's memory
    await env.front.start()
    await asyncio.wait_for(env.standin.identified.wait(), 30)
    sent = await press(env, melody, "Longer")
    result = await final(env.standin, sent)
    assert result.embeds[0]["description"].startswith("```\n/melody bars:4 seed:") and "/s/" in result.text, result.text


def worker_pids() -> list[int]:
    """This test process's `generation.worker` children (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid() and b"generation.worker" in (stat.parent / "cmdline").read_bytes():
                found.append(int(stat.parent.name))
    return found


async def test_a_failed_job_is_told_privately_with_again(env: DiscordEnv) -> None:
    sent = await env.standin.slash("improv", {"chords": "C G Am F", "bars": 16, "outputs": 4}, user_id=USER)
    await env.standin.wait_for(lambda c: c.method == "PATCH" and f"/{sent.token}/" in c.path
                               and ("Generating" in c.content or "Rendering" in c.content), timeout=JOB_WAIT_S)
    for pid in worker_pids():  # the model worker dies mid-job: the job fails
        os.kill(pid, signal.SIGKILL)
    told = await env.standin.wait_for(lambda c: c.method == "POST" and c.path.endswith(f"/{sent.token}")
                                      and "Failed" in c.content, timeout=JOB_WAIT_S)
    assert told.ephemeral and "worker crashed" in told.content, told.body
    assert list(buttons(told)) == ["Again"], "a failed job offers Again"
    calls = env.standin.calls_for(sent)
    deleted = [c for c in calls if c.method == "DELETE" and c.path.endswith("/messages/@original")]
    assert deleted and calls.index(deleted[0]) < calls.index(told), "the public reply goes before the private answer"
    assert not any("Failed" in c.content for c in calls if c.method == "PATCH"), "never shown publicly"
