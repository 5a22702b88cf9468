"""What a model family offers the rest of Tunesmith: the one interface the worker, the CLIs and the bot use.

A family's plug-in module defines `PLUGIN = FamilyPlugin(...)` and imports TensorFlow only inside the functions
it hands over, so reading the registry (the bot does, for /help and limits) never loads a model library.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from generation.families.chat import ChatCommand
from generation.request import GenerationRequest


class Made(NamedTuple):
    """A family's pieces for one request, ready to render."""

    stem: str  # file names: <stem>_<i>.mid/.ogg/.png ("melody", "chorale", ...)
    midis: Sequence[Any]  # pretty_midi.PrettyMIDI, one per output
    step_seconds: float  # how long one of the request's steps lasts (for the output's length)
    notes: tuple[str, ...] = ()  # what was done to the user's input, in words for them ("... looped 2 times ...")


MAX_NOTES, MAX_NOTE_CHARS = 5, 200  # a result's notes, as stored and shown: a few short lines under it


def bounded_notes(notes: Any) -> list[str]:
    """A result's notes as front ends may show them: the text items of a list (anything else, e.g. an old or odd
    stored row, gives none), at most MAX_NOTES, each cut to MAX_NOTE_CHARS."""
    if not isinstance(notes, list | tuple):
        return []
    texts = [" ".join(n.split()) for n in notes if isinstance(n, str) and n.strip()]
    return [n if len(n) <= MAX_NOTE_CHARS else n[:MAX_NOTE_CHARS - 1] + "\u2026" for n in texts[:MAX_NOTES]]


@dataclass(frozen=True)
class FamilyPlugin:
    """One model family.

    Attributes:
        name: the family id carried by requests ("improv").
        configs: the config ids it runs, Magenta's names.
        params: the frozen dataclass of what a request of this family carries beyond the common fields.
        warm_configs: configs a worker loads before taking jobs (the chat commands' defaults).
        generate_command, train_command: its Magenta-named command lines.
        commands: its chat commands (options, help, builder), from which the grammar, /help and Discord's
            app commands are made.
        load: config id -> a loaded generator (our shipped model for it).
        warm_up: runs a loaded generator once so the first user does not wait for tracing.
        make: (generator, request) -> the pieces as MIDI.
    """

    name: str
    configs: tuple[str, ...]
    params: type  # the family's frozen params dataclass (with a `total_steps` property)
    warm_configs: tuple[str, ...]
    generate_command: str
    train_command: str
    commands: tuple[ChatCommand, ...]
    load: Callable[[str], Any]
    warm_up: Callable[[Any], None]
    make: Callable[[Any, GenerationRequest], Made]


def read_params(cls: type, data: Any) -> Any:
    """A family's params from JSON data, each field checked against its declared type (unknown keys ignored).

    Raises:
        ValueError: not an object, or a field of the wrong type.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: params must be a JSON object")
    hints = typing.get_type_hints(cls)
    values = {f.name: _typed(data[f.name], hints[f.name], f"{cls.__name__}.{f.name}")
              for f in dataclasses.fields(cls) if f.name in data}
    return cls(**values)


def _typed(value: Any, hint: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where} must be a list")
        inner = args[0] if args and (len(args) == 1 or args[1] is Ellipsis) else Any
        return tuple(_typed(v, inner, where) for v in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} must be an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where} must be a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{where} must be text")
        return value
    return value
