"""Discord message replies: a reply to one of the bot's results that mentions the bot ("@Tunesmith transpose:+2",
"@Tunesmith /harmonize", "@Tunesmith again") is a remix of that result, as a reply in the web chat or a Slack
thread is (bot/remix.py).

Needs no privileged intent: with the Guild Messages intent Discord delivers every message event, and a message's
content to a bot without the Message Content intent only where it mentions the bot, which is what is asked here
(a reply that pings the result's author, the bot, mentions it too). The result replied to is named by the job id
its buttons carry (`ts:<action>:<job id>`, kept in the replied message that Discord hands along), so replies to
results posted before a restart work. The new result is posted as a reply to the user's message; a reply that
cannot be made is answered the same way (a message has no private answer).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

import discord

from bot.adapters.discord_menus import is_midi
from bot.adapters.discord_remix import TEMPLATE
from bot.attachments import Attachment
from bot.remix import REPLY_HELP, Caller, Remixer
from bot.service import JobView, Service
from bot.store import StoreUnavailable
from generation.errors import InputError

log = logging.getLogger(__name__)

PLATFORM = "discord"
_BUTTON = re.compile(TEMPLATE)
_MENTION = re.compile(r"<@!?(\d+)>")


class Front(Protocol):
    """What the replies need of the Discord front end."""

    client: discord.Client
    remixer: Remixer
    service: Service

    async def deliver(self, view: JobView) -> None: ...


def job_of(message: discord.Message) -> str | None:
    """The job id a result message's buttons carry, or None (not a result of this bot)."""
    for row in message.components:
        for item in getattr(row, "children", [row]):
            found = _BUTTON.fullmatch(str(getattr(item, "custom_id", "") or ""))
            if found:
                return found["job"]
    return None


def reply_reference(delivery: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments that make a channel post a reply to the message a job came from (none for others)."""
    if not delivery.get("reply_to"):
        return {}
    return {"reference": discord.MessageReference(message_id=int(delivery["reply_to"]),
                                                  channel_id=int(delivery["channel_id"]), fail_if_not_exists=False),
            "mention_author": False}


class MentionReplies:
    """The client's on_message: mention-replies to results become remixes; every other message is ignored."""

    def __init__(self, front: Front, error_text: Callable[[Exception], str]) -> None:
        self.front, self.error_text = front, error_text

    async def on_message(self, message: discord.Message) -> None:
        me = self.front.client.user
        if me is None or message.author.bot or message.reference is None or message.reference.message_id is None:
            return
        if not any(u.id == me.id for u in message.mentions):
            return  # a reply to someone else, or one that does not ask the bot
        try:
            await self._remix(message, me.id)
        except Exception:  # noqa: BLE001 - a message handler must not take the gateway down
            log.exception("a Discord mention-reply failed")

    async def _remix(self, message: discord.Message, me: int) -> None:
        target = await self._replied(message)
        if target is None or target.author.id != me or (job := job_of(target)) is None:
            await self._answer(message, "Reply to one of my results (the message with the buttons) to remix it: "
                               + REPLY_HELP + ".")
            return
        text = " ".join(_MENTION.sub(" ", message.content).split())
        if not text:
            await self._answer(message, f"What should I do with it? {REPLY_HELP[0].upper()}{REPLY_HELP[1:]}; e.g. "
                               "@me transpose:+2, or @me /harmonize.")
            return
        midis = [a for a in message.attachments if is_midi(a)][:1]
        channel = str(message.channel.id)
        caller = Caller(PLATFORM, f"discord:{message.author.id}", channel, delivery={
            "channel_id": channel, "created": time.time(), "reply_to": str(message.id)})
        try:
            for a in midis:
                self.front.service.check_attachment(a.filename, a.size)
            files = [Attachment(await a.read(), a.filename) for a in midis]
            submitted = await self.front.remixer.reply(caller, job, text, files)
        except (InputError, StoreUnavailable) as e:
            await self._answer(message, self.error_text(e))
            return
        except discord.HTTPException:
            await self._answer(message, "I could not download the attachment; please try again.")
            return
        if submitted.job is None:
            await self._answer(message, submitted.help or "Done.")
            return
        await message.channel.typing()  # "Tunesmith is typing...": taken; the result comes as a reply
        await self.front.deliver(submitted.job)

    async def _replied(self, message: discord.Message) -> discord.Message | None:
        """The message replied to: as Discord handed it along, or fetched (needs Read Message History)."""
        ref = message.reference
        assert ref is not None and ref.message_id is not None
        if isinstance(ref.resolved, discord.Message):
            return ref.resolved
        if ref.resolved is not None:  # DeletedReferencedMessage
            return None
        try:
            return await message.channel.fetch_message(ref.message_id)
        except discord.HTTPException:
            return None

    async def _answer(self, message: discord.Message, text: str) -> None:
        try:
            await message.reply(text[:2000], mention_author=False)
        except discord.HTTPException:
            log.warning("could not answer a Discord mention-reply in channel %s", message.channel.id)
