"""How a finished job looks on Discord: an embed (title, recipe, share link, piano roll) over its audio and MIDI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import discord

from bot.service import JobView

MAX_FILES = 10  # attachments per Discord message
MAX_GALLERY = 4  # embeds sharing one url show as one embed with up to 4 images
COLOUR = discord.Colour(0x3A7BD5)
TITLE_MAX, DESCRIPTION_MAX = 256, 4096  # Discord's embed limits


def recipe_of(view: JobView) -> str:
    """The command with its seed, so typing it again makes the same piece."""
    return view.command if " seed:" in view.command else f"{view.command} seed:{view.seed}"


def result_files(view: JobView, artifact: Callable[[str, str], Path | None], limit: int) -> list[discord.File]:
    """Audio first (it plays inline), then MIDI, then piano rolls (shown in the embed), within Discord's count
    and the upload size `limit`; a file that does not fit stays on the share page."""
    if view.status != "done":
        return []
    files: list[discord.File] = []
    total = 0
    for kind in ("audio", "midi", "pianoroll"):
        for out in view.outputs:
            path = artifact(view.id, str(out.get(kind, "")))
            if path is None or len(files) >= MAX_FILES:
                continue
            size = path.stat().st_size
            if total + size <= limit:
                files.append(discord.File(path, filename=path.name))
                total += size
    return files


def result_embeds(view: JobView, files: list[discord.File], public_images: bool) -> list[discord.Embed]:
    """One embed with the title (the command and model), the recipe in a code block, the result's notes (what was
    done to the input) and the share link as its url; each output's piano roll is its image (`attachment://NAME`
    when attached, else the share page's copy when `public_images`). Embeds after the first share its url, so
    Discord shows their images as one gallery."""
    attached = {f.filename for f in files}
    name = view.command.split(maxsplit=1)[0] if view.command.split() else "/result"
    title = f"{name} \u00b7 {view.model}" if view.model else name
    recipe = recipe_of(view).replace("```", "`\u200b``")  # keep the user's text inside the code block
    # What was done to the input, under the recipe (bounded: 5 notes of 200 characters keep the recipe's room).
    notes = [f"\u2139\ufe0f {discord.utils.escape_markdown(n)}" for n in view.notes]
    lines = [f"```\n{recipe}\n```", *notes, f"Player, downloads and recipe: {view.share_url}"]
    missing = [out for out in view.outputs if out.get("audio") not in attached or out.get("midi") not in attached]
    if missing:
        lines.append("Some files are over this server's upload limit; they are on the share page.")
    tail = "\n".join(lines[1:])
    description = f"{lines[0]}\n{tail}"
    if len(description) > DESCRIPTION_MAX:  # only a very long recipe: clip it inside its block
        room = DESCRIPTION_MAX - len(tail) - 12
        description = f"```\n{recipe[:room]}\u2026\n```\n{tail}"
    first = discord.Embed(title=title[:TITLE_MAX], url=view.share_url, description=description, colour=COLOUR)
    takes = len(view.outputs)
    first.set_footer(text=f"seed {view.seed} \u00b7 {view.model}" + (f" \u00b7 {takes} takes" if takes > 1 else ""))
    embeds = [first]
    for n, out in enumerate(view.outputs[:MAX_GALLERY]):
        roll = str(out.get("pianoroll", ""))
        url = f"attachment://{roll}" if roll in attached else out.get("pianoroll_url") if public_images else None
        if not url:
            continue
        embed = first if n == 0 else discord.Embed(url=view.share_url, colour=COLOUR)
        embed.set_image(url=url)
        if n:
            embeds.append(embed)
    return embeds
