"""Slack front end: the grammar's slash commands through slack-bolt, progress and files through the Web API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import COMMANDS, CommandError
from bot.service import JobView, Service
from bot.settings import Settings
from generation.errors import InputError

log = logging.getLogger(__name__)

PLATFORM = "slack"


class SlackFrontEnd:
    """Slash commands in, one edited progress message and the files out.

    What a job needs to be delivered later (channel, user, the progress message's ts) lives in the job's
    `delivery`, so a job resumed after a restart still reaches its channel.
    """

    def __init__(self, settings: Settings, service: Service) -> None:
        self.settings = settings
        self.service = service
        base_url = settings.slack_api_base or AsyncWebClient.BASE_URL
        self.client = AsyncWebClient(token=settings.slack_bot_token, base_url=base_url.rstrip("/") + "/")
        # The token travels in the client (bolt warns when given both and uses the client's).
        self.app = AsyncApp(name="tunesmith", signing_secret=settings.slack_signing_secret, client=self.client)
        for name in COMMANDS:  # each must also be created in the Slack app's settings (see deploy/)
            self.app.command(f"/{name}")(self._on_command)
        self._socket: AsyncSocketModeHandler | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._posting: dict[str, asyncio.Lock] = {}  # job id -> lock around posting its progress message
        self._shown: dict[str, str] = {}  # job id -> text the progress message shows now
        service.register_deliverer(PLATFORM, self.deliver)

    # --- transports ---------------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        """`POST /slack/events` for HTTP mode; bolt checks the signature (401 when missing, wrong or stale)."""
        return [web.post("/slack/events", self._http_events)]

    async def _http_events(self, request: web.Request) -> web.Response:
        return await to_aiohttp_response(await self.app.async_dispatch(await to_bolt_request(request)))

    async def start_socket_mode(self) -> None:
        """Connect over Socket Mode (no public URL needed); requires `slack_app_token`."""
        if not self.settings.slack_app_token:
            raise RuntimeError("Socket Mode needs SLACK_APP_TOKEN (an xapp- app-level token)")
        self._socket = AsyncSocketModeHandler(self.app, self.settings.slack_app_token, web_client=self.client)
        await self._socket.connect_async()

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- commands -----------------------------------------------------------------------------------
    async def _on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        """Check and queue the command, ack within Slack's 3 s, then post the progress message."""
        name = str(command.get("command") or "/improv")
        text = f"{name} {command.get('text') or ''}".strip()
        channel, user = str(command.get("channel_id", "")), str(command.get("user_id", ""))
        try:
            submitted = await self.service.submit(platform=PLATFORM, user_id=f"slack:{user}", text=text,
                                                  channel=channel, delivery={"channel": channel, "user": user})
        except CommandError as e:
            await ack(text=f"```\n{e.pointer()}\n```\n{e.reason}")
            return
        except InputError as e:  # Refused: limits, full queue
            await ack(text=str(e))
            return
        except Exception:
            log.exception("slack command %r failed", text)
            await ack(text="Something went wrong on our side; please try again in a moment.")
            return
        if submitted.job is None:
            await ack(text=f"```\n{submitted.help}\n```")
            return
        await ack(text=f"Working on it: `{text}` ({submitted.job.progress_text()})")
        self._spawn(self._message_ts(submitted.job))

    # --- delivery -----------------------------------------------------------------------------------
    async def deliver(self, view: JobView) -> None:
        """Called by the service on every change of a Slack job: edit the message, upload when done."""
        ts = await self._message_ts(view)
        channel = str(view.delivery.get("channel", ""))
        if ts is None or not channel:
            return
        text = self._text(view)
        if view.status == "done" and view.outputs:
            try:
                await self._upload(view, channel)
            except (SlackApiError, OSError) as e:
                log.warning("uploading job %s to Slack failed: %s", view.id, e)
                text += " (the files could not be attached here; they are on the share page)"
        if self._shown.get(view.id) != text:
            await self.client.chat_update(channel=channel, ts=ts, text=text)
            self._shown[view.id] = text
        if view.finished:
            self._posting.pop(view.id, None)
            self._shown.pop(view.id, None)

    async def _message_ts(self, view: JobView) -> str | None:
        """The ts of the job's progress message, posted here first if it has none yet (once per job)."""
        async with self._posting.setdefault(view.id, asyncio.Lock()):
            fresh = await self.service.view(view.id) or view  # the delivery as stored now
            delivery = dict(fresh.delivery)
            if delivery.get("ts") or not delivery.get("channel"):
                return delivery.get("ts") or None
            text = self._text(fresh)
            response = await self.client.chat_postMessage(channel=delivery["channel"], text=text)
            delivery["ts"] = str(response["ts"])
            # Service has no setter for delivery; the store is the one place it lives.
            await self.service.set_delivery(view.id, delivery)
            self._shown[view.id] = text
            return delivery["ts"]

    async def _upload(self, view: JobView, channel: str) -> None:
        """Audio, MIDI and piano roll of each output, in one message with the recipe."""
        uploads: list[dict[str, Any]] = []
        for n, out in enumerate(view.outputs, 1):
            for key, what in (("audio", "audio"), ("midi", "MIDI"), ("pianoroll", "piano roll")):
                path = self.service.artifact(view.id, out[key])
                if path is None:
                    continue
                data = await asyncio.to_thread(Path.read_bytes, path)
                title = f"Melody {n} ({what})" if len(view.outputs) > 1 else f"Melody ({what})"
                uploads.append({"content": data, "filename": path.name, "title": title})
        if uploads:
            await self.client.files_upload_v2(file_uploads=uploads, channel=channel,
                                              initial_comment=self._recipe(view))

    # --- text ---------------------------------------------------------------------------------------
    @staticmethod
    def _text(view: JobView) -> str:
        user = view.delivery.get("user")
        who = f"<@{user}>: " if user else ""
        line = f"{who}`{view.command}`: {view.progress_text()}"
        if view.status == "done":
            line += f"  {view.share_url}"
        return line

    @staticmethod
    def _recipe(view: JobView) -> str:
        again = view.command if "seed:" in view.command else f"{view.command} seed:{view.seed}"
        return (f"`{view.command}`  model `{view.model}`, seed {view.seed}\n"
                f"Same again: `{again}`\nShare: {view.share_url}")

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception:
                log.exception("posting a Slack message failed")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
