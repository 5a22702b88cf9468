"""Reaching a Slack conversation the bot is not in: a public channel is joined on demand (posting there works without
joining, through chat:write.public, but sharing files does not); elsewhere (a private channel, a DM) the result goes
through the command's response_url, which Slack hands with each command and button press for 30 minutes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger(__name__)

T = TypeVar("T")
NOT_IN = {"not_in_channel", "channel_not_found"}  # the bot is not a member (or may not see the conversation)
SLACK_HOOKS = "https://hooks.slack.com/"  # where Slack's response_urls point
VIA_RESPONSE_URL = "via_response_url"  # in a job's delivery: the conversation is out of reach, answer by the URL


def refused_for_membership(e: SlackApiError) -> bool:
    return str(e.response.get("error", "")) in NOT_IN


class Reach:
    """Web API calls for a conversation, joining a public channel when Slack says the bot is not in it."""

    def __init__(self, client: Any, api_base: str = "") -> None:
        self.client = client
        # A response_url is called only where Slack's point (or a stand-in Web API's host, in tests), so a
        # request cannot make the bot post to an address of the sender's choosing.
        parts = urlsplit(api_base)
        self._hooks = (SLACK_HOOKS, f"{parts.scheme}://{parts.netloc}/") if api_base else (SLACK_HOOKS,)

    async def call(self, channel: str, make: Callable[[], Awaitable[T]]) -> T:
        """`make()`; refused because the bot is not in `channel`, join it (public channels only) and try once more.

        Raises:
            SlackApiError: any other refusal, or the same one where the channel cannot be joined.
        """
        try:
            return await make()
        except SlackApiError as e:
            if not refused_for_membership(e) or not await self.join(channel):
                raise
        return await make()

    async def join(self, channel: str) -> bool:
        """Join a public channel (Slack announces it there once); False for a private one, a DM, or no scope."""
        try:
            await self.client.conversations_join(channel=channel)
        except SlackApiError as e:
            log.info("not joining Slack conversation %s: %s", channel, e.response.get("error"))
            return False
        log.info("joined Slack channel %s to post a result there", channel)
        return True

    def usable(self, response_url: str) -> bool:
        return bool(response_url) and response_url.startswith(self._hooks)

    async def respond(self, response_url: str, text: str, blocks: list[dict[str, Any]] | None = None, *,
                      public: bool = True) -> bool:
        """Post through a command's response_url (in the channel, or to the user alone); False if Slack refused
        (e.g. the URL's 30 minutes are over)."""
        if not self.usable(response_url):
            return False
        response = await AsyncWebhookClient(response_url).send(
            text=text, blocks=blocks, response_type="in_channel" if public else "ephemeral", replace_original=False)
        if response.status_code != 200:
            log.warning("posting through a Slack response_url failed: %s %s", response.status_code,
                        response.body[:200])
            return False
        return True
