"""What a model family offers the rest of Tunesmith: the one interface the worker, the CLIs and the bot use.

A family's plug-in module defines `PLUGIN = FamilyPlugin(...)` and imports TensorFlow only inside the functions
it hands over, so reading the registry (the bot does, for /help and limits) never loads a model library.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from generation.request import GenerationRequest


class Made(NamedTuple):
    """A family's pieces for one request, ready to render."""

    stem: str  # file names: <stem>_<i>.mid/.ogg/.png ("melody", "chorale", ...)
    midis: Sequence[Any]  # pretty_midi.PrettyMIDI, one per output
    step_seconds: float  # how long one of the request's steps lasts (for the output's length)


@dataclass(frozen=True)
class FamilyPlugin:
    """One model family.

    Attributes:
        name: the family id carried by requests ("improv").
        configs: the config ids it runs, Magenta's names.
        warm_configs: configs a worker loads before taking jobs (the chat commands' defaults).
        generate_command, train_command: its Magenta-named command lines.
        load: config id -> a loaded generator (our shipped model for it).
        warm_up: runs a loaded generator once so the first user does not wait for tracing.
        make: (generator, request) -> the pieces as MIDI.
    """

    name: str
    configs: tuple[str, ...]
    warm_configs: tuple[str, ...]
    generate_command: str
    train_command: str
    load: Callable[[str], Any]
    warm_up: Callable[[Any], None]
    make: Callable[[Any, GenerationRequest], Made]
