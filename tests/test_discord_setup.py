"""README's Discord setup against what the front end does: the invite link's permission integer holds exactly the
permissions the bot uses (decoded by discord.py, and named in the README), and the bot asks for no privileged
gateway intent (so none needs turning on), only the ones that bring commands and mention-replies."""

from __future__ import annotations

import re
from pathlib import Path

import discord

from bot.adapters.discord_bot import DiscordFrontEnd
from bot.service import Service
from bot.settings import Settings
from bot.store import JobStore
from generation.jobs.embedded import EmbeddedQueue

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
# What the bot does with each: posts results and answers in the channel (view, send, in threads too), with the
# embed and the files; replies to a user's message, which needs read_message_history (so does fetching the message
# replied to).
USED = {"read_messages", "send_messages", "send_messages_in_threads", "embed_links", "attach_files",
        "read_message_history"}


def test_the_invite_link_asks_for_what_the_bot_uses() -> None:
    (value,) = {int(v) for v in re.findall(r"[?&]permissions=(\d+)", README)}
    granted = {name for name, on in discord.Permissions(value) if on}
    assert granted == USED, f"{value} grants {sorted(granted)}"
    assert f"{value} is View Channels (1024) + Send Messages (2048) + Embed Links (16384) + Attach Files (32768) +\n" \
           "   Read Message History (65536) + Send Messages in Threads (274877906944)" in README
    assert value == sum(discord.Permissions(**{name: True}).value for name in USED)


def test_no_privileged_intent_is_asked_for(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, discord_token="t")
    front = DiscordFrontEnd(settings, Service(settings, JobStore(tmp_path / "jobs.sqlite3"), EmbeddedQueue(workers=1)))
    intents = front.client.intents
    assert not (intents.message_content or intents.members or intents.presences), "privileged"
    assert intents.guilds and intents.guild_messages, "commands need guilds; mention-replies need guild messages"
