"""A stand-in Slack Web API on 127.0.0.1 (aiohttp, port 0) that records every call, and Slack's request signing.

Answers what Tunesmith's Slack front end calls: auth.test, chat.postMessage, chat.update (keeping the blocks),
chat.postEphemeral, conversations.join, files.getUploadURLExternal, the upload POST to the URL it hands out,
files.completeUploadExternal, and response URLs (`response_url(name)`: POSTs recorded as "response_url" calls);
and for Socket Mode apps.connections.open (with the xapp- token) and the WebSocket it points at, where tests push
envelopes and the app's acks are recorded as "socket.ack" calls. Like Slack it checks tokens (`Authorization:
Bearer ...`), answers 200 with `{"ok": false, "error": ...}`, and knows where the bot is not a member: in a public
channel of `not_joined` it may post (chat:write.public) but not share files until it joins; in a conversation of
`private` (a private channel or DM it is not in) it can do neither, nor join. Like Slack it fetches the image of an
image block and refuses the message (invalid_blocks) when that fails.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientError, ClientSession, ClientTimeout, WSMsgType, web


@dataclass
class Call:
    """One request the stand-in received."""

    method: str  # "chat.postMessage", ..., or "upload" for the POST to an upload URL
    params: dict[str, Any]  # query, form and JSON fields together
    body: bytes = b""
    filename: str = ""  # for "upload": the name given to files.getUploadURLExternal
    file_id: str = ""


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    data: bytes = b""
    title: str = ""


@dataclass
class SlackStandIn:
    """Start with `await standin.start()`; point `AsyncWebClient(base_url=standin.api_base)` at it."""

    bot_token: str = "xoxb-test-token"
    app_token: str = "xapp-test-token"
    calls: list[Call] = field(default_factory=list)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # ts -> the message as it stands
    not_joined: set[str] = field(default_factory=set)  # public channels the bot is not in (yet)
    private: set[str] = field(default_factory=set)  # private channels and DMs the bot is not in
    expired: set[str] = field(default_factory=set)  # response URL names past their 30 minutes
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    base: str = ""

    @property
    def api_base(self) -> str:
        return f"{self.base}/api/"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 2**20)
        app.add_routes([web.post("/api/{method}", self._api), web.post("/upload/{file_id}", self._upload),
                        web.get("/socket", self._socket), web.post("/response/{name}", self._response)])
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"

    async def close(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what tests use ---------------------------------------------------------------------------------
    def response_url(self, name: str) -> str:
        """A response URL as Slack hands one with a command or a button press; POSTs to it are recorded."""
        return f"{self.base}/response/{name}"

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, match: Callable[[Call], bool] = lambda c: True, *,
                       timeout: float = 30.0, count: int = 1) -> list[Call]:
        """The first `count` recorded calls of `method` matching `match`, waiting up to `timeout` s for them."""

        def found() -> list[Call]:
            return [c for c in self.of(method) if match(c)]

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(found()) >= count)
        return found()[:count]

    async def socket_send(self, envelope: dict[str, Any], *, timeout: float = 10.0) -> None:
        """Push a Socket Mode envelope to the connected app (waiting for it to connect)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: any(not ws.closed for ws in self._sockets))
        await next(ws for ws in reversed(self._sockets) if not ws.closed).send_json(envelope)

    # --- the API -----------------------------------------------------------------------------------
    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        async with self._changed:
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        images_load = await self._images_load(params.get("blocks"))  # before the call is seen: Slack answers after
        await self._record(Call(method, params))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or params.get("token", "")
        if token != (self.app_token if method == "apps.connections.open" else self.bot_token):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        if not images_load:
            return web.json_response({"ok": False, "error": "invalid_blocks"})
        result: dict[str, Any] = handler(params)
        return web.json_response(result if "ok" in result else {"ok": True, **result})

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://tunesmith-test.slack.com/", "team": "Test", "user": "tunesmith", "team_id": "T0TEST",
                "user_id": "U0BOT", "bot_id": "B0BOT"}

    def _apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"{self.base.replace('http://', 'ws://')}/socket"}

    def _chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("channel") or p["channel"] in self.private:
            return {"ok": False, "error": "channel_not_found"}
        ts = f"{time.time():.0f}.{next(self._ids):06d}"
        self.messages[ts] = {"channel": p["channel"], "ts": ts, "text": p.get("text", "")}
        return {"channel": p["channel"], "ts": ts, "message": self.messages[ts]}

    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get(str(p.get("ts")))
        if message is None or message["channel"] != p.get("channel"):
            return {"ok": False, "error": "message_not_found"}
        message["text"] = p.get("text", "")
        blocks = p.get("blocks")
        message["blocks"] = json.loads(blocks) if isinstance(blocks, str) else blocks or []
        return {"channel": message["channel"], "ts": message["ts"], "text": message["text"]}

    def _chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("channel") or not p.get("user"):
            return {"ok": False, "error": "invalid_arguments"}
        if p["channel"] in self.private:
            return {"ok": False, "error": "channel_not_found"}
        return {"message_ts": f"{time.time():.6f}"}

    def _conversations_join(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("channel") in self.private:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        self.not_joined.discard(str(p.get("channel")))
        return {"channel": {"id": p.get("channel"), "is_member": True}}

    def _files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or not str(p.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = UploadedFile(file_id, p["filename"], int(p["length"]))
        return {"upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = p.get("channel_id") or p.get("channels") or ""
        if channel in self.private:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.not_joined:  # chat:write.public covers messages, not files
            return {"ok": False, "error": "not_in_channel"}
        try:
            listed = json.loads(p.get("files", ""))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for item in listed:
            f = self.files.get(item.get("id", ""))
            if f is None or len(f.data) != f.length:
                return {"ok": False, "error": "file_not_found"}
            f.title = item.get("title", f.filename)
            done.append({"id": f.id, "name": f.filename, "title": f.title, "size": f.length})
        return {"files": done}

    async def _upload(self, request: web.Request) -> web.Response:
        f = self.files.get(request.match_info["file_id"])
        body = await request.read()
        await self._record(Call("upload", {}, body=body, filename=f.filename if f else "",
                                file_id=request.match_info["file_id"]))
        if f is None:
            return web.Response(status=404, text="no such upload")
        f.data = body
        return web.Response(text=f"OK - {len(body)}")


    async def _response(self, request: web.Request) -> web.Response:
        """A POST to a response URL: JSON {text, blocks, response_type, ...}; Slack answers plain "ok"."""
        name = request.match_info["name"]
        body = await request.json()
        images_load = await self._images_load(body.get("blocks"))
        await self._record(Call("response_url", {**body, "url_name": name}))
        if name in self.expired:
            return web.Response(status=404, text="expired_url")
        if not images_load:
            return web.Response(status=400, text="invalid_blocks")
        return web.Response(text="ok")

    async def _images_load(self, blocks: Any) -> bool:
        """Whether every image block's image can be fetched (Slack fetches it, and refuses the message if not)."""
        listed = json.loads(blocks) if isinstance(blocks, str) and blocks else blocks or []
        urls = [b.get("image_url", "") for b in listed if isinstance(b, dict) and b.get("type") == "image"]
        for url in urls:
            try:
                async with ClientSession() as http, http.get(url, timeout=ClientTimeout(total=5)) as res:
                    if res.status != 200:
                        return False
            except (ClientError, TimeoutError, ValueError):
                return False
        return True

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP"}})
        async with self._changed:
            self._changed.notify_all()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await self._record(Call("socket.ack", json.loads(msg.data)))
        return ws


def slash_command_envelope(command: str, text: str, *, envelope_id: str = "env-1", **fields: str) -> dict[str, Any]:
    """A Socket Mode envelope carrying a slash command, as Slack pushes it."""
    payload = {"team_id": "T0TEST", "channel_id": "C0CHAN", "user_id": "U0USER", "command": command, "text": text,
               "api_app_id": "A0APP", "response_url": "https://hooks.slack.invalid/commands/1", **fields}
    return {"envelope_id": envelope_id, "type": "slash_commands", "accepts_response_payload": True,
            "payload": payload}


def signed_block_action(secret: str, action_id: str, value: str, *, user_id: str = "U0USER",
                        channel_id: str = "C0CHAN", message_ts: str = "",
                        response_url: str = "https://hooks.slack.invalid/actions/1") -> tuple[str, dict[str, str]]:
    """A button press (block_actions) as Slack posts it to the request URL: a form with one `payload` field."""
    payload = {"type": "block_actions", "team": {"id": "T0TEST"}, "user": {"id": user_id, "team_id": "T0TEST"},
               "api_app_id": "A0APP", "channel": {"id": channel_id, "name": "music"}, "trigger_id": "1.2.3",
               "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id},
               "response_url": response_url,
               "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                            "action_ts": f"{time.time():.6f}"}]}
    return _signed(secret, urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def signed_event(secret: str, event: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """An Events API callback (e.g. a message in a thread) as Slack posts it: signed JSON."""
    body = json.dumps({"token": "legacy-unused", "team_id": "T0TEST", "api_app_id": "A0APP", "type": "event_callback",
                       "event": event, "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()),
                       "authorizations": [{"team_id": "T0TEST", "user_id": "U0BOT", "is_bot": True}]})
    return _signed(secret, body, "application/json")


def _signed(secret: str, body: str, content_type: str) -> tuple[str, dict[str, str]]:
    ts = str(int(time.time()))
    return body, {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                  "X-Slack-Signature": slack_signature(secret, ts, body)}


def slack_signature(secret: str, timestamp: str, body: str) -> str:
    """Slack's v0 request signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_slash_command(secret: str, command: str, text: str, *, timestamp: float | None = None,
                         user_id: str = "U0USER", channel_id: str = "C0CHAN",
                         **extra: str) -> tuple[str, dict[str, str]]:
    """A slash-command form body as Slack posts it, and the headers signing it (timestamp defaults to now)."""
    fields = {"token": "legacy-unused", "team_id": "T0TEST", "team_domain": "tunesmith-test",
              "channel_id": channel_id, "channel_name": "music", "user_id": user_id, "user_name": "tester",
              "command": command, "text": text, "api_app_id": "A0APP",
              "response_url": "https://hooks.slack.invalid/commands/1", "trigger_id": "1.2.3", **extra}
    body = urlencode(fields)
    ts = str(int(time.time() if timestamp is None else timestamp))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
               "X-Slack-Signature": slack_signature(secret, ts, body)}
    return body, headers
