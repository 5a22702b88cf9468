"""Discord front end: the grammar's commands as app commands; progress and results by editing the reply."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import shlex
import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.discord_mentions import MentionReplies, reply_reference
from bot.adapters.discord_menus import context_menus
from bot.adapters.discord_remix import history_command, result_button, result_buttons
from bot.adapters.discord_result import recipe_of, result_embeds, result_files
from bot.attachments import Attachment, share_tokens
from bot.commands import CHAT_COMMANDS, OPTIONS_OF, ChatCommand, CommandError, Option, help_text, parse_command
from bot.remix import Caller, Remixer
from bot.service import JobView, Service, Submitted
from bot.settings import Settings
from bot.store import StoreUnavailable
from generation.errors import InputError

log = logging.getLogger(__name__)

PLATFORM = "discord"
TOKEN_TTL_S = 14 * 60  # interaction tokens live 15 minutes; after that, post in the channel
MAX_CONTENT = 2000  # characters per Discord message
UPLOAD_LIMIT = 10 * 2**20  # bytes per message where no interaction says otherwise (Discord's default)
_RANK = {"queued": 0, "generating": 1, "rendering": 2, "done": 3, "failed": 3}  # never show an older stage
_OOPS = "Something went wrong on our side; please try again in a moment."


def _describe(option: Option) -> str:
    text = f"{option.help} ({option.allowed})"
    return text if len(text) <= 100 else option.help[:100]


def _slash_name(option: Option) -> str:
    return option.slash_name or option.name


def _config_choices(option: Option) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=c, value=c) for c in option.choices]


class DiscordFrontEnd:
    """Slash commands in; one deferred reply edited as the job moves, then the files.

    What a job needs for a later reply (application id, interaction token and its time, channel) lives in the
    job's `delivery`; a job resumed after a restart, or one older than the token, posts in the channel.
    """

    def __init__(self, settings: Settings, service: Service) -> None:
        self.settings = settings
        self.service = service
        # Guild Messages (not privileged) brings the messages that mention the bot with their content: replies to a
        # result ("@Tunesmith transpose:+2") are remixes (discord_mentions.py). No Message Content intent.
        self.client = discord.Client(intents=discord.Intents(guilds=True, guild_messages=True, dm_messages=True))
        self.tree = app_commands.CommandTree(self.client)
        self.remixer = Remixer(service)
        for command in _commands(self):
            self.tree.add_command(command)
        self.tree.add_command(history_command(self.remixer))
        for menu in context_menus(self):  # "Harmonise this MIDI", "Continue this MIDI" on a message with a file
            self.tree.add_command(menu)
        self._button = result_button(self)
        self.client.add_dynamic_items(self._button)  # result buttons, answered by job id (restart-proof)
        self.client.event(MentionReplies(self, error_text).on_message)
        self.tree.error(self._on_tree_error)
        self._connection: asyncio.Task[None] | None = None
        self._live: dict[str, discord.Interaction] = {}  # interaction id -> interaction, while its job runs
        self._latest: dict[str, JobView] = {}  # job id -> newest view not yet shown
        self._rank: dict[str, int] = {}  # job id -> stage rank last accepted
        self._shown: dict[str, str] = {}  # job id -> progress text the reply shows now
        self._senders: dict[str, asyncio.Task[None]] = {}  # job id -> the task showing its views in order
        self._saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        service.register_deliverer(PLATFORM, self.deliver)

    async def start(self) -> None:
        """Log in, publish the commands, and keep the gateway connection in a background task."""
        if self.settings.discord_api_base:  # a stand-in server (tests) or a REST proxy
            Route.BASE = self.settings.discord_api_base.rstrip("/")
        await self.client.login(self.settings.discord_token)
        if self.settings.discord_api_base:  # discord.Client would dial Discord's gateway without asking
            _, url, _ = await self.client.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        await self._sync()
        self._connection = asyncio.create_task(self.client.connect(), name="discord-gateway")

    async def _sync(self) -> None:
        """Publish the commands: to every server (global), or to DISCORD_GUILD_IDS only, where a change shows at
        once; the global set is then emptied, so those servers do not list each command twice."""
        guilds = [discord.Object(id=g) for g in self.settings.discord_guild_ids]
        for guild in guilds:
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        if guilds:
            self.tree.clear_commands(guild=None)  # the copies above answer the interactions
            log.info("Discord commands published to %d server(s) only: %s", len(guilds),
                     ", ".join(str(g.id) for g in guilds))
        await self.tree.sync()

    async def close(self) -> None:
        if self._senders:  # let results being posted finish
            await asyncio.wait(list(self._senders.values()), timeout=10)
        await self.client.close()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection, timeout=10)
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved

    # --- commands -----------------------------------------------------------------------------------
    async def run_command(self, interaction: discord.Interaction, name: str, words: str, values: dict[str, Any],
                          midis: list[discord.Attachment]) -> None:
        """Check the command (a typo is answered at once, privately), defer, then queue it."""
        text = command_text(name, words, values)
        try:
            for midi in midis:
                self.service.check_attachment(midi.filename, midi.size)
            command = CHAT_COMMANDS[name]
            # a file (attached, or a result's share link) may be what the grammar needs: then submit() checks
            if not midis and not share_tokens(text)[1] and command.attachments <= 1 and not command.needs_files:
                parse_command(text)  # the grammar alone, no side effects; submit() parses again with the primer
        except InputError as e:
            await interaction.response.send_message(error_text(e), ephemeral=True)
            return

        async def submit(caller: Caller) -> Submitted:
            files = [Attachment(await midi.read(), midi.filename) for midi in midis]
            return await self.service.submit(platform=caller.platform, user_id=caller.user_id, channel=caller.channel,
                                             text=text, attachments=files, delivery=caller.delivery)

        await self.start_job(interaction, submit)

    async def start_job(self, interaction: discord.Interaction,
                        submit: Callable[[Caller], Awaitable[Submitted]]) -> None:
        """Defer publicly, then queue the job `submit` makes for this user and channel (a command, a button
        pressed under a result, a reply) and show it as it moves; a refusal is answered privately."""
        await interaction.response.defer(thinking=True)
        key = str(interaction.id)
        self._live[key] = interaction
        channel = str(interaction.channel_id or "")
        caller = Caller(PLATFORM, f"discord:{interaction.user.id}", channel, delivery={
            "interaction_id": key, "application_id": str(interaction.application_id), "token": interaction.token,
            "channel_id": channel, "created": interaction.created_at.timestamp()})
        try:
            submitted = await submit(caller)
        except Exception as e:
            self._live.pop(key, None)
            if isinstance(e, discord.HTTPException):
                message = "I could not download the attachment; please try again."
            else:
                message = error_text(e)
            await _private_after_defer(interaction, message)
            return
        if submitted.job is not None:
            await self.deliver(submitted.job)

    async def _on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("slash command %s failed", interaction.command and interaction.command.name, exc_info=error)
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(_OOPS, ephemeral=True)
            else:
                await interaction.response.send_message(_OOPS, ephemeral=True)

    # --- delivery -----------------------------------------------------------------------------------
    async def deliver(self, view: JobView) -> None:
        """The service's deliverer: show each job's views in order, newest wins, without holding up the queue;
        for a finished job, returns once its result is posted (the service records that it was)."""
        rank = _RANK.get(view.stage, 0)
        if rank < self._rank.get(view.id, 0):
            return
        self._rank[view.id] = rank
        self._latest[view.id] = view
        if view.id not in self._senders:
            self._senders[view.id] = asyncio.create_task(self._drain(view.id), name=f"discord-deliver-{view.id}")
        if view.finished:
            await asyncio.shield(self._senders[view.id])

    async def _drain(self, job_id: str) -> None:
        try:
            while (view := self._latest.pop(job_id, None)) is not None:
                try:
                    await self._show(view)
                except Exception:
                    log.exception("showing job %s on Discord failed", job_id)
        finally:
            del self._senders[job_id]  # no await since the last check: a new view starts a new task

    async def _show(self, view: JobView) -> None:
        d = view.delivery
        interaction = self._live.get(str(d.get("interaction_id", "")))
        fresh = time.time() - float(d.get("created", 0)) < TOKEN_TTL_S
        if not view.finished:
            text = _clip(f"{_code(view.command)}\n{view.progress_text()}")
            if interaction is not None and fresh and self._shown.get(view.id) != text:
                await interaction.edit_original_response(content=text)
                self._shown[view.id] = text
            return
        self._live.pop(str(d.get("interaction_id", "")), None)
        self._rank.pop(view.id, None)
        self._shown.pop(view.id, None)
        buttons = result_buttons(view, self._button) or discord.utils.MISSING
        if view.status != "done":
            await self._show_failure(view, interaction, fresh, buttons)
            return
        limit = int(getattr(interaction, "filesize_limit", UPLOAD_LIMIT))  # the guild's limit (discord.py >= 2.5)
        files = await asyncio.to_thread(result_files, view, self.service.artifact, limit)
        embeds = result_embeds(view, files, self.settings.share_base_url.startswith("https://"))
        if fresh and d.get("token"):
            try:
                if interaction is not None:
                    await interaction.edit_original_response(content=None, embeds=embeds, attachments=files,
                                                             view=buttons)
                else:  # resumed after a restart: the first follow-up takes the place of "thinking..."
                    await self._webhook(d).send(embeds=embeds, files=files, view=buttons)
                return
            except discord.HTTPException as e:  # e.g. the reply was deleted; fall back to the channel
                log.warning("editing the reply for job %s failed (%s); posting in the channel", view.id, e)
                files = await asyncio.to_thread(result_files, view, self.service.artifact, limit)  # read again
        channel = self.client.get_partial_messageable(int(d["channel_id"]))
        await channel.send(embeds=embeds, files=files, view=buttons, **reply_reference(d))

    async def _show_failure(self, view: JobView, interaction: discord.Interaction | None, fresh: bool,
                            buttons: discord.ui.View) -> None:
        """A failed job is told to its user alone (with Again) while the interaction lives: the public "thinking"
        reply is deleted first, as the first follow-up after it would be public. Later, in the channel."""
        d = view.delivery
        content = result_text(view)
        if fresh and d.get("token"):
            webhook = interaction.followup if interaction is not None else self._webhook(d)
            try:
                with contextlib.suppress(discord.NotFound):
                    if interaction is not None:
                        await interaction.delete_original_response()
                    else:
                        await self.client.http.request(Route(
                            "DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
                            webhook_id=int(d["application_id"]), webhook_token=str(d["token"])))
                await webhook.send(content, ephemeral=True, view=buttons)
                return
            except discord.HTTPException as e:
                log.warning("telling the user job %s failed privately did not work (%s); posting in the channel",
                            view.id, e)
        channel = self.client.get_partial_messageable(int(d["channel_id"]))
        await channel.send(content, view=buttons, **reply_reference(d))

    def _webhook(self, delivery: dict[str, Any]) -> discord.Webhook:
        """The interaction's follow-up webhook, from what the job's delivery keeps (so also after a restart)."""
        webhook = discord.Webhook.partial(int(delivery["application_id"]), str(delivery["token"]), client=self.client)
        webhook.type = discord.WebhookType.application  # an interaction's: it may answer privately
        return webhook


def _commands(front: DiscordFrontEnd) -> list[app_commands.Command[Any, ..., Any]]:
    """One app command per chat command of the families, its options typed from the command's table."""
    commands = [_app_command(front, command) for command in CHAT_COMMANDS.values()]

    @app_commands.command(name="help", description="How to use the commands")
    @app_commands.describe(command="a command, for all its options")
    @app_commands.choices(command=[app_commands.Choice(name=c, value=c) for c in OPTIONS_OF])
    async def help_(interaction: discord.Interaction, command: str | None = None) -> None:
        await interaction.response.send_message(_clip(f"```\n{help_text(command or '')}\n```"), ephemeral=True)

    return [*commands, help_]


def _slash_type(option: Option) -> Any:
    """The option's Discord type: a Range where it has limits, a bool for on/off, else text."""
    if option.kind is bool:
        return bool
    if option.low is not None and option.high is not None:
        kind = int if option.kind is int else float
        return app_commands.Range[kind, kind(option.low), kind(option.high)]
    return str


def _app_command(front: DiscordFrontEnd, command: ChatCommand) -> app_commands.Command[Any, ..., Any]:
    """An app command whose signature discord.py reads: (interaction, WORDS, each option..., midi)."""
    words = command.positional_name
    options = OPTIONS_OF[command.name]  # the family's table, then the options every command has (transpose)
    by_slash = {_slash_name(o): o for o in options}
    # Discord's attachment options: midi, or midi1, midi2, ... for a command reading several files
    files = ([] if not command.takes_attachment else ["midi"] if command.attachments == 1
             else [f"midi{i + 1}" for i in range(command.attachments)])

    async def callback(interaction: discord.Interaction, **given: Any) -> None:
        midis = [m for m in (given.pop(f, None) for f in files) if m is not None]
        text = given.pop(words, None) or ""
        values = {by_slash[k].name: v for k, v in given.items() if k in by_slash}
        await front.run_command(interaction, command.name, text, values, midis)

    Param = inspect.Parameter
    params = [Param("interaction", Param.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction),
              Param(words, Param.KEYWORD_ONLY, annotation=str if command.positional_required else str | None,
                    **({} if command.positional_required else {"default": None}))]
    params += [Param(_slash_name(o), Param.KEYWORD_ONLY, annotation=_slash_type(o) | None, default=None)
               for o in options]
    descriptions = {words: command.positional_help[:100], **{_slash_name(o): _describe(o) for o in options}}
    for i, f in enumerate(files):
        params.append(Param(f, Param.KEYWORD_ONLY, annotation=discord.Attachment | None, default=None))
        descriptions[f] = (f"{command.attachment_help} (instead of typing {words})" if len(files) == 1
                           else f"{command.attachment_help}: file {i + 1} of {len(files)}")[:100]
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    choices = {_slash_name(o): [app_commands.Choice(name=c, value=c) for c in o.choices]
               for o in command.options if o.choices and o.kind is str}
    func = app_commands.describe(**descriptions)(callback)
    if choices:
        func = app_commands.choices(**choices)(func)
    app_command: app_commands.Command[Any, ..., Any] = app_commands.Command(
        name=command.name, description=command.description[:100], callback=func)
    if command.suggest is not None:
        suggest = command.suggest

        async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=v, value=v) for v in suggest(current) if len(v) <= 100][:25]

        app_command.autocomplete(words)(complete)
    return app_command


def command_text(name: str, words: str, values: dict[str, Any]) -> str:
    """The grammar form of a slash command: "/improv C G Am F primer:60 bars:8"."""
    parts = [f"/{name}", " ".join(words.split())]
    for option in OPTIONS_OF[name]:
        value = values.get(option.name)
        if value is None:
            continue
        if isinstance(value, bool):
            value = "on" if value else "off"
        elif isinstance(value, float):
            value = f"{value:g}"
        token = f"{option.name}:{value}"
        parts.append(shlex.quote(token) if any(c.isspace() or c in "'\"" for c in token) else token)
    return " ".join(p for p in parts if p)




def error_text(e: Exception) -> str:
    """What a user reads when a command cannot run."""
    if isinstance(e, CommandError):
        pointer = e.pointer().replace("```", "`\u200b``")  # keep the user's text inside the code block
        return _clip(f"```\n{pointer}\n```\n{e.reason}")
    if isinstance(e, InputError | StoreUnavailable):
        return _clip(f"Cannot start that: {e}")
    log.error("a Discord command failed", exc_info=e)
    return _OOPS


def result_text(view: JobView) -> str:
    """A finished job as plain text (a failure, or where no embed goes): the recipe and the share link."""
    if view.status != "done":
        return _clip(f"{_code(view.command)}\n{view.progress_text()}")
    return _clip(f"{_code(recipe_of(view))}\nseed {view.seed} · {view.model} · all files: {view.share_url}")


async def _private_after_defer(interaction: discord.Interaction, text: str) -> None:
    """The first follow-up after a public defer would be public; drop the "thinking..." reply first."""
    try:
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException:
        log.exception("could not tell a Discord user why their command failed")


def _code(text: str) -> str:
    return f"`{text.replace('`', 'ˋ')}`"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CONTENT else text[: MAX_CONTENT - 1] + "…"
