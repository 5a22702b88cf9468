"""One command grammar for every front end: "/improv C G Am F primer:60 bars:8" -> GenerationRequest.

The commands, their option tables, help and builders are declared by the families (generation/families/
registry.py); this module reads the line, finds the command, and wraps what its builder returns in a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.command_line import check_length, split_words
from generation.families.chat import MAX_BARS as MAX_BARS
from generation.families.chat import QPM, ChatCommand, CommandLine, Option, numeric
from generation.families.chat import CommandError as CommandError  # re-exported: front ends catch it from here
from generation.families.performance.chat import MAX_SECONDS as MAX_SECONDS
from generation.families.registry import families, family_of_config
from generation.music.primer import MELODY_READER
from generation.music.transpose import MAX_SEMITONES
from generation.request import GenerationRequest

# Every family's chat commands, in registry order, and the family each belongs to.
CHAT_COMMANDS: dict[str, ChatCommand] = {c.name: c for p in families() for c in p.commands}
FAMILY_OF_COMMAND: dict[str, str] = {c.name: p.name for p in families() for c in p.commands}
# Options of every command, after each family's own: a step the worker takes on any finished piece (the families
# never see it), so it is declared here rather than in each table.
TRANSPOSE = numeric("transpose", "semitones to move the finished piece by (drums stay as they are)", 0, int,
                    -MAX_SEMITONES, MAX_SEMITONES, f"-{MAX_SEMITONES} to {MAX_SEMITONES}, e.g. +2")
OPTIONS_OF: dict[str, tuple[Option, ...]] = {name: (*c.options, TRANSPOSE) for name, c in CHAT_COMMANDS.items()}
COMMANDS = (*CHAT_COMMANDS, "help")
ALIASES = {"harmonise": "harmonize"}


@dataclass(frozen=True)
class ParsedCommand:
    name: str  # a command of COMMANDS
    request: GenerationRequest | None
    seed_given: bool = False
    topic: str = ""  # /help COMMAND


def help_text(topic: str = "") -> str:
    """`/help`: a line per command (it fits one Discord message); `/help COMMAND`: that command's example and
    options, from its table."""
    if topic in CHAT_COMMANDS:
        c = CHAT_COMMANDS[topic]
        lines = [c.usage, f"  {c.example}", f"  {c.positional}", "  options:"]
        lines += [f"    {o.name}:  {o.help}. Allowed: {o.allowed}." for o in OPTIONS_OF[topic]]
        return "\n".join(lines)
    lines = [c.usage for c in CHAT_COMMANDS.values()]
    lines.append("/help COMMAND  - a command's example and options, e.g. /help improv")
    return "\n".join(lines)


def _within(value: float, option: Option) -> float:
    assert option.low is not None and option.high is not None, option.name
    return min(max(value, option.low), option.high)


def attachment_reader(text: str) -> tuple[str, str]:
    """(the command's name, the reader of its attached MIDI: "" when it takes none) for a command line.

    An unknown command gets the melody reader: parsing it reports the unknown command afterwards.
    """
    check_length(text)
    first = text.strip().split(maxsplit=1)[:1]
    name = ALIASES.get(first[0].lstrip("/").lower(), first[0].lstrip("/").lower()) if first else ""
    command = CHAT_COMMANDS.get(name)
    return name, command.attachment_reader if command else MELODY_READER


def parse_command(text: str, *, primer_from_attachment: tuple[Any, ...] | None = None,
                  primer_qpm: float | None = None,
                  default_seed: int = 0, installed: frozenset[str] | None = None) -> ParsedCommand:
    """Parse one command line.

    Args:
        text: what the user typed, e.g. "/improv C G Am F primer:60".
        primer_from_attachment: what the command's reader read from an attached MIDI (melody events for most;
            wins over a typed melody).
        primer_qpm: the attached file's tempo: the piece's tempo unless qpm: is given (kept within qpm:'s range).
        default_seed: used when the user gives no seed: (the caller draws a random one).
        installed: configs with a trained model on this bot (None: do not check).

    Raises:
        CommandError: with the bad token and what is allowed.
    """
    check_length(text)  # before anything reads the text
    stripped = text.strip()
    split = split_words(stripped)
    tokens, columns = [w for w, _ in split], [c for _, c in split]
    if not tokens:
        raise CommandError(stripped, "", "empty command; try /help")
    name = tokens[0].lstrip("/").lower()
    name = ALIASES.get(name, name)
    if name not in COMMANDS:
        raise CommandError(stripped, tokens[0], f"unknown command {tokens[0]!r}; commands: "
                           + ", ".join("/" + c for c in COMMANDS))
    if name == "help":
        topic = tokens[1].lstrip("/").lower() if len(tokens) > 1 else ""
        if topic and topic not in CHAT_COMMANDS:
            raise CommandError(stripped, tokens[1], f"no command {tokens[1]!r}; commands: "
                               + ", ".join("/" + c for c in COMMANDS), columns[1])
        return ParsedCommand("help", None, topic=topic)
    command = CHAT_COMMANDS[name]
    line = CommandLine(stripped, tokens, columns)
    values, words = line.options(OPTIONS_OF[name])
    transpose = values.pop("transpose", 0)  # the worker's step, not the family's: its builder never sees it
    fields = command.build(line, values, words, primer_from_attachment)
    config = fields.pop("config")
    if installed is not None and config not in installed:
        raise CommandError(stripped, f"config:{config}", f"{config} is not installed on this bot; available: "
                           + ", ".join(sorted(installed)), line.column_of("config:"))
    plugin = family_of_config(config)  # the command's own family, or the one its builder handed the file to
    request = GenerationRequest(
        plugin.name, config, plugin.params(**fields),
        qpm=values.get("qpm", _within(primer_qpm, QPM) if primer_qpm else command.default_qpm),
        temperature=values.get("temperature", command.default_temperature),
        num_outputs=values.get("outputs", 1),
        seed=values.get("seed", default_seed),
        transpose=transpose,
    )
    return ParsedCommand(name, request, seed_given="seed" in values)
