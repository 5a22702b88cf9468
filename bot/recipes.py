"""Recipes of pieces made from earlier results (Again, Vary, Longer, Harmonise this, Add drums, Arrange, remix by
reply): the new command text and, where the stored request is changed directly, the new request. Pure: no I/O.

Again and Vary change the stored request (so a piece made from an attached file keeps its primer) and show the
change in the command text; the others are command texts naming the earlier result by its share link, which
the one grammar reads as the command's primer, so every recipe can be typed again.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.attachments import SHARE_LINK
from bot.command_line import check_length, word_spans
from bot.commands import ALIASES, CHAT_COMMANDS, MAX_BARS, OPTIONS_OF, CommandError
from generation.families.chat import ChatCommand, Option
from generation.music.primer import MELODY_READER
from generation.request import GenerationRequest

# The buttons under a result, in order, and their labels.
ACTIONS: dict[str, str] = {"again": "Again", "vary": "Vary", "longer": "Longer", "harmonise": "Harmonise this",
                           "drums": "Add drums", "arrange": "Arrange"}
# Actions that hand the result to another command: (the command, options of the action's own). Each starts from
# the result's tune, so it is offered under a tune: a result of a command that reads melodies (its results are
# melodies or have one on top; a drum track, a groove or a two-file path may have none), and only where a family
# declares the command. "drums" keeps the tune and adds a drum part (/drumify keep:on).
HANDED_TO: dict[str, tuple[str, str]] = {"harmonise": ("harmonize", ""), "drums": ("drumify", "keep:on"),
                                         "arrange": ("arrange", "")}
ACTION_WORDS = {**{a: a for a in ACTIONS}, "harmonize": "harmonise", "continue": "longer", "more": "longer",
                "drum": "drums", "drumify": "drums", "arrangement": "arrange"}
# Commands whose results have several voices while their MIDI reader takes one line from a file: the result
# cannot be their own primer without losing voices, so Longer says so instead. (Belongs in ChatCommand, as a
# flag its family sets, once that table can say it.)
READS_ONE_LINE_OF_MANY = {"chorale", "harmonize"}
# Commands whose tunes come with a drum part already (a band arrangement): Add drums is not offered under them.
# (Also a ChatCommand flag, once the table can say it.)
HAS_DRUMS = {"arrange"}
VARY_STEP = 0.15  # each Vary of a result is this much hotter than the one before
BAR_STEPS = 16  # 16th notes in a bar of 4/4: the step of every family that continues a primer
# Options a reply may change on the stored request itself (no need to read the command line again).
REQUEST_OPTIONS = {"seed": "seed", "temperature": "temperature", "qpm": "qpm", "outputs": "num_outputs",
                   "transpose": "transpose"}
_OPTION = re.compile(r"^([a-z_]+):(.+)$", re.DOTALL)


class RemixError(CommandError):
    """A remix we cannot make; says why and what would work (a CommandError, so front ends show it as one)."""

    def __init__(self, text: str, reason: str, token: str = "") -> None:
        super().__init__(text, token, reason, -1 if not token else None)


@dataclass(frozen=True)
class Recipe:
    """A new job's command text; `request` when it was made by changing the stored request (Again, Vary, a
    reply of request options), else None: the text is read by the grammar, its share link as the primer."""

    text: str
    request: GenerationRequest | None = None
    candidates: tuple[str, ...] = ()  # texts to try in order (the first the grammar accepts wins)


def command_of(text: str) -> ChatCommand | None:
    """The chat command a command line starts with (aliases followed), or None."""
    first = text.strip().split(maxsplit=1)[:1]
    name = first[0].lstrip("/").lower() if first else ""
    return CHAT_COMMANDS.get(ALIASES.get(name, name))


def why_not_longer(command: ChatCommand) -> str:
    """'' when the command can continue one of its results (it reads one MIDI primer and counts bars), else why."""
    if not command.attachment_reader or command.attachments != 1:
        what = "its primer is typed, not read from a MIDI file" if not command.attachment_reader else \
            f"it reads {command.attachments} files at once"
        return f"/{command.name} cannot continue an earlier result: {what}. Start a new piece instead."
    if command.name in READS_ONE_LINE_OF_MANY:
        return (f"/{command.name} cannot continue one of its results: it reads only the top line of a MIDI file, "
                "and its results have four voices. Harmonise this takes the top line to a new harmony.")
    if _option(command, "bars") is None:
        return (f"/{command.name} cannot continue an earlier result: its length is not counted in bars "
                f"(options: {', '.join(o.name for o in command.options)}).")
    return ""


def why_not_handed(action: str, command: ChatCommand) -> str:
    """Why an action that hands a result to another command is not offered under a result of `command`."""
    label = ACTIONS.get(action, action)
    name, _ = HANDED_TO.get(action, (action, ""))
    if name not in CHAT_COMMANDS:
        return f"{label} is not offered by this bot (it has no /{name})."
    if action == "drums" and command.name in HAS_DRUMS:
        return f"a /{command.name} result has its drum part already (/{command.name} drums:on or drums:off chooses)."
    return (f"{label} does not apply to a /{command.name} result: /{name} starts from a tune, and /{command.name} "
            "results need not have one.")


def available(text: str, status: str = "done") -> tuple[str, ...]:
    """The actions offered under a job of this command line: Again for any finished job (a failed one is tried
    again), the rest for a result."""
    command = command_of(text)
    if command is None or status not in ("done", "failed"):
        return ()
    if status == "failed":
        return ("again",)
    actions = ["again", "vary"]
    if not why_not_longer(command):
        actions.append("longer")
    if command.attachment_reader != MELODY_READER:  # its results need not have a tune
        return tuple(actions)
    for action, (name, _) in HANDED_TO.items():
        target = CHAT_COMMANDS.get(name)
        if target is not None and target.attachment_reader and not (action == "drums" and command.name in HAS_DRUMS):
            actions.append(action)
    return tuple(actions)


def again(command_text: str, request_json: str, seed: int) -> Recipe:
    """The same recipe with a new seed."""
    request = dataclasses.replace(GenerationRequest.from_json(request_json), seed=seed)
    return Recipe(with_options(command_text, {"seed": str(seed)}), request)


def vary(command_text: str, request_json: str, earlier_varies: int, seed: int) -> Recipe:
    """The same recipe (same seed: the same random draws, so the same piece where the model is sure) a little
    hotter: each Vary of a result VARY_STEP above the one before, up to the command's highest temperature; past
    that, a new seed."""
    request = GenerationRequest.from_json(request_json)
    command = command_of(command_text)
    option = _option(command, "temperature") if command else None
    high = option.high if option is not None and option.high is not None else request.temperature
    temperature = round(min(request.temperature + VARY_STEP * (earlier_varies + 1), high), 2)
    at_cap = request.temperature + VARY_STEP * earlier_varies >= high - 1e-9  # no hotter left: the same
    seed_now = seed if at_cap else request.seed  # temperature and seed would give the same piece again
    new = dataclasses.replace(request, temperature=temperature, seed=seed_now)
    return Recipe(with_options(command_text, {"temperature": f"{temperature:g}", "seed": str(seed_now)}), new)


def longer(command_text: str, request_json: str, link: str, seed: int) -> Recipe:
    """More bars from this result: the command again with the result as its primer and twice the bars (so the
    new half is as long as the old piece).

    Raises:
        RemixError: the command cannot continue a result, or the piece is as long as one may be already.
    """
    command = command_of(command_text)
    if command is None:
        raise RemixError(command_text, "this result's command is no longer known to the bot; start a new piece.")
    why = why_not_longer(command)
    if why:
        raise RemixError(command_text, why)
    option = _option(command, "bars")
    most = int(option.high) if option is not None and option.high is not None else MAX_BARS
    bars = math.ceil(GenerationRequest.from_json(request_json).total_steps / BAR_STEPS)
    if bars >= most:
        raise RemixError(command_text, f"this piece has {bars} bars already; /{command.name} writes at most {most}.")
    return _from_result(command_text, link, {"bars": str(min(2 * bars, most)), "seed": str(seed)})


def handed(action: str, link: str, seed: int) -> Recipe:
    """The result handed to another command (Harmonise this: /harmonize with the result as its melody; Add drums:
    /drumify keep:on, the result and a drum part on its rhythm)."""
    name, options = HANDED_TO[action]
    return Recipe(" ".join(w for w in (f"/{name}", options, link, f"seed:{seed}") if w))


def reply_command(text: str, link: str) -> Recipe:
    """A command sent in reply to a result: that result is its primer (or its source file).

    Raises:
        RemixError: the command reads no MIDI file, so a result cannot be its primer.
    """
    command = command_of(text)
    if command is not None and not command.attachment_reader:
        raise RemixError(text, f"/{command.name} cannot start from an earlier result (it reads no MIDI file); send "
                         "it as a new command instead.", text.split()[0])
    return Recipe(f"{text.strip()} {link}")


def reply_options(command_text: str, request_json: str, words: str) -> Recipe:
    """A reply of options only (`temperature:1.2 bars:16`): the earlier recipe with those options changed, and
    its seed kept unless seed: is given, so the change is heard on the same piece.

    Raises:
        RemixError: an option the command does not have, or a value out of range (pointing at it).
    """
    command = command_of(command_text)
    if command is None:
        raise RemixError(command_text, "this result's command is no longer known to the bot; start a new piece.")
    changes = option_words(words, command)
    request = GenerationRequest.from_json(request_json)
    changes.setdefault("seed", str(request.seed))
    if set(changes) <= set(REQUEST_OPTIONS):  # changed on the request: exact, also for a piece from a file
        table = {o.name: o for o in OPTIONS_OF[command.name]}
        fields: dict[str, Any] = {REQUEST_OPTIONS[k]: table[k].parse(v) if k in table else int(v)
                                  for k, v in changes.items()}
        return Recipe(with_options(command_text, changes), dataclasses.replace(request, **fields))
    return Recipe(with_options(command_text, changes))


def reply_kind(text: str) -> str:
    """What a reply to a result is: "command" (/harmonize ...), "action" (again, vary, ...), "options"
    (temperature:1.2 bars:16), or "" (none of these)."""
    words = text.split()
    if not words:
        return ""
    if words[0].startswith("/"):
        return "command"
    if len(words) == 1 and words[0].lower().strip("!.") in ACTION_WORDS:
        return "action"
    return "options" if all(_OPTION.match(w) for w in words) else ""


def option_words(words: str, command: ChatCommand) -> dict[str, str]:
    """`name:value` words checked against the command's options: {name: value as typed}.

    Raises:
        RemixError: not an option of the command, given twice, or a value it refuses (pointing at the word).
    """
    check_length(words)
    table = {o.name: o for o in OPTIONS_OF[command.name]}
    changes: dict[str, str] = {}
    for word, _, _ in word_spans(words):
        match = _OPTION.match(word)
        if not match or match.group(1) not in table:
            name = match.group(1) if match else word
            raise CommandError(words, word, f"{name!r} is not an option of /{command.name}; reply with options "
                               f"such as {', '.join(o.name + ':' for o in command.options[:6])} (see /help "
                               f"{command.name}), or with a command")
        key, value = match.group(1), match.group(2)
        if key in changes:
            raise CommandError(words, word, f"option {key!r} is given twice")
        try:
            table[key].parse(value)
        except ValueError as e:
            raise CommandError(words, word, f"{key}: {e}. Allowed: {table[key].allowed}.") from None
        changes[key] = value
    return changes


def with_options(text: str, changes: Mapping[str, str | None]) -> str:
    """The command line with each option of `changes` set (None: removed): the old `name:` words taken out and
    the new ones added at the end; every other word kept exactly as typed."""
    kept = []
    for word, start, end in word_spans(text):
        match = _OPTION.match(word)
        if match and match.group(1) in changes and not SHARE_LINK.fullmatch(word):
            continue
        kept.append(text[start:end])
    kept += [f"{name}:{value}" for name, value in changes.items() if value is not None]
    return " ".join(kept)


def _from_result(command_text: str, link: str, changes: dict[str, str]) -> Recipe:
    """The command with `changes` and the result's link as its file: first without the typed words (a melody
    typed or a primer the file replaces), then with them (words the command still needs, such as chords)."""
    spans = word_spans(command_text)
    plain = [command_text[s:e] for _, s, e in spans[1:] if not SHARE_LINK.fullmatch(command_text[s:e])]
    # primer: and melody: are what the result replaces (a typed start), and the result is in its key already
    # (transpose: again would move it twice); every other option stays
    options = [w for w in plain if _OPTION.match(w) and not w.startswith(("primer:", "melody:", "transpose:"))]
    typed = [w for w in plain if not _OPTION.match(w)]
    head = command_text[spans[0][1]:spans[0][2]]
    bare = with_options(" ".join([head, *options]), dict(changes)) + f" {link}"
    full = with_options(" ".join([head, *typed, *options]), dict(changes)) + f" {link}"
    return Recipe(bare, candidates=(bare, full) if typed else (bare,))


def _option(command: ChatCommand | None, name: str) -> Option | None:
    return next((o for o in command.options if o.name == name), None) if command else None
