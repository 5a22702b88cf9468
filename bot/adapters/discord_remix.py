"""Discord's buttons under a result (Again, Vary, Longer, Harmonise this, Reply, Star) and /history.

The buttons are discord.py DynamicItems: each custom_id carries the action and the stored job id
(`ts:vary:<job id>`), and any client that registered the item answers a press, so buttons under messages posted
before a restart of the bot work as before. Reply opens a modal whose text is a command or options
(`temperature:1.2 bars:16`) that start from the result, as a reply in the web chat does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord
from discord import app_commands

from bot.recipes import ACTIONS, available
from bot.remix import Caller, Remixer
from bot.service import JobView, Refused, Submitted
from bot.store import StoreUnavailable
from generation.errors import InputError

PREFIX = "ts"
ACTION_PATTERN = "|".join([*ACTIONS, "reply", "star"])
TEMPLATE = rf"{PREFIX}:(?P<action>{ACTION_PATTERN}):(?P<job>[0-9a-f]{{32}})"
REPLY_MODAL = f"{PREFIX}-reply:"
STYLES = {"again": discord.ButtonStyle.primary, "star": discord.ButtonStyle.secondary}


class Front(Protocol):
    """What the buttons need of the Discord front end."""

    remixer: Remixer

    async def start_job(self, interaction: discord.Interaction,
                        submit: Callable[[Caller], Awaitable[Submitted]]) -> None: ...


Button = type[discord.ui.DynamicItem[discord.ui.Button[Any]]]
MakeButton = Callable[[str, str, str, discord.ButtonStyle], discord.ui.Item[Any]]  # (action, job id, label, style)


def result_buttons(view: JobView, button: MakeButton) -> discord.ui.View | None:
    """The buttons under a finished job (None when it offers none): its actions, then Reply and Star; made of
    `button` (the front end's DynamicItem), so discord.py keeps nothing per message."""
    actions = list(available(view.command, view.status))
    if view.status == "done":
        actions += ["reply", "star"]
    if not actions:
        return None
    buttons = discord.ui.View(timeout=None)
    for action in actions:
        label = ACTIONS.get(action) or {"reply": "Reply", "star": "\u2606 Star"}[action]
        buttons.add_item(button(action, view.id, label, STYLES.get(action, discord.ButtonStyle.secondary)))
    return buttons


def result_button(front: Front) -> Button:
    """The DynamicItem class of this front end's result buttons (register it with the client)."""

    class ResultButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
        def __init__(self, action: str, job_id: str, label: str = "",
                     style: discord.ButtonStyle = discord.ButtonStyle.secondary) -> None:
            super().__init__(discord.ui.Button(label=label or action, style=style,
                                               custom_id=f"{PREFIX}:{action}:{job_id}"))
            self.action, self.job_id = action, job_id

        @classmethod
        async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                                 match: re.Match[str]) -> ResultButton:
            return cls(match["action"], match["job"])

        async def callback(self, interaction: discord.Interaction) -> None:
            if self.action == "reply":
                await interaction.response.send_modal(ReplyModal(front, self.job_id))
            elif self.action == "star":
                await star(front.remixer, interaction, self.job_id)
            else:
                await front.start_job(interaction, lambda caller: front.remixer.act(caller, self.job_id,
                                                                                    self.action))

    return ResultButton


class ReplyModal(discord.ui.Modal):
    """Reply to a result: a command that starts from it, or options that change its recipe."""

    text: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="A command or options", custom_id="text", max_length=1000,
        placeholder="/harmonize   or   temperature:1.2 bars:16   or   again")

    def __init__(self, front: Front, job_id: str) -> None:
        super().__init__(title="Reply to this result", custom_id=f"{REPLY_MODAL}{job_id}", timeout=15 * 60)
        self.front, self.job_id = front, job_id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        text = self.text.value
        await self.front.start_job(interaction, lambda caller: self.front.remixer.reply(caller, self.job_id, text))


async def star(remixer: Remixer, interaction: discord.Interaction, job_id: str) -> None:
    """Star the result, or unstar it when it is starred; answered privately."""
    user = f"discord:{interaction.user.id}"
    try:
        starred = (await remixer.history.about([job_id])).get(job_id, (None, False))[1]
        await remixer.star(user, job_id, not starred)
    except (Refused, StoreUnavailable) as e:
        await interaction.response.send_message(str(e), ephemeral=True)
        return
    await interaction.response.send_message(
        "Unstarred." if starred else "\u2605 Starred: /history starred lists it, and it is kept.", ephemeral=True)


def history_command(remixer: Remixer) -> app_commands.Command[Any, ..., Any]:
    """/history [starred] [count]: your last results with their recipes, privately."""

    @app_commands.command(name="history", description="Your last results with their recipes (starred: favourites)")
    @app_commands.describe(starred="only the results you starred", count="how many (1-50, default 10)")
    async def history(interaction: discord.Interaction, starred: bool = False,
                      count: app_commands.Range[int, 1, 50] = 10) -> None:
        text = "/history" + (" starred" if starred else "") + f" {count}"
        try:
            listing = await remixer.history_text(f"discord:{interaction.user.id}", text)
        except (InputError, StoreUnavailable) as e:
            listing = str(e)
        await interaction.response.send_message(listing[:1990], ephemeral=True)

    return history
