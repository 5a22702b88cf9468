"""The model families, one line each: the worker, the CLIs' messages and the bot read them from here.

A family named here is the folder `generation/families/<name>/` whose `plugin.py` holds its `PLUGIN`; plug-ins
are imported on first use, and a plug-in module imports no model library at import time.
"""

from __future__ import annotations

import importlib
from functools import cache

from generation.errors import InputError
from generation.families.plugin import FamilyPlugin

FAMILY_NAMES: tuple[str, ...] = (
    "improv",
    "polyphony",
    "pianoroll",
    "performance",
    "melody",
    "drums",
    "music_vae",
    "arrange",
)


@cache
def family(name: str) -> FamilyPlugin:
    """The plug-in of family `name`.

    Raises:
        InputError: no such family.
    """
    if name not in FAMILY_NAMES:
        raise InputError(f"unknown model family {name!r}; known: {', '.join(FAMILY_NAMES)}.")
    plugin = importlib.import_module(f"generation.families.{name}.plugin").PLUGIN
    assert isinstance(plugin, FamilyPlugin) and plugin.name == name, name
    return plugin


def families() -> list[FamilyPlugin]:
    return [family(name) for name in FAMILY_NAMES]


def family_of_config(config: str) -> FamilyPlugin:
    """The family that runs `config`.

    Raises:
        InputError: no family runs it.
    """
    for plugin in families():
        if config in plugin.configs:
            return plugin
    known = ", ".join(c for p in families() for c in p.configs)
    raise InputError(f"unknown config {config!r}; the configs are: {known}.")
