"""Routes: `/` chat page, `POST /api/commands`, `GET /api/jobs/{id}`, `/s/{token}` share pages and their files.

Everything from outside is bounded before it is read: body sizes, read time, JSON depth (by size), multipart
parts; every answer carries security headers; nothing unexpected becomes a traceback.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, web

from bot.attachments import Attachment
from bot.commands import CHAT_COMMANDS, CommandError
from bot.remix import Remixer
from bot.service import Refused, Service
from bot.store import StoreUnavailable
from bot.web.identity import SECRET, SERVICE, USER_COOKIE, chat_user, secret_key, sign
from bot.web.pages import share_page
from bot.web.remix_api import REMIXER, caller, error, job_accepted, jobs_json, remix_routes
from generation.errors import InputError

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_JSON_BYTES = 64 * 1024  # a command is at most 4,000 characters; JSON around it is small
MAX_TEXT_FIELD_BYTES = 64 * 1024
MAX_PARTS = 8
MAX_FILES = 2  # MIDI files one command reads at most (/interpolate: two)
CONTENT_TYPES = {".ogg": "audio/ogg", ".mp3": "audio/mpeg", ".wav": "audio/wav", ".mid": "audio/midi",
                 ".png": "image/png"}
USAGE = 'send JSON like {"text": "/improv C G Am F primer:60"}'


def _chat_html() -> bytes:
    """The chat page, its header listing one example per registered command (built once, from the registry)."""
    examples = ", ".join(f"<code>{html.escape(c.first_example)}</code>" for c in CHAT_COMMANDS.values())
    return (STATIC / "chat.html").read_text(encoding="utf-8").replace("<!--commands-->", examples).encode()


CHAT_HTML = _chat_html()


def create_app(service: Service, extra_routes: list[web.RouteDef] | None = None) -> web.Application:
    # The largest body we take is a multipart with MAX_FILES MIDI files; everything else is far smaller.
    max_body = MAX_FILES * service.settings.max_attachment_bytes + MAX_TEXT_FIELD_BYTES
    app = web.Application(client_max_size=max_body, middlewares=[_guard(service.settings.public_url, max_body)])
    app[SERVICE] = service
    app[SECRET] = secret_key(service.settings.data_dir)
    app[REMIXER] = Remixer(service)
    app.add_routes([
        web.get("/", chat_page),
        web.get("/healthz", healthz),
        web.post("/api/commands", post_command),
        web.get("/api/jobs/{job_id}", get_job),
        *remix_routes(),
        web.get("/s/{token}", get_share_page),
        web.get("/s/{token}/files/{name}", get_file),
        web.static("/static", STATIC),
        *(extra_routes or []),
    ])
    return app


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guard(public_url: str, max_body: int) -> Any:
    """Security headers on every answer; known failures as clear JSON; the unknown as a plain 500, logged."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(public_url)) if public_url else ""
    media = f"'self' {origin}".strip()
    headers = {
        "Content-Security-Policy": (f"default-src 'self'; img-src {media} data:; media-src {media}; "
                                    "style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; "
                                    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPRequestEntityTooLarge:
            response = error(413, f"the request is too large: at most {max_body:,} bytes "
                              "(a command is short text plus at most one MIDI file)")
        except web.HTTPException as e:  # 404s and the like: answered here, so they get the headers too
            response = web.Response(status=e.status, reason=e.reason, text=e.text,
                                    headers={k: v for k, v in e.headers.items() if k != "Content-Length"})
        except StoreUnavailable as e:  # the store has logged the cause
            if request.path.startswith("/api/"):
                response = error(503, str(e))
            else:
                response = web.Response(status=503, text=f"Tunesmith: {e}", content_type="text/plain")
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception:
            log.exception("unexpected error answering %s %s", request.method, request.path)
            response = error(500, "something went wrong on our side; it has been logged. Try again later.")
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    return guard


async def chat_page(request: web.Request) -> web.StreamResponse:
    response = web.Response(body=CHAT_HTML, content_type="text/html", charset="utf-8")
    if chat_user(request) is None:  # new, or a cookie we did not sign: the server picks the identity
        response.set_cookie(USER_COOKIE, sign(request.app[SECRET], secrets.token_urlsafe(12)),
                            max_age=365 * 86400, samesite="Strict", httponly=True)
    return response


async def healthz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    ready = getattr(service.queue, "ready", None)
    workers_ready = ready.is_set() if ready is not None else True
    # Liveness: the web side is up; `workers_ready` says whether the models have warmed up yet, and `warmup`
    # how long that has taken so far against how long it took last time (the chat shows it as progress).
    body: dict[str, Any] = {"ok": True, "workers_ready": workers_ready, "waiting": service.queue.waiting}
    elapsed = getattr(service.queue, "warmup_elapsed_s", None)
    expected = getattr(service.queue, "warmup_expected_s", None)
    if isinstance(elapsed, float) and isinstance(expected, float):
        body["warmup"] = {"elapsed_s": round(elapsed, 1), "expected_s": round(expected, 1)}
    return web.json_response(body)


async def post_command(request: web.Request) -> web.Response:
    """JSON {"text": "/improv C G Am F", "user": optional} or multipart with `text` and a `primer` MIDI file."""
    service = request.app[SERVICE]
    try:
        async with asyncio.timeout(service.settings.request_timeout_s):  # half-sent bodies
            if request.content_type.startswith("multipart/"):
                data, files = await _read_multipart(request, service.settings.max_attachment_bytes)
            else:
                data, files = await _read_json(request), []
    except TimeoutError:
        return error(408, f"the request body did not arrive within {service.settings.request_timeout_s:g} s")
    except _BadBody as e:
        return error(e.status, str(e))
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        return error(400, 'the command is missing: {"text": "/improv C G Am F primer:60"}')
    reply_to = data.get("reply_to") or ""
    if not isinstance(reply_to, str):
        return error(400, 'reply_to is the job_id of the result replied to, e.g. {"text": "bars:16", '
                      '"reply_to": "<job_id>"}')
    try:
        submitted = await request.app[REMIXER].submit(caller(request, data.get("user")), text, attachments=files,
                                                      reply_to=reply_to)
    except CommandError as e:
        return error(400, str(e), pointer=e.pointer(), token=e.token)
    except Refused as e:
        return error(429 if e.busy else 400, str(e))
    except InputError as e:
        return error(400, str(e))
    if submitted.kind == "help":
        return web.json_response({"help": submitted.help})
    return await job_accepted(request, submitted)


class _BadBody(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def _read_json(request: web.Request) -> dict[str, Any]:
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise _BadBody(f"the request is {request.content_length:,} bytes; a JSON command may be at most "
                       f"{MAX_JSON_BYTES:,}", 413)
    chunks, size = [], 0
    while chunk := await request.content.read(65536):  # to the end of the body, within the cap
        size += len(chunk)
        if size > MAX_JSON_BYTES:
            raise _BadBody(f"the request is over {MAX_JSON_BYTES:,} bytes; a JSON command may be at most "
                           f"{MAX_JSON_BYTES:,}", 413)
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        data = json.loads(raw)  # 64 KB parses in well under a millisecond; too deep nesting raises, caught
    except (ValueError, RecursionError):
        raise _BadBody(USAGE) from None
    if not isinstance(data, dict):
        raise _BadBody(USAGE)
    return data


async def _read_multipart(request: web.Request, limit: int) -> tuple[dict[str, Any], list[Attachment]]:
    """The text fields and the `primer` files (at most MAX_FILES) of a multipart body, each read within its
    limit."""
    data: dict[str, Any] = {}
    files: list[Attachment] = []
    try:
        reader = await request.multipart()
        for _ in range(MAX_PARTS + 1):
            part = await reader.next()
            if part is None:
                return data, files
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            is_file = part.name == "primer" and bool(part.filename)
            cap = limit if is_file else MAX_TEXT_FIELD_BYTES
            chunks, size = [], 0
            while chunk := await part.read_chunk(65536):
                size += len(chunk)
                if size > cap:  # stop reading; say how big is allowed
                    if is_file:
                        raise _BadBody(f"the attachment {part.filename} is over {limit / 1e6:.1f} MB; a MIDI "
                                       f"primer may be at most {limit / 1e6:.1f} MB.", 413)
                    raise _BadBody(f"the form field {part.name[:40]!r} is over {cap:,} bytes", 413)
                chunks.append(chunk)
            if is_file:
                if len(files) == MAX_FILES:
                    raise _BadBody(f"more than {MAX_FILES} `primer` files; a command reads at most {MAX_FILES}")
                files.append(Attachment(b"".join(chunks), str(part.filename)[:200]))
            else:
                data[part.name] = b"".join(chunks).decode("utf-8", "replace")
        raise _BadBody(f"the form has more than {MAX_PARTS} parts; send `text` and at most {MAX_FILES} `primer` files")
    except _BadBody:
        raise
    except (ValueError, AssertionError, KeyError, RuntimeError, UnicodeError, LookupError) as e:
        # aiohttp's multipart reader raises these for a missing boundary or a garbled body
        log.info("malformed multipart body from %s: %s", request.remote, type(e).__name__)
        raise _BadBody("the multipart body is malformed: send a form with a `text` field and optional "
                       "`primer` MIDI files") from None


async def get_job(request: web.Request) -> web.Response:
    view = await request.app[SERVICE].view(request.match_info["job_id"])
    if view is None:
        return error(404, "no such job")
    return web.json_response((await jobs_json(request, [view]))[0])


async def get_share_page(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    view = await service.view_by_share_token(request.match_info["token"])
    if view is None:
        raise web.HTTPNotFound(text="This share link does not exist.")
    return web.Response(text=share_page(view), content_type="text/html")


async def get_file(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    view = await service.view_by_share_token(request.match_info["token"])
    path = service.artifact(view.id, request.match_info["name"]) if view else None
    if path is None:
        raise web.HTTPNotFound(text="No such file.")
    headers = {"Cache-Control": "public, max-age=86400",
               "Content-Type": CONTENT_TYPES.get(path.suffix, "application/octet-stream")}
    if path.suffix == ".mid":
        headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
    return web.FileResponse(path, headers=headers)


