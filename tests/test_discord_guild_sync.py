"""DISCORD_GUILD_IDS: the commands are published to those servers only (a change shows there at once), the global
set emptied so no server lists a command twice, and the commands answer from the servers' copies. Real discord.py
against the stand-in Discord; no model is needed (/help and a message command on a message without MIDI)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from discord_env import discord_env
from discord_standin import DiscordStandIn

from bot.commands import CHAT_COMMANDS

pytestmark = pytest.mark.asyncio(loop_scope="module")
OTHER_GUILD = "900000000000000777"


@pytest.fixture(scope="module")
async def standin(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DiscordStandIn]:
    async with discord_env(tmp_path_factory.mktemp("discord-guilds"), workers=0,
                           discord_guild_ids=(int(DiscordStandIn.guild_id), int(OTHER_GUILD))) as env:
        yield env.standin


async def test_commands_are_published_to_the_guilds_only(standin: DiscordStandIn) -> None:
    names = {*CHAT_COMMANDS, "help", "history", "Harmonise this MIDI", "Continue this MIDI"}
    for guild in (standin.guild_id, OTHER_GUILD):
        assert set(standin.guild_commands[guild]) == names, guild
    assert standin.commands == {}, "the global set is emptied: a guild would list each command twice"
    puts = [c.path for c in standin.calls if c.method == "PUT"]
    assert puts[-1].endswith("/commands") and "/guilds/" not in puts[-1], puts  # global emptied after the guilds


async def test_the_guild_commands_answer(standin: DiscordStandIn) -> None:
    sent = await standin.slash("help", {"command": "melody"})
    reply = await standin.wait_for(lambda c: f"/{sent.token}/" in c.path, timeout=10)
    assert reply.body["type"] == 4 and reply.ephemeral and "/melody" in reply.content, reply.body
    message = standin.user_message("no file here", {})
    sent = await standin.message_command("Continue this MIDI", message)
    reply = await standin.wait_for(lambda c: f"/{sent.token}/" in c.path, timeout=10)
    assert reply.ephemeral and "no MIDI file attached" in reply.content

