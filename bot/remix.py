"""Pieces made from earlier results, for every front end: the actions under a result (Again, Vary, Longer,
Harmonise this, Add drums, Arrange), replies to a result, `/history` and stars.

Everything is keyed on stored job ids (a button carries the id of the result it sits under), so buttons pressed
after a restart of the bot work as before. Each new job records where it came from (bot/history.py).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.attachments import Attachment, builder_input, read_files, share_tokens
from bot.commands import CommandError, parse_command
from bot.history import MAX_LISTED, Entry, History, Origin
from bot.recipes import (
    ACTION_WORDS,
    ACTIONS,
    Recipe,
    RemixError,
    again,
    available,
    command_of,
    handed,
    longer,
    reply_command,
    reply_kind,
    reply_options,
    vary,
    why_not_handed,
    why_not_longer,
)
from bot.service import Refused, Service, Submitted
from bot.store import JobRecord
from generation.errors import InputError
from generation.request import GenerationRequest

STAR, DOT = "\u2605", "\u00b7"
HISTORY_SHOWN = 10  # /history lists this many unless asked for more
REPLY_HELP = ("a reply to a result is a command that starts from it (e.g. /harmonize), a few options to change "
              "(e.g. temperature:1.2 bars:16), or one of: " + ", ".join(ACTIONS))


@dataclass(frozen=True)
class Caller:
    """Who asks, and where the answer goes (as `Service.submit` takes them)."""

    platform: str
    user_id: str
    channel: str = ""
    address: str = ""
    delivery: dict[str, Any] | None = None


class Remixer:
    """The front ends' door to the service: plain commands pass through; remixes, replies and history are here."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.history = History(service.store)

    async def submit(self, caller: Caller, text: str, *, attachments: Sequence[Attachment] = (),
                     reply_to: str = "") -> Submitted:
        """A command line, or a reply to the result `reply_to` (a job id).

        Raises:
            CommandError: a malformed command or reply (pointing at the token).
            Refused: limits, an unusable attachment, or a result that cannot be remixed that way.
        """
        first = text.split(maxsplit=1)[0].lower() if text.split() else ""
        if first == "/history":
            return Submitted("help", help=await self.history_text(caller.user_id, text))
        if reply_to and first != "/help":
            return await self.reply(caller, reply_to, text, attachments)
        return await self.service.submit(platform=caller.platform, user_id=caller.user_id, text=text,
                                         channel=caller.channel, attachments=attachments,
                                         delivery=caller.delivery, address=caller.address)

    async def act(self, caller: Caller, job_id: str, action: str) -> Submitted:
        """Press `action` under the result `job_id`: a new job whose recipe records where it came from.

        Raises:
            RemixError: an unknown action, or one that does not apply to this result (saying why).
            Refused: no such result, or limits.
        """
        name = ACTION_WORDS.get(action.lower())
        if name is None:
            raise RemixError(action, f"no action {action!r}; the actions are: {', '.join(ACTIONS)}", action)
        source = await self._source(job_id, need_result=name != "again")
        if name not in available(source.command, source.status):
            raise RemixError(source.command, self._why_not(name, source))
        seed = secrets.randbelow(2**31)
        varies = await self.history.count_made(source.id, "vary") if name == "vary" else 0
        try:
            if name == "again":
                recipe = again(source.command, source.request, seed)
            elif name == "vary":
                recipe = vary(source.command, source.request, varies, seed)
            elif name == "longer":
                recipe = longer(source.command, source.request, self._link(source), seed)
            else:
                recipe = handed(name, self._link(source), seed)
        except InputError:
            raise
        except ValueError:  # a stored request this version cannot read (e.g. a model family since removed)
            raise RemixError(source.command, "this result's recipe can no longer be read by this bot; send the "
                             "command again.") from None
        return await self._run(caller, recipe, Origin(source.id, name))

    async def reply(self, caller: Caller, job_id: str, text: str,
                    attachments: Sequence[Attachment] = ()) -> Submitted:
        """A reply to the result `job_id`: a command starting from it, options to change, or an action's name."""
        kind = reply_kind(text)
        if kind == "action":
            return await self.act(caller, job_id, text.split()[0].strip("!.").lower())
        if not kind:
            raise CommandError(text, text.split()[0] if text.split() else "", REPLY_HELP)
        source = await self._source(job_id, need_result=kind == "command")
        if kind == "command":
            return await self._run(caller, reply_command(text, self._link(source)), Origin(source.id, "reply"),
                                   attachments)
        if attachments:
            raise Refused("a reply of options changes the earlier recipe and reads no file; to start from a file, "
                          "send a command with it.")
        try:
            recipe = reply_options(source.command, source.request, text)
        except InputError:
            raise
        except ValueError:
            raise RemixError(source.command, "this result's recipe can no longer be read by this bot; send the "
                             "command again.") from None
        if recipe.request is None and not share_tokens(source.command)[1] and not _replayable(source):
            raise Refused("that result was made from an attached MIDI file, which the bot does not keep, so its "
                          f"recipe cannot be played again with {text.strip()}; send the command again with the "
                          "file, or reply with a command (e.g. /melody bars:16) to start from the result itself.")
        return await self._run(caller, recipe, Origin(source.id, "reply"))

    async def star(self, user_id: str, job_id: str, on: bool = True) -> None:
        """Star (or unstar) one of the user's results: listed by `/history starred`, kept past the retention.

        Raises:
            Refused: no such job, or another user's.
        """
        record = await self.service.store.get(job_id)
        if record is None or record.user_id != user_id:
            raise Refused("you can star only your own results (this one is not yours, or no longer kept).")
        await self.history.set_star(job_id, on)

    async def entries(self, user_id: str, limit: int = 20, *, starred: bool = False,
                      finished_only: bool = False) -> list[Entry]:
        return await self.history.recent(user_id, limit, starred=starred, finished_only=finished_only)

    async def about(self, job_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """For each job: where it came from, whether it is starred, and the actions its result offers."""
        found = await self.history.about(job_ids)
        out: dict[str, dict[str, Any]] = {}
        for job_id, (origin, starred) in found.items():
            out[job_id] = {"origin": {"source_id": origin.source_id, "action": origin.action} if origin else None,
                           "starred": starred}
        return out

    async def history_text(self, user_id: str, text: str = "/history") -> str:
        """`/history [starred] [N]`: the user's last results, each with its recipe, origin, age and share link."""
        words = text.split()[1:]
        starred = False
        limit = HISTORY_SHOWN
        for word in words:
            if word.lower() in ("starred", "stars", "star", "favourites", "favorites", STAR):
                starred = True
            elif word.isdigit() and 1 <= int(word) <= MAX_LISTED:
                limit = int(word)
            else:
                raise CommandError(text, word, f"/history takes 'starred' and a count 1-{MAX_LISTED}, e.g. "
                                   "/history starred 20")
        entries = await self.entries(user_id, limit, starred=starred, finished_only=True)
        if not entries:
            return ("No starred results yet: star a result to keep it here." if starred else
                    "No results yet: send a command, e.g. /help")
        sources = {e.origin.source_id for e in entries if e.origin}
        commands = {i: r.command for i in sources if (r := await self.service.store.get(i)) is not None}
        now = time.time()
        lines = [f"Your {'starred' if starred else 'last'} results, newest first ({STAR} = starred):"]
        for i, e in enumerate(entries, 1):
            r = e.record
            view = await self.service.view(r.id)
            if view is None:  # deleted meanwhile
                continue
            head = f"{i}. {STAR + ' ' if e.starred else ''}{r.command}"
            facts = [f"{view.model}, seed {view.seed}", _ago(now - r.created)]
            if e.origin:
                facts.append(f"{e.origin.action} of: {_clip(commands.get(e.origin.source_id, 'a deleted result'))}")
            facts.append(view.share_url if r.status == "done" else f"failed: {r.error}")
            lines.append(f"{head}\n   " + f" {DOT} ".join(facts))
        return "\n".join(lines)

    # --- internals --------------------------------------------------------------------------------------
    async def _source(self, job_id: str, *, need_result: bool) -> JobRecord:
        record = await self.service.store.get(job_id) if job_id.isalnum() and len(job_id) <= 64 else None
        if record is None:
            raise Refused("that result is not kept any more (or never existed); send the command again.")
        if need_result and record.status != "done":
            raise Refused("that job has no result to start from yet" + (f" (it failed: {record.error})"
                          if record.status == "failed" else "; wait until it is done."))
        return record

    def _link(self, record: JobRecord) -> str:
        return f"{self.service.settings.public_url}/s/{record.share_token}"

    def _why_not(self, action: str, source: JobRecord) -> str:
        command = command_of(source.command)
        if command is None:
            return "this result's command is no longer known to the bot; start a new piece."
        if source.status == "failed":
            return "that job failed, so it has nothing to vary or continue; Again runs it again."
        if action == "longer":
            return why_not_longer(command)
        return why_not_handed(action, command)

    async def _run(self, caller: Caller, recipe: Recipe, origin: Origin,
                   attachments: Sequence[Attachment] = ()) -> Submitted:
        """Queue a recipe: its request as it is, or its text read by the grammar (the share link as the file)."""
        service = self.service

        async def recorded(job_id: str) -> None:
            await self.history.add_origin(job_id, origin)

        def queue(text: str, request: GenerationRequest) -> Any:
            return service.submit_request(platform=caller.platform, user_id=caller.user_id, text=text,
                                          request=request, channel=caller.channel, delivery=caller.delivery,
                                          address=caller.address, recorded=recorded)

        if recipe.request is not None:
            return await queue(recipe.text, recipe.request)
        candidates = recipe.candidates or (recipe.text,)
        for a in attachments:
            service.check_attachment(a.name, len(a.data))
        await service.check_limits(caller.user_id, caller.address)  # before the files are read
        try:
            read = await read_files(candidates[0], attachments, service.settings.max_attachment_bytes,
                                    service.store.by_share_token, service.artifacts)
        except InputError as e:
            raise Refused(str(e)) from None
        refused: CommandError | None = None
        for text in candidates:
            words = share_tokens(text)[0]
            try:
                parsed = parse_command(words, primer_from_attachment=builder_input(words, read.primers),
                                       primer_qpm=read.primers[0].qpm if read.primers else None,
                                       default_seed=secrets.randbelow(2**31), installed=service.installed)
            except CommandError as e:
                refused = refused or e
                continue
            if parsed.request is not None:
                return await queue(text, parsed.request)
        assert refused is not None
        raise refused


def _replayable(source: JobRecord) -> bool:
    """True when the command line alone makes the stored request (no attached file went into it)."""
    try:
        stored = GenerationRequest.from_json(source.request)
        parsed = parse_command(source.command, default_seed=stored.seed).request
    except (InputError, ValueError):
        return False
    return parsed is not None and parsed.to_json() == stored.to_json()


def _ago(seconds: float) -> str:
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 129600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _clip(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[:most - 3] + "..."
