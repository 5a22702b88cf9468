"""HTTP routes for pieces made from earlier results: the actions under a result, stars, and a user's history
(the web chat's buttons and its history across reloads), plus the JSON every job is shown with.

POST /api/jobs/{id}/actions/{action}  -> 202 and the new job (again | vary | longer | harmonise)
POST /api/jobs/{id}/star {"on": true} -> {"starred": true}       (only the result's owner)
GET  /api/history?limit=20&starred=1  -> {"jobs": [...]}, newest first
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from bot.commands import CommandError
from bot.history import MAX_LISTED
from bot.recipes import ACTIONS, available
from bot.remix import Caller, Remixer
from bot.service import JobView, Refused, Submitted
from bot.web.identity import SERVICE, address, user_id

REMIXER = web.AppKey("remixer", Remixer)
MAX_SMALL_BODY = 1024  # the actions' and stars' bodies: a flag and a user label


def remix_routes() -> list[web.RouteDef]:
    return [
        web.post("/api/jobs/{job_id}/actions/{action}", post_action),
        web.post("/api/jobs/{job_id}/star", post_star),
        web.get("/api/history", get_history),
    ]


def caller(request: web.Request, label: object = None) -> Caller:
    return Caller(platform="web", user_id=user_id(request, label), address=address(request))


def error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


async def jobs_json(request: web.Request, views: Sequence[JobView]) -> list[dict[str, Any]]:
    """Each job as the API shows it: its view, where it came from, its star, and the actions under its result."""
    about = await request.app[REMIXER].about([v.id for v in views])
    out = []
    for view in views:
        body = view.to_json()
        body.update(about.get(view.id, {"origin": None, "starred": False}))
        body["actions"] = [{"action": a, "label": ACTIONS[a]} for a in available(view.command, view.status)]
        body["status_url"] = f"/api/jobs/{view.id}"
        out.append(body)
    return out


async def job_accepted(request: web.Request, submitted: Submitted) -> web.Response:
    """202 with the new job, or 200 with the text of /help or /history."""
    if submitted.job is None:
        return web.json_response({"help": submitted.help})
    return web.json_response((await jobs_json(request, [submitted.job]))[0], status=202)


async def post_action(request: web.Request) -> web.Response:
    """No body (the chat), or {"user": label} for an API caller's users, as POST /api/commands takes it."""
    job_id, action = request.match_info["job_id"], request.match_info["action"]
    data = await _small_json(request)
    if data is None:
        return error(400, 'send no body, or {"user": "label"}')
    try:
        submitted = await request.app[REMIXER].act(caller(request, data.get("user")), job_id, action)
    except CommandError as e:
        return error(400, str(e))
    except Refused as e:
        return error(429 if e.busy else 400, str(e))
    return await job_accepted(request, submitted)


async def post_star(request: web.Request) -> web.Response:
    """{"on": true|false} (true when the body is empty): star or unstar one of the caller's results."""
    data = await _small_json(request)
    if data is None or not isinstance(data.get("on", True), bool):
        return error(400, 'send {"on": true} to star a result, {"on": false} to unstar it')
    on = bool(data.get("on", True))
    try:
        await request.app[REMIXER].star(user_id(request, data.get("user")), request.match_info["job_id"], on)
    except Refused as e:
        return error(403, str(e))
    return web.json_response({"starred": on})


async def get_history(request: web.Request) -> web.Response:
    """The caller's last jobs (queued, running and finished), newest first, each as GET /api/jobs shows it."""
    query = request.query
    try:
        limit = int(query.get("limit", "20"))
        if not 1 <= limit <= MAX_LISTED:
            raise ValueError
    except ValueError:
        return error(400, f"limit must be a whole number 1-{MAX_LISTED}")
    starred = query.get("starred", "") in ("1", "true", "yes", "on")
    remixer = request.app[REMIXER]
    entries = await remixer.entries(user_id(request, query.get("user")), limit, starred=starred)
    views = [v for e in entries if (v := await request.app[SERVICE].view(e.record.id)) is not None]
    return web.json_response({"jobs": await jobs_json(request, views)})


async def _small_json(request: web.Request) -> dict[str, Any] | None:
    """A short JSON object body ({} when there is none); None when it is too long or not an object."""
    raw = await request.content.read(MAX_SMALL_BODY + 1)
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return None
    return data if len(raw) <= MAX_SMALL_BODY and isinstance(data, dict) else None
