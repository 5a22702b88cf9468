"""Message context-menu commands on Discord: "Harmonise this MIDI" and "Continue this MIDI" on any message with a
MIDI file attached (a result of this bot, or a file someone posted): the message's first MIDI file becomes the
file of a /harmonize or /continue job, as if it had been attached to the slash command."""

from __future__ import annotations

from typing import Any, Protocol

import discord
from discord import app_commands

from bot.commands import CHAT_COMMANDS

# Menu label -> the chat command it runs; a menu is offered only where a family declares the command.
MENUS = {"Harmonise this MIDI": "harmonize", "Continue this MIDI": "continue"}
MIDI_TYPES = {"audio/midi", "audio/x-midi", "audio/mid", "audio/sp-midi"}


class Front(Protocol):
    """What the menus need of the Discord front end (DiscordFrontEnd.run_command)."""

    async def run_command(self, interaction: discord.Interaction, name: str, words: str, values: dict[str, Any],
                          midis: list[discord.Attachment]) -> None: ...


def is_midi(attachment: discord.Attachment) -> bool:
    """A MIDI file by its name (.mid, .midi) or its content type; its bytes are checked when it is read."""
    kind = (attachment.content_type or "").split(";")[0].strip().lower()
    return attachment.filename.lower().endswith((".mid", ".midi")) or kind in MIDI_TYPES


def context_menus(front: Front) -> list[app_commands.ContextMenu]:
    """One message command per entry of MENUS whose chat command reads a MIDI file here."""
    menus = []
    for label, name in MENUS.items():
        command = CHAT_COMMANDS.get(name)
        if command is not None and command.attachment_reader and command.attachments == 1:
            menus.append(app_commands.ContextMenu(name=label, callback=_on_message(front, label, name)))
    return menus


def _on_message(front: Front, label: str, name: str) -> Any:
    async def on_message(interaction: discord.Interaction, message: discord.Message) -> None:
        midis = [a for a in message.attachments if is_midi(a)]
        if not midis:
            await interaction.response.send_message(
                f"That message has no MIDI file attached (.mid or .midi). {label} works on a message with one: a "
                f"result of this bot, or a file someone posted; or use /{name} with its midi option.",
                ephemeral=True)
            return
        await front.run_command(interaction, name, "", {}, midis[:1])  # the first MIDI file, as the command's

    return on_message
