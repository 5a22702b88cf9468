"""Routes: `/` chat page, `POST /api/commands`, `GET /api/jobs/{id}`, `/s/{token}` share pages and their files."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from bot.commands import CommandError
from bot.service import Refused, Service
from bot.web.pages import share_page
from generation.errors import InputError

STATIC = Path(__file__).parent / "static"
SERVICE = web.AppKey("service", Service)
USER_COOKIE = "tunesmith_user"


def create_app(service: Service, extra_routes: list[web.RouteDef] | None = None) -> web.Application:
    app = web.Application(client_max_size=service.settings.max_attachment_bytes * 12)
    app[SERVICE] = service
    app.add_routes([
        web.get("/", chat_page),
        web.get("/healthz", healthz),
        web.post("/api/commands", post_command),
        web.get("/api/jobs/{job_id}", get_job),
        web.get("/s/{token}", get_share_page),
        web.get("/s/{token}/files/{name}", get_file),
        web.static("/static", STATIC),
        *(extra_routes or []),
    ])
    return app


async def chat_page(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(STATIC / "chat.html")
    if USER_COOKIE not in request.cookies:
        response.set_cookie(USER_COOKIE, secrets.token_urlsafe(12), max_age=365 * 86400, samesite="Lax")
    return response


async def healthz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    ready = getattr(service.queue, "ready", None)
    workers_ready = ready.is_set() if ready is not None else True
    # Liveness: the web side is up; `workers_ready` says whether the models have warmed up yet.
    return web.json_response({"ok": True, "workers_ready": workers_ready, "waiting": service.queue.waiting})


async def post_command(request: web.Request) -> web.Response:
    """JSON {"text": "/improv C G Am F", "user": optional} or multipart with `text` and a `primer` MIDI file."""
    service = request.app[SERVICE]
    attachment: bytes | None = None
    attachment_name = ""
    data: dict[str, Any]
    if request.content_type.startswith("multipart/"):
        data = {}
        reader = await request.multipart()
        limit = service.settings.max_attachment_bytes
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.name == "primer" and part.filename:
                attachment_name = part.filename
                chunks, size = [], 0
                while chunk := await part.read_chunk(65536):
                    size += len(chunk)
                    if size > limit:  # stop reading; say how big is allowed
                        return _error(400, f"the attachment {attachment_name} is over {limit / 1e6:.1f} MB; a MIDI "
                                      f"primer may be at most {limit / 1e6:.1f} MB.")
                    chunks.append(chunk)
                attachment = b"".join(chunks)
            else:
                data[part.name] = (await part.read(decode=True)).decode("utf-8", "replace")
    else:
        try:
            data = await request.json()
        except ValueError:
            return _error(400, 'send JSON like {"text": "/improv C G Am F primer:60"}')
        if not isinstance(data, dict):
            return _error(400, 'send JSON like {"text": "/improv C G Am F primer:60"}')
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        return _error(400, 'the command is missing: {"text": "/improv C G Am F primer:60"}')
    user = str(data.get("user") or request.cookies.get(USER_COOKIE) or request.remote or "local")
    try:
        submitted = await service.submit(platform="web", user_id=f"web:{user}", text=text, attachment=attachment,
                                         attachment_name=attachment_name)
    except CommandError as e:
        return _error(400, str(e), pointer=e.pointer(), token=e.token)
    except Refused as e:
        return _error(429 if e.busy else 400, str(e))
    except InputError as e:
        return _error(400, str(e))
    if submitted.kind == "help":
        return web.json_response({"help": submitted.help})
    assert submitted.job is not None
    body = submitted.job.to_json()
    body["status_url"] = f"/api/jobs/{submitted.job.id}"
    return web.json_response(body, status=202)


async def get_job(request: web.Request) -> web.Response:
    view = await request.app[SERVICE].view(request.match_info["job_id"])
    if view is None:
        return _error(404, "no such job")
    return web.json_response(view.to_json())


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
    headers = {"Cache-Control": "public, max-age=86400"}
    if path.suffix == ".mid":
        headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
    return web.FileResponse(path, headers=headers)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)
