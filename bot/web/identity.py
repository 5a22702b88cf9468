"""Who is calling the web chat or the HTTP API: the chat's signed cookie, else the API caller's label kept apart
per network address, and that address (behind the configured reverse proxy, the one it forwarded).

The identity keys limits, history and stars, so a caller never chooses it: the server picks the chat's identity
and signs it (one per browser, kept a year), and an API label only names users within one address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from aiohttp import web

from bot.service import Service

SERVICE = web.AppKey("service", Service)
SECRET = web.AppKey("secret", bytes)
USER_COOKIE = "tunesmith_user"


def secret_key(data_dir: Path) -> bytes:
    """The key that signs chat identities: made once per data folder, readable by the bot's user only."""
    path = data_dir / "secret.key"
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    path.touch(mode=0o600)
    path.write_bytes(key)
    return key


def sign(key: bytes, user: str) -> str:
    return f"{user}.{hmac.new(key, user.encode(), hashlib.sha256).hexdigest()[:32]}"


def chat_user(request: web.Request) -> str | None:
    """The chat identity from our signed cookie; None when absent or forged."""
    raw = request.cookies.get(USER_COOKIE, "")
    user, _, _ = raw.partition(".")
    if user and len(raw) < 100 and hmac.compare_digest(sign(request.app[SECRET], user), raw):
        return user
    return None


def address(request: web.Request) -> str:
    """The caller's network address; behind the configured reverse proxy, the address it forwarded."""
    remote = request.remote or "unknown"
    proxy = request.app[SERVICE].settings.trusted_proxy
    if proxy and remote == proxy:
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        return forwarded[:64] or remote
    return remote


def user_id(request: web.Request, label: object = None) -> str:
    """The caller as the service knows it: the chat's signed identity; else the API caller's own label, kept apart
    per address; else the address."""
    where = address(request)
    user = chat_user(request) or (f"{where}/{label[:64]}" if isinstance(label, str) and label else where)
    return f"web:{user}"
