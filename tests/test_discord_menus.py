"""Discord's message commands, end to end: "Harmonise this MIDI" and "Continue this MIDI" on a message someone
posted with a MIDI file (real discord.py against the stand-in Discord, the real Service on SQLite, a real worker).
The message's MIDI file becomes the job's file; a message without one is answered privately."""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator

import pretty_midi
import pytest
from discord_env import discord_env
from discord_standin import Call, DiscordStandIn, SentInteraction

pytestmark = [
    pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth binary not on PATH"),
    pytest.mark.asyncio(loop_scope="module"),
]

JOB_WAIT_S = 120.0  # the first job includes the worker's start-up
STEP_S = 0.125  # a 16th at 120 qpm
TUNE = [(p, 2 * i, 2 * i + 2) for i, p in enumerate([67, 64, 65, 62, 64, 60, 62, 67] * 2)]  # 2 bars of 8ths


@pytest.fixture(scope="module")
async def standin(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DiscordStandIn]:
    async with discord_env(tmp_path_factory.mktemp("discord-menus"), rate_limit_per_minute=100,
                           max_active_per_user=10) as env:
        yield env.standin


def tune_file() -> bytes:
    """Two bars of a piano melody at 120 qpm."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(0)
    piano.notes = [pretty_midi.Note(100, p, s * STEP_S, e * STEP_S) for p, s, e in TUNE]
    midi.instruments.append(piano)
    buf = io.BytesIO()
    midi.write(buf)
    return buf.getvalue()


async def final(standin: DiscordStandIn, sent: SentInteraction) -> Call:
    return await standin.wait_for(lambda c: c.method == "PATCH" and f"/{sent.token}/" in c.path
                                  and (bool(c.files) or "Failed" in c.content), timeout=JOB_WAIT_S)


def midi_of(call: Call) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(next(b for n, b in call.files if n.endswith(".mid"))))


async def test_the_menus_are_synced_as_message_commands(standin: DiscordStandIn) -> None:
    for name in ("Harmonise this MIDI", "Continue this MIDI"):
        assert standin.commands[name]["type"] == 3, standin.commands[name]  # MESSAGE: right-click a message
        assert not standin.commands[name].get("options") and not standin.commands[name].get("description")


async def test_harmonise_this_midi_harmonises_the_messages_file(standin: DiscordStandIn) -> None:
    message = standin.user_message("my tune", {"notes.txt": b"not music", "tune.mid": tune_file()})
    sent = await standin.message_command("Harmonise this MIDI", message, user_id="3001")
    result = await final(standin, sent)
    assert standin.calls_for(sent)[0].body["type"] == 5, "deferred at once, publicly"
    assert result.embeds[0]["description"].startswith("```\n/harmonize seed:"), result.text
    assert sorted(n.rsplit(".", 1)[1] for n, _ in result.files) == ["mid", "ogg", "png"]
    midi = midi_of(result)
    melody = next(i for i in midi.instruments if i.name == "Melody")
    assert [n.pitch for n in melody.notes] == [p for p, _, _ in TUNE]  # the file's tune, on top
    harmony = next(i for i in midi.instruments if i.name == "Harmony")
    assert harmony.notes and all(h.pitch < m.pitch for h in harmony.notes for m in melody.notes
                                 if m.start < h.end and h.start < m.end)
    assert any(c.startswith("ts:again:") for row in result.message["components"]
               for c in [b["custom_id"] for b in row["components"]]), "the result has its buttons"


async def test_continue_this_midi_plays_the_file_then_more_bars(standin: DiscordStandIn) -> None:
    message = standin.user_message("", {"tune.mid": tune_file()})
    sent = await standin.message_command("Continue this MIDI", message, user_id="3002")
    result = await final(standin, sent)
    assert result.embeds[0]["description"].startswith("```\n/continue seed:"), result.text
    notes = sorted((n.start, n.pitch) for i in midi_of(result).instruments for n in i.notes)
    opening = [(round(s / STEP_S), p) for s, p in notes if s < 32 * STEP_S - 1e-6]
    assert opening == [(s, p) for p, s, _ in TUNE]  # the file, note for note
    assert any(s >= 32 * STEP_S for s, _ in notes), "then more bars"
    assert midi_of(result).get_end_time() == pytest.approx((2 + 4) * 16 * STEP_S, abs=1e-3)  # 4 bars more


async def test_a_message_without_midi_is_told_privately(standin: DiscordStandIn) -> None:
    message = standin.user_message("just words", {"notes.txt": b"C D E"})
    sent = await standin.message_command("Harmonise this MIDI", message, user_id="3003")
    answer = await standin.wait_for(lambda c: f"/{sent.token}/" in c.path and c.path.endswith("/callback"), 10)
    assert answer.body["type"] == 4 and answer.ephemeral, answer.body
    assert "no MIDI file attached" in answer.content and "/harmonize" in answer.content
