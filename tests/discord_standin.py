"""A stand-in for Discord on 127.0.0.1: enough REST and gateway for the real discord.py client, recording calls.

REST (under /api/v10): GET /gateway/bot, /gateway, /users/@me, /oauth2/applications/@me; GET/PUT
/applications/{id}/commands and /applications/{id}/guilds/{guild}/commands; POST
/interactions/{id}/{token}/callback; PATCH/DELETE /webhooks/{app}/{token}/messages/@original; POST
/webhooks/{app}/{token}; POST /channels/{id}/messages. Files: GET /attachments/{id}/{name} serves attachments the
test registered. Gateway (GET /gateway as a websocket, JSON text frames): HELLO -> IDENTIFY -> READY, HEARTBEAT ->
HEARTBEAT_ACK, RESUME -> RESUMED, INTERACTION_CREATE on demand (`slash`, `autocomplete`, `press` for a
message's button, `submit_modal`, `message_command` for a context-menu command on a `user_message`), and
MESSAGE_CREATE for a user's `reply` to a message. Messages keep the components (buttons) and embeds the bot sent
with them.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

API = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000
EPHEMERAL = 64
OPTION_TYPES = {"string": 3, "integer": 4, "boolean": 5, "number": 10, "attachment": 11}
HELLO, IDENTIFY, HEARTBEAT, HEARTBEAT_ACK, DISPATCH, RESUME = 10, 2, 1, 11, 0, 6


@dataclass
class Call:
    """One REST request the bot made."""

    method: str
    path: str  # without the /api/v10 prefix
    body: dict[str, Any]  # JSON body, or the multipart `payload_json`
    files: list[tuple[str, bytes]] = field(default_factory=list)  # (filename, bytes) of uploaded files
    at: float = field(default_factory=time.monotonic)

    @property
    def message(self) -> dict[str, Any]:
        """The message part: the body itself, or `data` of an interaction callback."""
        return self.body.get("data") or {} if self.path.endswith("/callback") else self.body

    @property
    def content(self) -> str:
        return str(self.message.get("content") or "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.message.get("embeds") or [])

    @property
    def text(self) -> str:
        """What a reader sees as text: the content, then each embed's title, url, description and footer."""
        parts = [self.content]
        for e in self.embeds:
            parts += [str(e.get("title") or ""), str(e.get("url") or ""), str(e.get("description") or ""),
                      str((e.get("footer") or {}).get("text") or "")]
        return "\n".join(p for p in parts if p)

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.message.get("flags") or 0) & EPHEMERAL)


@dataclass(frozen=True)
class SentInteraction:
    id: str
    token: str
    channel_id: str
    user_id: str


class DiscordStandIn:
    """The server; `await start()`, then point the bot at `api_base`."""

    token = "standin-bot-token"
    bot_id = "900000000000000001"
    application_id = "900000000000000002"
    guild_id = "900000000000000003"

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.downloads: list[str] = []  # attachment paths fetched
        self.identified = asyncio.Event()  # set once READY went out
        self.commands: dict[str, dict[str, Any]] = {}  # synced global commands by name
        self.guild_commands: dict[str, dict[str, dict[str, Any]]] = {}  # guild id -> its synced commands by name
        self._attachments: dict[str, tuple[bytes, str]] = {}
        self._channels: dict[str, str] = {}  # interaction token -> channel id
        self._changed = asyncio.Condition()
        self._ws: web.WebSocketResponse | None = None
        self._seq = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 2**20)
        app.add_routes([
            web.get("/gateway", self._gateway),
            web.get(API + "/gateway/bot", self._gateway_bot),
            web.get(API + "/gateway", self._gateway_bot),
            web.get(API + "/users/@me", self._me),
            web.get(API + "/oauth2/applications/@me", self._app_info),
            web.get(API + "/applications/{app}/commands", self._get_commands),
            web.put(API + "/applications/{app}/commands", self._put_commands),
            web.get(API + "/applications/{app}/guilds/{guild}/commands", self._get_commands),
            web.put(API + "/applications/{app}/guilds/{guild}/commands", self._put_commands),
            web.get("/attachments/{id}/{name}", self._attachment),
            web.route("*", API + "/{tail:.*}", self._record),
        ])
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return self.base_url + API

    @property
    def bot_user(self) -> dict[str, Any]:
        return _user(self.bot_id, "tunesmith", bot=True)

    # --- what the test drives -----------------------------------------------------------------------
    async def slash(self, name: str, options: dict[str, Any], *, user_id: str = "700000000000000001",
                    channel_id: str = "800000000000000001",
                    attachments: dict[str, tuple[str, bytes]] | None = None) -> SentInteraction:
        """Send INTERACTION_CREATE for `/name` with `options` (name -> value, typed by the synced command).

        `attachments` maps an attachment option to (filename, bytes); the stand-in serves the bytes itself.
        """
        types = {o["name"]: o["type"] for o in self.command(name).get("options", [])}
        data: dict[str, Any] = {"id": self.command(name)["id"], "name": name, "type": 1, "guild_id": self.guild_id,
                                "options": [{"name": k, "type": types[k], "value": v} for k, v in options.items()]}
        for option, (filename, blob) in (attachments or {}).items():
            att_id = self.snowflake()
            self._attachments[att_id] = (blob, filename)
            url = f"{self.base_url}/attachments/{att_id}/{filename}"
            data.setdefault("resolved", {}).setdefault("attachments", {})[att_id] = {
                "id": att_id, "filename": filename, "size": len(blob), "url": url, "proxy_url": url,
                "content_type": "audio/midi" if filename.endswith(".mid") else "application/octet-stream"}
            data["options"].append({"name": option, "type": types[option], "value": att_id})
        return await self._interaction(2, data, user_id, channel_id)

    async def autocomplete(self, name: str, options: dict[str, Any], focused: str) -> SentInteraction:
        """Send an autocomplete interaction (type 4) with `focused` being typed."""
        types = {o["name"]: o["type"] for o in self.command(name).get("options", [])}
        data = {"id": self.command(name)["id"], "name": name, "type": 1, "guild_id": self.guild_id,
                "options": [{"name": k, "type": types[k], "value": v, **({"focused": True} if k == focused else {})}
                            for k, v in options.items()]}
        return await self._interaction(4, data, "700000000000000001", "800000000000000001")

    async def press(self, message: dict[str, Any], custom_id: str, *, user_id: str = "700000000000000001"
                    ) -> SentInteraction:
        """Press the button `custom_id` of a message the bot posted (a MESSAGE_COMPONENT interaction, type 3)."""
        ids = [b.get("custom_id") for row in message.get("components", []) for b in row.get("components", [])]
        assert custom_id in ids, f"the message has no button {custom_id!r}; it has {ids}"
        return await self._interaction(3, {"custom_id": custom_id, "component_type": 2}, user_id,
                                       str(message["channel_id"]), message=message)

    async def submit_modal(self, custom_id: str, values: dict[str, str], *, user_id: str = "700000000000000001",
                           channel_id: str = "800000000000000001") -> SentInteraction:
        """Submit the modal `custom_id` with its text inputs' values (a MODAL_SUBMIT interaction, type 5)."""
        rows = [{"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()]
        return await self._interaction(5, {"custom_id": custom_id, "components": rows}, user_id, channel_id)

    def user_message(self, content: str, files: dict[str, bytes], *, user_id: str = "700000000000000001",
                     channel_id: str = "800000000000000001") -> dict[str, Any]:
        """A message a user posted in a channel with `files` attached (filename -> bytes; served by the stand-in),
        as Discord hands it to a bot: the target of a message command."""
        message = self._message(channel_id, {"content": content}, list(files.items()))
        for a in message["attachments"]:
            a["content_type"] = "audio/midi" if a["filename"].endswith((".mid", ".midi")) else "text/plain"
        return {**message, "author": _user(user_id, "player")}

    async def message_command(self, name: str, message: dict[str, Any], *, user_id: str = "700000000000000001"
                              ) -> SentInteraction:
        """Run the message context-menu command `name` on `message` (an APPLICATION_COMMAND interaction, type 2,
        whose data.type is 3 (MESSAGE) and whose resolved messages hold the target)."""
        command = self.command(name)
        assert command["type"] == 3, f"{name!r} is not a message command: {command}"
        data = {"id": command["id"], "name": name, "type": 3, "guild_id": self.guild_id, "target_id": message["id"],
                "resolved": {"messages": {message["id"]: message}}}
        return await self._interaction(2, data, user_id, str(message["channel_id"]))

    async def reply(self, message: dict[str, Any], content: str, *, user_id: str = "700000000000000001",
                    mention: bool = True, files: dict[str, bytes] | None = None) -> dict[str, Any]:
        """A user's reply to `message` (a MESSAGE_CREATE of type 19, REPLY, carrying the replied message as
        Discord does); with `mention` the bot is in its mentions, as "@Tunesmith ..." or a reply that pings."""
        await asyncio.wait_for(self.identified.wait(), 30)
        sent = self._message(str(message["channel_id"]), {"content": content}, list((files or {}).items()))
        for a in sent["attachments"]:
            a["content_type"] = "audio/midi" if a["filename"].endswith((".mid", ".midi")) else "text/plain"
        sent.update({"type": 19, "guild_id": self.guild_id, "author": _user(user_id, "player"),
                     "mentions": [self.bot_user] if mention else [],
                     "message_reference": {"type": 0, "message_id": message["id"], "channel_id": message["channel_id"],
                                           "guild_id": self.guild_id},
                     "referenced_message": message})
        await self._dispatch("MESSAGE_CREATE", sent)
        return sent

    def command(self, name: str) -> dict[str, Any]:
        """A synced command by name: the global one, else this guild's (the guild the interactions come from)."""
        return self.commands.get(name) or self.guild_commands.get(self.guild_id, {})[name]

    def posted(self, call: Call) -> dict[str, Any]:
        """The message a recorded call posted or edited, as Discord would hand it back (with its components)."""
        channel = self._channels.get(call.path.split("/")[3], "0") if call.path.startswith("/webhooks/") else \
            call.path.split("/")[2]
        message = self._message(channel, call.message, call.files)
        return message

    async def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 30.0) -> Call:
        """The first recorded call matching `predicate`, waiting up to `timeout` seconds for it."""
        async with asyncio.timeout(timeout), self._changed:
            while True:
                for call in self.calls:
                    if predicate(call):
                        return call
                await self._changed.wait()

    def calls_for(self, sent: SentInteraction) -> list[Call]:
        """Every call made with this interaction's id or token, in order."""
        return [c for c in self.calls if f"/{sent.token}" in c.path]

    def snowflake(self) -> str:
        return str(((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(self._ids) & 0xFFF))

    # --- gateway ------------------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_json({"op": HELLO, "d": {"heartbeat_interval": 41250}})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            op = payload.get("op")
            if op == HEARTBEAT:
                await ws.send_json({"op": HEARTBEAT_ACK})
            elif op == IDENTIFY:
                await self._dispatch("READY", {
                    "v": 10, "user": self.bot_user, "guilds": [], "session_id": "standin-session",
                    "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
                    "application": {"id": self.application_id, "flags": 0}})
                self.identified.set()
            elif op == RESUME:
                await self._dispatch("RESUMED", {})
        return ws

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        assert self._ws is not None, "the bot has not connected to the gateway"
        self._seq += 1
        await self._ws.send_json({"op": DISPATCH, "t": event, "s": self._seq, "d": data})

    async def _interaction(self, kind: int, data: dict[str, Any], user_id: str, channel_id: str,
                           message: dict[str, Any] | None = None) -> SentInteraction:
        await asyncio.wait_for(self.identified.wait(), 30)
        sent = SentInteraction(self.snowflake(), f"token-{next(self._ids)}", channel_id, user_id)
        self._channels[sent.token] = channel_id
        now = datetime.datetime.now(datetime.UTC).isoformat()
        await self._dispatch("INTERACTION_CREATE", {
            "id": sent.id, "application_id": self.application_id, "type": kind, "data": data, "token": sent.token,
            "version": 1, "guild_id": self.guild_id, "channel_id": channel_id, "locale": "en-US",
            "channel": {"id": channel_id, "type": 0, "guild_id": self.guild_id, "name": "music", "position": 0,
                        "permission_overwrites": [], "nsfw": False, "parent_id": None},
            "member": {"user": _user(user_id, "player"), "roles": [], "joined_at": now, "deaf": False,
                       "mute": False, "flags": 0, "permissions": "2248473465835073"},
            "app_permissions": "2248473465835073", "entitlements": [], "authorizing_integration_owners": {"0": "1"},
            "context": 0, "attachment_size_limit": 10 * 2**20, **({"message": message} if message else {})})
        return sent

    # --- REST ---------------------------------------------------------------------------------------
    async def _gateway_bot(self, request: web.Request) -> web.Response:
        return _json({"url": f"ws://127.0.0.1:{self.port}/gateway", "shards": 1, "session_start_limit": {
            "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})

    async def _me(self, request: web.Request) -> web.Response:
        return _json(self.bot_user)

    async def _app_info(self, request: web.Request) -> web.Response:
        return _json({"id": self.application_id, "name": "Tunesmith", "description": "", "icon": None,
                                  "bot_public": True, "bot_require_code_grant": False, "owner": _user("1", "owner"),
                                  "verify_key": "00", "flags": 0})

    async def _get_commands(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild")
        return _json(list((self.guild_commands.get(guild, {}) if guild else self.commands).values()))

    async def _put_commands(self, request: web.Request) -> web.Response:
        """Replace the global commands, or one guild's (PUT .../guilds/{guild}/commands)."""
        body = await request.json()
        guild = request.match_info.get("guild")
        synced = {c["name"]: {"id": self.snowflake(), "application_id": self.application_id, "version": "1",
                              "type": 1, "description": "", "default_member_permissions": None,
                              **({"guild_id": guild} if guild else {}), **c} for c in body}
        if guild:
            self.guild_commands[guild] = synced
        else:
            self.commands = synced
        await self._note(Call("PUT", request.path[len(API):], {"commands": body}))
        return _json(list(synced.values()))

    async def _attachment(self, request: web.Request) -> web.Response:
        self.downloads.append(request.path)
        blob, _ = self._attachments.get(request.match_info["id"], (b"", ""))
        return web.Response(body=blob, status=200 if blob else 404)

    async def _record(self, request: web.Request) -> web.StreamResponse:
        body, files = await _read_body(request)
        path = request.path[len(API):]
        await self._note(Call(request.method, path, body, files))
        parts = path.strip("/").split("/")
        if request.method == "POST" and path.endswith("/callback"):  # /interactions/{id}/{token}/callback
            return _json({"interaction": {
                "id": parts[1], "type": 2, "response_message_loading": body.get("type") == 5,
                "response_message_ephemeral": bool(int((body.get("data") or {}).get("flags") or 0) & EPHEMERAL)},
                "resource": {"type": body.get("type")}})
        if request.method == "DELETE":
            return web.Response(status=204)
        if parts[0] == "webhooks" or (parts[0] == "channels" and request.method == "POST"):
            channel = parts[1] if parts[0] == "channels" else self._channels.get(parts[2], "0")
            return _json(self._message(channel, body, files))
        return _json({"message": f"the stand-in has no {request.method} {path}", "code": 0}, status=404)

    def _message(self, channel_id: str, body: dict[str, Any], files: list[tuple[str, bytes]]) -> dict[str, Any]:
        now = datetime.datetime.now(datetime.UTC).isoformat()
        attachments = []
        for name, blob in files:
            att_id = self.snowflake()
            self._attachments[att_id] = (blob, name)
            url = f"{self.base_url}/attachments/{att_id}/{name}"
            attachments.append({"id": att_id, "filename": name, "size": len(blob), "url": url, "proxy_url": url})
        return {"id": self.snowflake(), "channel_id": channel_id, "type": 0, "content": body.get("content") or "",
                "author": self.bot_user, "attachments": attachments, "mentions": [],
                "mention_roles": [], "pinned": False, "mention_everyone": False, "tts": False, "timestamp": now,
                "edited_timestamp": None, "flags": int(body.get("flags") or 0),
                "components": body.get("components") or [], "embeds": body.get("embeds") or []}

    async def _note(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()


async def _read_body(request: web.Request) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """JSON, or multipart with `payload_json` and `files[n]` parts."""
    if request.content_type.startswith("multipart/"):
        body: dict[str, Any] = {}
        files = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "payload_json":
                body = json.loads(await part.text())
            else:
                files.append((part.filename or "", bytes(await part.read())))
        return body, files
    if request.can_read_body:
        return await request.json(), []
    return {}, []


def _json(data: Any, status: int = 200) -> web.Response:
    """JSON with the bare content type discord.py checks for (aiohttp's json_response adds a charset)."""
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def _user(user_id: str, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {"id": user_id, "username": name, "discriminator": "0", "global_name": None, "avatar": None, "bot": bot}
