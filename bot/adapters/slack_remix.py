"""Slack's remixes: a result as a Block Kit message (recipe, piano roll, buttons), the buttons (Again, Vary, Longer,
Harmonise this, Add drums, Arrange, Star) and replies in a result's thread (a command or options that start from it).

A button carries the stored job id as its value and a thread reply is matched to its result by the message's ts
kept in the job's delivery, so both work after a restart of the bot.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.errors import SlackApiError

from bot.adapters.slack_reach import Reach, refused_for_membership
from bot.commands import CommandError
from bot.recipes import ACTIONS, available
from bot.remix import Caller, Remixer
from bot.service import JobView, Submitted
from bot.store import StoreUnavailable
from generation.errors import InputError

log = logging.getLogger(__name__)

PLATFORM = "slack"
ACTION_ID = re.compile(rf"^ts_({'|'.join([*ACTIONS, 'star'])})$")
REPLY_HINT = "Reply in this thread with a command (e.g. `/harmonize` as text) or options (`temperature:1.2 bars:16`)."


def result_blocks(view: JobView, text: str, *, images: bool = True) -> list[dict[str, Any]]:
    """The finished message: its text, the result's notes (what was done to the input), the piano roll (with
    `images`: Slack fetches it, so only from a public address; it refuses the whole message otherwise), and a
    button per action under it."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}]
    if view.status == "done" and view.notes:  # what was done to the input, under the result line
        notes = "\n".join(f":information_source: {_mrkdwn_escaped(n)}" for n in view.notes)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": notes[:2900]}]})
    if images and view.status == "done" and view.outputs:
        blocks.append({"type": "image", "image_url": view.outputs[0]["pianoroll_url"],
                       "alt_text": f"piano roll of {view.command}"[:1900]})
    elements = [{"type": "button", "action_id": f"ts_{a}", "value": view.id, "text": {"type": "plain_text",
                 "text": ACTIONS[a]}, **({"style": "primary"} if a == "again" else {})}
                for a in available(view.command, view.status)]
    if view.status == "done":
        elements.append({"type": "button", "action_id": "ts_star", "value": view.id,
                         "text": {"type": "plain_text", "text": "\u2606 Star"}})
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": REPLY_HINT}]})
    if elements:
        blocks.append({"type": "actions", "block_id": f"ts_result_{view.id}", "elements": elements})
    return blocks


def _mrkdwn_escaped(text: str) -> str:
    """Text shown as itself in Slack's mrkdwn (its three control characters escaped, as Slack asks)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackRemixes:
    """The handlers of result buttons and thread replies; `post(job)` posts a new job's progress message."""

    def __init__(self, remixer: Remixer, client: Any, post: Callable[[JobView], None], reach: Reach) -> None:
        self.remixer = remixer
        self.client = client
        self.post = post
        self.reach = reach

    async def on_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """A button under a result: acked at once, then the new job is posted (or why not, privately)."""
        await ack()
        action = (body.get("actions") or [{}])[0]
        name = str(action.get("action_id", "")).removeprefix("ts_")
        job_id = str(action.get("value", ""))
        user = str((body.get("user") or {}).get("id", ""))
        channel = str((body.get("channel") or {}).get("id", ""))
        hook = str(body.get("response_url") or "")  # the way back where the bot is not in the conversation
        if name == "star":
            await self._star(user, channel, job_id, hook)
            return
        await self._start(user, channel, "", lambda caller: self.remixer.act(caller, job_id, name), hook)

    async def on_message(self, event: dict[str, Any]) -> None:
        """A message in the thread of a result (not the bot's own): a remix of that result."""
        thread = str(event.get("thread_ts") or "")
        if not thread or event.get("bot_id") or event.get("subtype") or thread == event.get("ts"):
            return
        channel, user, text = str(event.get("channel", "")), str(event.get("user", "")), str(event.get("text", ""))
        job_id = await self.remixer.history.by_message(PLATFORM, channel, thread)
        if job_id is None:
            return  # a thread under something else: not ours to answer
        await self._start(user, channel, thread, lambda caller: self.remixer.reply(caller, job_id, text.strip()))

    async def _start(self, user: str, channel: str, thread: str,
                     submit: Callable[[Caller], Awaitable[Submitted]], hook: str = "") -> None:
        # The new result goes to the channel, not the thread: a thread has one level, so a result posted in it
        # could not have a thread of its own to be replied to.
        try:
            submitted = await submit(Caller(PLATFORM, f"slack:{user}", channel,
                                            delivery={"channel": channel, "user": user, "response_url": hook}))
        except CommandError as e:
            await self._privately(user, channel, thread, f"```\n{e.pointer()}\n```\n{e.reason}" if e.token
                                  else e.reason, hook)
            return
        except (InputError, StoreUnavailable) as e:
            await self._privately(user, channel, thread, str(e), hook)
            return
        if submitted.job is not None:
            self.post(submitted.job)
        else:
            await self._privately(user, channel, thread, f"```\n{submitted.help}\n```", hook)

    async def _star(self, user: str, channel: str, job_id: str, hook: str = "") -> None:
        try:
            starred = (await self.remixer.history.about([job_id])).get(job_id, (None, False))[1]
            await self.remixer.star(f"slack:{user}", job_id, not starred)
        except (InputError, StoreUnavailable) as e:
            await self._privately(user, channel, "", str(e), hook)
            return
        await self._privately(user, channel, "", "Unstarred." if starred else
                              "\u2605 Starred: `/history starred` lists it, and it is kept.", hook)

    async def _privately(self, user: str, channel: str, thread: str, text: str, hook: str = "") -> None:
        """To the user alone: chat.postEphemeral, or the press's response_url where the bot is not in the channel."""
        try:
            try:
                await self.client.chat_postEphemeral(channel=channel, user=user, text=text,
                                                     **({"thread_ts": thread} if thread else {}))
            except SlackApiError as e:
                if not (refused_for_membership(e) and await self.reach.respond(hook, text, public=False)):
                    raise
        except Exception:
            log.exception("telling a Slack user why a remix did not start failed")
