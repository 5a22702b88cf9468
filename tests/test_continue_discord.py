"""/continue on Discord: real discord.py against the stand-in Discord on 127.0.0.1, the real Service and one worker.
The command arrives with its typed options and its file option, a file is continued, a missing file is told."""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator

import pretty_midi
import pytest
from discord_env import discord_env
from discord_standin import Call, DiscordStandIn

from generation.families.drums.config import STYLE_CONTROLS

pytestmark = [
    pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth binary not on PATH (apt-get install "
                       "fluidsynth)"),
    pytest.mark.asyncio(loop_scope="module"),
]

JOB_WAIT_S = 120.0
STEP_S = 0.125  # a 16th at 120 qpm
MELODY = [(p, 2 * i, 2 * i + 2) for i, p in enumerate([60, 64, 67, 72, 71, 67, 64, 62] * 2)]
DRUMS = [(p, s) for s in range(0, 32, 2) for p in ([36] if s % 8 == 0 else [38] if s % 8 == 4 else []) + [42]]


@pytest.fixture(scope="module")
async def standin(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DiscordStandIn]:
    async with discord_env(tmp_path_factory.mktemp("discord-continue")) as env:
        yield env.standin


def band_file() -> bytes:
    """Two bars: a piano melody and rock drums on channel 10."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano, kit = pretty_midi.Instrument(0), pretty_midi.Instrument(0, is_drum=True)
    piano.notes = [pretty_midi.Note(100, p, s * STEP_S, e * STEP_S) for p, s, e in MELODY]
    kit.notes = [pretty_midi.Note(100, p, s * STEP_S, (s + 1) * STEP_S) for p, s in DRUMS]
    midi.instruments += [piano, kit]
    buf = io.BytesIO()
    midi.write(buf)
    return buf.getvalue()


async def test_continue_is_a_slash_command_with_its_options_and_a_file(standin: DiscordStandIn) -> None:
    options = {o["name"]: o for o in standin.commands["continue"]["options"]}
    assert options["midi"]["type"] == 11 and not options["link"]["required"]  # ATTACHMENT; a link instead
    assert (options["bars"]["min_value"], options["bars"]["max_value"]) == (1, 32)
    assert [c["value"] for c in options["part"]["choices"]] == ["melody", "drums"]
    assert [c["value"] for c in options["config"]["choices"]] == ["basic_rnn", "mono_rnn", "lookback_rnn",
                                                                   "attention_rnn", "drum_kit", "drum_kit_style"]
    assert [c["value"] for c in options["style"]["choices"]] == list(STYLE_CONTROLS)
    assert {"temperature", "outputs", "seed"} <= set(options) and "qpm" not in options


async def test_the_drums_of_an_attached_file_are_continued_on_channel_10(standin: DiscordStandIn) -> None:
    sent = await standin.slash("continue", {"part": "drums", "bars": 1, "seed": 3}, user_id="2001",
                               attachments={"midi": ("band.mid", band_file())})
    final = await standin.wait_for(lambda c: c.method == "PATCH" and f"/{sent.token}" in c.path
                                   and c.path.endswith("/messages/@original") and (bool(c.files) or "Failed" in
                                                                                    c.content), JOB_WAIT_S)
    assert "/continue bars:1 part:drums seed:3" in final.text
    assert sorted(n.rsplit(".", 1)[1] for n, _ in final.files) == ["mid", "ogg", "png"]
    midi = pretty_midi.PrettyMIDI(io.BytesIO(next(b for n, b in final.files if n.endswith(".mid"))))
    assert midi.instruments and all(i.is_drum for i in midi.instruments)
    hits = {(round(n.start / STEP_S), n.pitch) for i in midi.instruments for n in i.notes}
    assert {h for h in hits if h[0] < 32} == {(s, p) for p, s in DRUMS}
    assert midi.get_end_time() == pytest.approx(3 * 16 * STEP_S, abs=1e-3) and any(s >= 32 for s, _ in hits)


async def test_continue_without_a_file_is_told_privately_what_to_attach(standin: DiscordStandIn) -> None:
    sent = await standin.slash("continue", {"bars": 2}, user_id="2002")

    def told(c: Call) -> bool:
        return f"/{sent.token}" in c.path and c.ephemeral and "needs a MIDI file" in c.content

    reply = await standin.wait_for(told, timeout=30)
    assert "Discord: the midi option" in reply.content
