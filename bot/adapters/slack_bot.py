"""Slack front end: the grammar's slash commands through slack-bolt, progress and files through the Web API."""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import hmac
import logging
import re
import time
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_reach import VIA_RESPONSE_URL, Reach, refused_for_membership
from bot.adapters.slack_remix import ACTION_ID, SlackRemixes, result_blocks
from bot.command_line import MAX_COMMAND_CHARS
from bot.commands import COMMANDS, CommandError
from bot.remix import Caller, Remixer
from bot.service import JobView, Service
from bot.settings import Settings
from bot.store import StoreUnavailable
from generation.errors import InputError

log = logging.getLogger(__name__)

PLATFORM = "slack"

# A command is at most MAX_COMMAND_CHARS (4,000) characters: even all 4-byte emoji, percent-encoded (12 bytes
# each), with Slack's other form fields, fit in 64 KB. Anything larger is refused before it is verified or parsed.
MAX_BODY_BYTES = 64 * 1024
READ_TIMEOUT_S = 10.0  # Slack sends its few KB at once; a body trickling in longer is not Slack
WINDOW_S = 300  # Slack's own rule: a timestamp more than 5 minutes from now is refused
MAX_REMEMBERED = 20_000  # signatures kept for replay checks (about 70 requests a second for 5 minutes)
LOG_PREFIX_CHARS = 80  # how much of a refused body the log shows
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class Refused(Exception):
    """An HTTP request we answer with `status` and `message` (short plain text) and start nothing for."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class ReplayGuard:
    """The signatures of accepted requests, each kept until its timestamp leaves Slack's window.

    Memory is bounded: past `limit` entries the one closest to expiry is dropped (only requests that passed
    the signature check are remembered, so only real Slack traffic can fill it).
    """

    def __init__(self, window_s: float = WINDOW_S, limit: int = MAX_REMEMBERED) -> None:
        self.window_s, self.limit = window_s, limit
        self._expiry: list[tuple[float, str]] = []  # heap of (time it may be forgotten, signature)
        self._seen: set[str] = set()

    def __len__(self) -> int:
        return len(self._seen)

    def first_time(self, signature: str, timestamp: int, now: float) -> bool:
        """Record `signature`; False when it was already seen within the window."""
        while self._expiry and (self._expiry[0][0] < now or len(self._seen) >= self.limit):
            self._seen.discard(heapq.heappop(self._expiry)[1])
        if signature in self._seen:
            return False
        self._seen.add(signature)
        heapq.heappush(self._expiry, (timestamp + self.window_s, signature))
        return True


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
        # The token travels in the client (bolt warns when given both and uses the client's). Bolt's own
        # signature check is off: ours in _http_events runs first on a capped body, refuses replays and never
        # logs a body in full (bolt's logs the whole of each forged one); Socket Mode needs none.
        self.app = AsyncApp(name="tunesmith", signing_secret=settings.slack_signing_secret, client=self.client,
                            request_verification_enabled=False)
        self._secret = settings.slack_signing_secret.encode()
        self._replays = ReplayGuard()
        self.remixer = Remixer(service)
        self.reach = Reach(self.client, settings.slack_api_base)  # channels the bot is not in
        self._images = bool(settings.share_base_url)  # Slack fetches a piano roll only from a public address
        for name in (*COMMANDS, "history"):  # each must also be created in the Slack app's settings (see deploy/)
            self.app.command(f"/{name}")(self._on_command)
        # Buttons under a result, and replies in its thread (the app subscribes to message events for them).
        self.remixes = SlackRemixes(self.remixer, self.client, lambda job: self._spawn(self._message_ts(job)),
                                    self.reach)
        self.app.action(ACTION_ID)(self.remixes.on_action)
        self.app.event("message")(self.remixes.on_message)
        self._socket: AsyncSocketModeHandler | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._posting: dict[str, asyncio.Lock] = {}  # job id -> lock around posting its progress message
        self._shown: dict[str, str] = {}  # job id -> text the progress message shows now
        service.register_deliverer(PLATFORM, self.deliver)

    # --- transports ---------------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        """`POST /slack/events` for HTTP mode (413 over 64 KB; 401 unsigned, forged, stale or replayed)."""
        return [web.post("/slack/events", self._http_events)]

    async def _http_events(self, request: web.Request) -> web.Response:
        """Cap, verify and de-duplicate a request, then hand it to bolt (which acks within Slack's 3 s)."""
        body = b""
        try:
            body = await _read_capped(request)
            timestamp, signature = self._verify(request.headers, body)
            if request.headers.get("X-Slack-Retry-Num"):  # Slack resending one we were slow on: done already
                return web.Response(text="", headers={"X-Slack-No-Retry": "1"})
            if not self._replays.first_time(signature, timestamp, time.time()):
                raise Refused(401, "Slack request refused: this exact request was already received (replays "
                                   "are refused).")
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise Refused(400, "Slack request refused: the body is not UTF-8 text.") from None
        except Refused as e:
            size = len(body) if body else request.content_length
            log.warning("Slack request refused (%s %s): %s bytes from %s, starting %r", e.status, e.message,
                        size if size is not None else "unknown", request.remote,
                        body[:LOG_PREFIX_CHARS].decode("utf-8", "replace"))
            return web.Response(status=e.status, text=e.message)
        bolt_request = AsyncBoltRequest(body=text, query=request.query_string,
                                        headers=request.headers)  # type: ignore[arg-type]  # a str mapping
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    def _verify(self, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        """Slack's v0 signature over `v0:{timestamp}:{body}`; returns the timestamp and signature.

        Raises:
            Refused: 401 saying which part is missing, malformed, out of the 5-minute window or wrong.
        """
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not timestamp or not signature:
            raise Refused(401, "Slack request refused: the X-Slack-Request-Timestamp and X-Slack-Signature "
                               "headers are required.")
        if not (len(timestamp) <= 12 and timestamp.isascii() and timestamp.isdigit()):
            raise Refused(401, "Slack request refused: X-Slack-Request-Timestamp must be whole seconds since "
                               "1970 (digits only).")
        if abs(time.time() - int(timestamp)) > WINDOW_S:
            raise Refused(401, "Slack request refused: its timestamp is more than 5 minutes from now.")
        expected = hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        if not (_SIGNATURE.fullmatch(signature) and hmac.compare_digest(f"v0={expected}", signature)):
            raise Refused(401, "Slack request refused: the signature does not match.")
        return int(timestamp), signature

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
        delivery = {"channel": channel, "user": user, "response_url": str(command.get("response_url") or "")}
        try:
            submitted = await self.remixer.submit(Caller(PLATFORM, f"slack:{user}", channel, delivery=delivery), text)
        except CommandError as e:  # a pointer only where there is a token to point at
            await ack(text=f"```\n{e.pointer()}\n```\n{e.reason}" if e.token else e.reason)
            return
        except (InputError, StoreUnavailable) as e:  # Refused: limits, full queue; the records unavailable
            await ack(text=str(e))
            return
        except Exception:
            log.exception("slack command %r (%d characters) failed", text[:LOG_PREFIX_CHARS], len(text))
            await ack(text="Something went wrong on our side; please try again in a moment.")
            return
        if submitted.job is None:
            await ack(text=f"```\n{submitted.help}\n```")
            return
        await ack(text=f"Working on it: `{text}` ({submitted.job.progress_text()})")
        self._spawn(self._message_ts(submitted.job))

    # --- delivery -----------------------------------------------------------------------------------
    async def deliver(self, view: JobView) -> None:
        """Called by the service on every change of a Slack job: edit the message, upload when done. Where the bot
        cannot post (a private channel or DM it is not in), the result goes through the command's response_url."""
        ts = await self._message_ts(view)
        channel = str(view.delivery.get("channel", ""))
        if ts is None or not channel:
            if view.finished:
                await self._respond(view)
            return
        text = self._text(view)
        if view.status == "done" and view.outputs:
            try:  # sharing files needs membership: a public channel is joined on demand
                await self.reach.call(channel, lambda: self._upload(view, channel))
            except (SlackApiError, OSError) as e:
                log.warning("uploading job %s to Slack failed: %s", view.id, e)
                text += " (the files could not be attached here; they are on the share page)"
        if self._shown.get(view.id) != text:
            blocks = result_blocks(view, text, images=self._images) if view.finished else None
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            self._shown[view.id] = text
        if view.finished:
            self._posting.pop(view.id, None)
            self._shown.pop(view.id, None)

    async def _message_ts(self, view: JobView) -> str | None:
        """The ts of the job's progress message, posted here first if it has none yet (once per job); None where
        the conversation is out of the bot's reach and the result will go through the response_url."""
        async with self._posting.setdefault(view.id, asyncio.Lock()):
            fresh = await self.service.view(view.id) or view  # the delivery as stored now
            delivery = dict(fresh.delivery)
            channel = str(delivery.get("channel") or "")
            if delivery.get("ts") or delivery.get(VIA_RESPONSE_URL) or not channel:
                return delivery.get("ts") or None
            text = self._text(fresh)
            try:
                response = await self.reach.call(channel, lambda: self.client.chat_postMessage(channel=channel,
                                                                                                text=text))
            except SlackApiError as e:
                if not refused_for_membership(e) or not self.reach.usable(str(delivery.get("response_url", ""))):
                    raise
                log.info("job %s: the bot cannot post in %s (%s); its result goes through the response_url",
                         view.id, channel, e.response.get("error"))
                await self.service.set_delivery(view.id, {VIA_RESPONSE_URL: True})
                return None
            delivery["ts"] = str(response["ts"])
            # Service has no setter for delivery; the store is the one place it lives.
            await self.service.set_delivery(view.id, delivery)
            self._shown[view.id] = text
            return delivery["ts"]

    async def _respond(self, view: JobView) -> None:
        """A finished job in a conversation the bot cannot post in: its result (buttons included) in the channel
        through the command's response_url; the files stay on the share page."""
        d = (await self.service.view(view.id) or view).delivery
        if not d.get(VIA_RESPONSE_URL):
            return
        text = self._text(view) + (" (audio, MIDI and piano roll on the share page)" if view.status == "done" else "")
        if not await self.reach.respond(str(d.get("response_url", "")), text,
                                        result_blocks(view, text, images=self._images)):
            log.warning("job %s: its result could not be posted in %s (the bot is not in it and the command's "
                        "response_url was refused; it lasts 30 minutes)", view.id, d.get("channel"))

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


async def _read_capped(request: web.Request, cap: int = MAX_BODY_BYTES) -> bytes:
    """The body, read in chunks and refused (413) past `cap` bytes or 408 past READ_TIMEOUT_S."""
    too_big = Refused(413, f"Slack request refused: the body is over {cap // 1024} KB; Slack's requests are "
                           f"smaller, and a command may be at most {MAX_COMMAND_CHARS:,} characters.")
    if request.content_length is not None and request.content_length > cap:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            while chunk := await request.content.read(cap + 1 - size):
                chunks.append(chunk)
                size += len(chunk)
                if size > cap:
                    raise too_big
    except TimeoutError:
        raise Refused(408, f"Slack request refused: the body took over {READ_TIMEOUT_S:g} s to arrive.") from None
    return b"".join(chunks)
