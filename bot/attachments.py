"""The MIDI files a command reads: attached to the message, or earlier results named by their share links.

Counted against what the command takes and checked by size before anything reads them; each file is then
parsed by the command's reader in the bounded child process (generation/music/primer_sandbox.py), never here.
A share link (`https://.../s/TOKEN`, or `/s/TOKEN`) in the words stands for that result's first MIDI, which is
how Slack users (whose slash commands carry no files) and anyone replying to an earlier piece pass one.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.commands import CHAT_COMMANDS, attachment_reader
from bot.store import JobRecord
from generation.errors import InputError
from generation.music.primer_sandbox import AttachedPrimer, read_primer_attachment

SHARE_LINK = re.compile(r"(?:https?://\S*?)?/s/([A-Za-z0-9_-]{16,64})/?(?=\s|$)")
NUMBERS = ("one", "two", "three")


class AttachmentRefused(InputError):
    """An attachment we will not read: too many, too big, not MIDI, or an unknown share link."""


@dataclass(frozen=True)
class Attachment:
    data: bytes
    name: str


@dataclass(frozen=True)
class ReadFiles:
    """What the command's reader made of each file, in order, and the words left once links are taken out."""

    primers: tuple[AttachedPrimer, ...]
    text: str


def _count(n: int) -> str:
    return f"{NUMBERS[n - 1] if 0 < n <= len(NUMBERS) else n} MIDI file" + ("s" if n != 1 else "")


def check_size(name: str, size: int, limit: int) -> None:
    """Refuse a file by its size before anyone downloads it."""
    if size > limit:
        raise AttachmentRefused(f"the attachment {name} is {size / 1e6:.1f} MB; a MIDI file may be at most "
                                f"{limit / 1e6:.1f} MB.")


def share_tokens(text: str) -> tuple[str, list[str]]:
    """(the text without share links, the links' tokens in order)."""
    tokens = [m.group(1) for m in SHARE_LINK.finditer(text)]
    return (" ".join(SHARE_LINK.sub(" ", text).split()) if tokens else text), tokens


def expected(text: str) -> tuple[str, str, int]:
    """(command name, its reader, how many files it reads at most) for a command line."""
    name, reader = attachment_reader(text)
    command = CHAT_COMMANDS.get(name)
    return name, reader, (command.attachments if command and reader else 0)


async def read_files(text: str, attached: Sequence[Attachment], limit: int,
                     by_share_token: Callable[[str], Awaitable[JobRecord | None]], artifacts: Path) -> ReadFiles:
    """Gather the attached files and the linked results (attachments first), check them, and read each one.

    Raises:
        AttachmentRefused: too many files for the command, one too big, not MIDI, or a link to no result.
        InputError: the reader refused a file (the message names it and says what is allowed).
    """
    name, reader, most = expected(text)
    words, tokens = share_tokens(text)
    if tokens and not most:  # a link in a command that reads no files is left for the grammar to judge
        words, tokens = text, []
    files = list(attached)
    if len(files) + len(tokens) > max(most, 0) and (files or tokens):
        given = len(files) + len(tokens)
        if not most:
            raise AttachmentRefused(f"/{name} takes no attached file; type its primer instead (see /help {name}).")
        raise AttachmentRefused(f"/{name} reads at most {_count(most)}; you gave {given} (attached or linked).")
    for a in files:
        check_size(a.name or "attachment", len(a.data), limit)
    for token in tokens:
        files.append(await _linked_midi(token, by_share_token, artifacts, limit))
    for a in files:
        if not a.data.startswith(b"MThd"):
            raise AttachmentRefused(f"the attachment {a.name} is not a MIDI file (.mid); attach a MIDI file, "
                                    "or type a primer.")
    primers = await asyncio.gather(*(read_primer_attachment(a.data, a.name or "the attachment", reader)
                                     for a in files))  # side by side: Slack's 3 s acknowledgement waits on them
    return ReadFiles(tuple(primers), words)


def builder_input(text: str, primers: Sequence[AttachedPrimer]) -> tuple[Any, ...] | None:
    """What the command's builder gets: the file's events, or one events tuple per file for a command that
    reads several."""
    if not primers:
        return None
    return tuple(p.events for p in primers) if expected(text)[2] > 1 else primers[0].events


async def _linked_midi(token: str, by_share_token: Callable[[str], Awaitable[JobRecord | None]],
                       artifacts: Path, limit: int) -> Attachment:
    record = await by_share_token(token)
    outputs = record.result.get("outputs", []) if record is not None and record.status == "done" else []
    if not outputs:
        raise AttachmentRefused(f"the link /s/{token} is not a finished result of this bot; link a result "
                                "that has its files, or attach a MIDI file.")
    assert record is not None
    path = artifacts / record.id / str(outputs[0]["midi"])
    try:
        data = await asyncio.to_thread(_read_capped, path, limit)
    except OSError:
        raise AttachmentRefused(f"the files of /s/{token} are no longer kept; attach the MIDI file instead.") from None
    return Attachment(data, f"result {token[:8]}")


def _read_capped(path: Path, limit: int) -> bytes:
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError("too big")
    return data
