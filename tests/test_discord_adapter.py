"""The Discord front end end to end: real discord.py over HTTP + websocket to a stand-in Discord on 127.0.0.1,
the real Service on SQLite, one real worker process (model + FluidSynth)."""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pretty_midi
import pytest
from blockbuster import blockbuster_ctx
from discord_env import DiscordEnv, discord_env
from discord_standin import Call, DiscordStandIn, SentInteraction

from bot.commands import CHAT_COMMANDS, help_text
from generation.families.drums.config import STYLE_CONTROLS

pytestmark = [
    pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth binary not on PATH (apt-get install "
                       "fluidsynth)"),
    pytest.mark.asyncio(loop_scope="module"),  # one loop for the module-scoped worker-backed service
]

JOB_WAIT_S = 90.0  # the first job includes the worker's start-up (~8-15 s on a busy 2-core machine)


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DiscordEnv]:
    """One stand-in, service and worker for the module (the worker starts once)."""
    async with discord_env(tmp_path_factory.mktemp("discord")) as env:
        yield env


def _is(sent: SentInteraction, method: str, suffix: str) -> Callable[[Call], bool]:
    return lambda c: c.method == method and f"/{sent.token}" in c.path and c.path.endswith(suffix)


def _is_path(method: str, path: str) -> Callable[[Call], bool]:
    return lambda c: c.method == method and c.path == path


async def _finished(standin: DiscordStandIn, sent: SentInteraction) -> Call:
    """The edit of the original response that carries files or says the job failed."""
    return await standin.wait_for(lambda c: _is(sent, "PATCH", "/messages/@original")(c)
                                  and (bool(c.files) or "Failed" in c.content), timeout=JOB_WAIT_S)


@pytest.fixture(scope="module")
async def improv(env: DiscordEnv) -> tuple[SentInteraction, list[Call]]:
    """`/improv C G Am F primer:60`, run to the end; the interaction and every call made for it."""
    with blockbuster_ctx(scanned_modules=["bot"]):  # the adapter never blocks the loop (file reads included)
        sent = await env.standin.slash("improv", {"chords": "C G Am F", "primer": "60"}, user_id="1001")
        await _finished(env.standin, sent)
    return sent, env.standin.calls_for(sent)


Improv = tuple[SentInteraction, list[Call]]


async def test_improv_defers_shows_progress_then_the_three_files(improv: Improv) -> None:
    _, calls = improv
    assert calls[0].path.endswith("/callback") and calls[0].body["type"] == 5  # deferred before anything else
    edits = [c for c in calls if c.method == "PATCH"]
    final = edits[-1]
    progress = [c.content for c in edits[:-1]]
    assert any(p for p in progress if "Queued" in p or "Generating..." in p or "Rendering audio" in p), progress
    files = dict(final.files)
    assert sorted(Path(n).suffix for n in files) == [".mid", ".ogg", ".png"]
    # the result is an embed: title, the recipe with its seed, the share link, the piano roll as its image
    assert final.content == "" and len(final.embeds) == 1, final.body
    embed = final.embeds[0]
    assert embed["title"].startswith("/improv \u00b7 ") and embed["url"].startswith("https://tunesmith.test/s/")
    assert embed["description"].startswith("```\n/improv C G Am F primer:60 seed:"), embed["description"]
    assert embed["url"] in embed["description"] and embed["footer"]["text"].startswith("seed ")
    assert embed["image"]["url"] == "attachment://" + next(n for n in files if n.endswith(".png"))
    ogg = next(b for n, b in files.items() if n.endswith(".ogg"))
    assert len(ogg) > 1000 and ogg.startswith(b"OggS")
    png = next(b for n, b in files.items() if n.endswith(".png"))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    midi = pretty_midi.PrettyMIDI(io.BytesIO(next(b for n, b in files.items() if n.endswith(".mid"))))
    melody = next(i for i in midi.instruments if i.name == "Melody")
    assert melody.notes and melody.notes[0].pitch == 60
    assert midi.get_end_time() == pytest.approx(8.0, abs=0.05)  # 4 chords x 16 steps at 120 qpm


async def test_stale_token_posts_the_result_in_the_channel(env: DiscordEnv, improv: Improv) -> None:
    sent, calls = improv
    token = calls[-1].embeds[0]["url"].split("/s/")[1]

    view = await env.service.view_by_share_token(token)
    assert view is not None and view.status == "done"
    old = dataclasses.replace(view, delivery={**view.delivery, "created": time.time() - 15 * 60})
    await env.front.deliver(old)  # as for a job resumed after a restart, long after the command
    post = await env.standin.wait_for(_is_path("POST", f"/channels/{sent.channel_id}/messages"), timeout=10)
    assert "https://tunesmith.test/s/" in post.text and post.embeds[0]["image"]["url"].startswith("attachment://")
    assert sorted(Path(n).suffix for n, _ in post.files) == [".mid", ".ogg", ".png"]


async def test_resumed_job_with_a_live_token_answers_by_follow_up(env: DiscordEnv, improv: Improv) -> None:
    sent, calls = improv
    token = calls[-1].embeds[0]["url"].split("/s/")[1]

    view = await env.service.view_by_share_token(token)
    assert view is not None
    await env.front.deliver(view)  # the bot restarted: the interaction object is gone, its token is not
    follow_up = await env.standin.wait_for(_is(sent, "POST", f"/{sent.token}"), timeout=10)
    assert "https://tunesmith.test/s/" in follow_up.text and not follow_up.ephemeral
    assert sorted(Path(n).suffix for n, _ in follow_up.files) == [".mid", ".ogg", ".png"]


async def test_a_job_failing_after_a_restart_is_told_privately(env: DiscordEnv, improv: Improv) -> None:
    sent, calls = improv
    view = await env.service.view_by_share_token(calls[-1].embeds[0]["url"].split("/s/")[1])
    assert view is not None
    failed = dataclasses.replace(view, status="failed", stage="failed", error="the model worker crashed")
    await env.front.deliver(failed)  # no interaction object (a restart), its token still fresh
    told = await env.standin.wait_for(lambda c: _is(sent, "POST", f"/{sent.token}")(c) and "Failed" in c.content,
                                      timeout=10)
    assert told.ephemeral and "the model worker crashed" in told.content and not told.embeds
    deleted = [i for i, c in enumerate(env.standin.calls) if _is(sent, "DELETE", "/messages/@original")(c)]
    assert deleted and deleted[-1] < env.standin.calls.index(told), "the public reply is removed first"


async def test_bad_chord_is_answered_privately_and_starts_nothing(env: DiscordEnv) -> None:
    sent = await env.standin.slash("improv", {"chords": "C H7"}, user_id="1002")
    reply = await env.standin.wait_for(lambda c: f"/{sent.token}" in c.path, timeout=10)
    assert reply.path.endswith("/callback") and reply.body["type"] == 4 and reply.ephemeral
    assert "'H7'" in reply.content and "Accepted:" in reply.content
    assert "/improv C H7\n" + " " * len("/improv C ") + "^^\n" in reply.content  # the caret under the bad chord
    assert await env.service.store.count_since("1002", 0) == 0


async def test_attachment_that_is_not_midi_is_refused_privately(env: DiscordEnv) -> None:
    sent = await env.standin.slash("improv", {"chords": "C G"}, user_id="1003",
                                   attachments={"midi": ("notes.txt", b"C D E F G, not a MIDI file\n" * 20)})
    reply = await env.standin.wait_for(lambda c: f"/{sent.token}" in c.path and c.ephemeral, timeout=10)
    assert "not a MIDI file" in reply.content and "notes.txt" in reply.content
    assert await env.service.store.count_since("1003", 0) == 0


async def test_huge_attachment_is_refused_without_downloading_it(env: DiscordEnv) -> None:
    sent = await env.standin.slash("improv", {"chords": "C G"}, user_id="1004",
                                   attachments={"midi": ("noise.mid", os.urandom(10 * 2**20))})
    reply = await env.standin.wait_for(lambda c: f"/{sent.token}" in c.path, timeout=10)
    assert reply.ephemeral and "10.5 MB" in reply.content and "at most 1.0 MB" in reply.content
    assert not any("noise.mid" in d for d in env.standin.downloads)
    assert await env.service.store.count_since("1004", 0) == 0


async def test_midi_attachment_is_the_primer(env: DiscordEnv, tmp_path: Path) -> None:
    primer = pretty_midi.PrettyMIDI(initial_tempo=120)
    lead = pretty_midi.Instrument(0)
    lead.notes = [pretty_midi.Note(100, 64, 0.0, 0.5), pretty_midi.Note(100, 67, 0.5, 1.0)]
    primer.instruments.append(lead)
    primer.write(str(tmp_path / "riff.mid"))

    sent = await env.standin.slash("improv", {"chords": "C G", "seed": 7}, user_id="1005",
                                   attachments={"midi": ("riff.mid", (tmp_path / "riff.mid").read_bytes())})
    final = await _finished(env.standin, sent)
    midi = pretty_midi.PrettyMIDI(io.BytesIO(next(b for n, b in final.files if n.endswith(".mid"))))
    melody = next(i for i in midi.instruments if i.name == "Melody")
    assert [n.pitch for n in melody.notes[:2]] == [64, 67]
    assert melody.notes[0].start == pytest.approx(0.0) and melody.notes[1].start == pytest.approx(0.5)


async def test_help_shows_the_grammar_help(env: DiscordEnv) -> None:
    sent = await env.standin.slash("help", {})
    reply = await env.standin.wait_for(lambda c: f"/{sent.token}" in c.path, timeout=10)
    assert reply.body["type"] == 4 and help_text() in reply.content  # whole: not clipped at Discord's 2,000


async def test_chord_autocomplete_completes_the_last_chord(env: DiscordEnv) -> None:
    sent = await env.standin.autocomplete("improv", {"chords": "C G A"}, focused="chords")
    reply = await env.standin.wait_for(lambda c: f"/{sent.token}" in c.path, timeout=10)
    assert reply.body["type"] == 8
    values = [c["value"] for c in reply.body["data"]["choices"]]
    assert values[:3] == ["C G A", "C G Am", "C G A7"] and len(values) <= 25


async def test_every_grammar_option_is_a_typed_slash_option(env: DiscordEnv) -> None:
    """Each family's chat commands reach Discord built from their option tables: names, limits, choices."""
    slash = {name for name, c in env.standin.commands.items() if c["type"] == 1}  # CHAT_INPUT, not context menus
    assert slash == {*CHAT_COMMANDS, "help", "history"}
    for name, command in CHAT_COMMANDS.items():
        synced = {o["name"]: o for o in env.standin.commands[name]["options"]}
        assert synced[command.positional_name]["required"] == command.positional_required, name
        for option in command.options:
            slash = synced[option.slash_name or option.name]
            assert slash["description"], (name, option.name)
            if option.low is not None:
                assert (slash["min_value"], slash["max_value"]) == (option.low, option.high), (name, option.name)
            if option.kind is bool:
                assert slash["type"] == 5, (name, option.name)  # BOOLEAN
            elif option.choices:
                assert [c["value"] for c in slash["choices"]] == list(option.choices), (name, option.name)
        files = ["midi"] if command.attachments == 1 else [f"midi{i + 1}" for i in range(command.attachments)]
        assert all(f in synced and synced[f]["type"] == 11 for f in files) == command.takes_attachment, name
    improv = {o["name"]: o for o in env.standin.commands["improv"]["options"]}
    assert improv["chords"]["autocomplete"] and improv["midi"]["type"] == 11


async def test_harmonize_slash_command_returns_the_melody_with_harmony_under_it(env: DiscordEnv) -> None:
    sent = await env.standin.slash("harmonize", {"melody": "E4 - D4 - C4 - - -", "seed": 4}, user_id="1006")
    final = await _finished(env.standin, sent)
    assert "/harmonize E4 - D4 - C4 - - - seed:4" in final.text
    assert sorted(Path(n).suffix for n, _ in final.files) == [".mid", ".ogg", ".png"]
    midi = pretty_midi.PrettyMIDI(io.BytesIO(next(b for n, b in final.files if n.endswith(".mid"))))
    melody = next(i for i in midi.instruments if i.name == "Melody")
    assert [n.pitch for n in melody.notes] == [64, 62, 60]
    harmony = next(i for i in midi.instruments if i.name == "Harmony")
    assert harmony.notes
    for h in harmony.notes:  # below the melody wherever the melody sounds
        assert all(h.pitch < m.pitch for m in melody.notes if m.start < h.end and h.start < m.end), h


async def test_chorale_and_pianoroll_are_typed_slash_commands(env: DiscordEnv) -> None:
    chorale = {o["name"]: o for o in env.standin.commands["chorale"]["options"]}
    assert chorale["keep"]["type"] == 5 and chorale["midi"]["type"] == 11  # boolean, attachment
    assert (chorale["bars"]["min_value"], chorale["bars"]["max_value"]) == (1, 64)
    pianoroll = {o["name"]: o for o in env.standin.commands["pianoroll"]["options"]}
    assert [c["value"] for c in pianoroll["config"]["choices"]] == ["rnn-nade", "rnn-nade-bach"]
    sent = await env.standin.slash("chorale", {"pitches": "G4 E4 C4", "bars": 1, "seed": 2}, user_id="1007")
    final = await _finished(env.standin, sent)
    midi = pretty_midi.PrettyMIDI(io.BytesIO(next(b for n, b in final.files if n.endswith(".mid"))))
    assert {n.pitch for i in midi.instruments for n in i.notes if n.start == 0} >= {67, 64, 60}
    assert midi.get_end_time() == pytest.approx(2.0, abs=0.01)  # one bar at 120 qpm


async def test_melody_and_drums_are_typed_slash_commands_that_play(env: DiscordEnv) -> None:
    """/drums style:funk through Discord: the style is a choice, a MIDI groove may be attached, and the result is
    drums on channel 10 lasting the bars asked at the tempo asked; /melody keeps its typed opening, one line."""
    drums = {o["name"]: o for o in env.standin.commands["drums"]["options"]}
    assert [c["value"] for c in drums["style"]["choices"]] == list(STYLE_CONTROLS) and drums["midi"]["type"] == 11
    sent = await env.standin.slash("drums", {"style": "funk", "bars": 2, "qpm": 100, "seed": 5}, user_id="1008")
    final = await _finished(env.standin, sent)
    midi = pretty_midi.PrettyMIDI(io.BytesIO(next(b for n, b in final.files if n.endswith(".mid"))))
    assert midi.instruments and all(i.is_drum for i in midi.instruments)
    assert midi.get_end_time() == pytest.approx(2 * 4 * 60 / 100, abs=0.01)
    sent = await env.standin.slash("melody", {"melody": "E4 - G4 -", "bars": 2, "seed": 5}, user_id="1009")
    final = await _finished(env.standin, sent)
    midi = pretty_midi.PrettyMIDI(io.BytesIO(next(b for n, b in final.files if n.endswith(".mid"))))
    notes = sorted((n.start, n.end, n.pitch) for i in midi.instruments for n in i.notes)
    assert [p for _, _, p in notes[:2]] == [64, 67]
    assert all(a[1] <= b[0] + 1e-6 for a, b in zip(notes, notes[1:], strict=False)), "two notes at once"
