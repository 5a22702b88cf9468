"""The model families, one line each: the worker, the CLIs' messages and the bot read them from here.

Each line names the module holding the family's `PLUGIN`; modules are imported on first use, and a plug-in
module imports no model library at import time.
"""

from __future__ import annotations

import importlib
from functools import cache

from generation.errors import InputError
from generation.families.plugin import FamilyPlugin

FAMILY_MODULES: dict[str, str] = {
    "improv": "generation.models.improv.plugin",
    "polyphony": "generation.models.polyphony.plugin",
    "pianoroll": "generation.models.pianoroll.plugin",
    "performance": "generation.models.performance.plugin",
    "melody": "generation.families.melody.plugin",
    "drums": "generation.families.drums.plugin",
}


@cache
def family(name: str) -> FamilyPlugin:
    """The plug-in of family `name`.

    Raises:
        InputError: no such family.
    """
    if name not in FAMILY_MODULES:
        raise InputError(f"unknown model family {name!r}; known: {', '.join(FAMILY_MODULES)}.")
    plugin = importlib.import_module(FAMILY_MODULES[name]).PLUGIN
    assert isinstance(plugin, FamilyPlugin) and plugin.name == name, FAMILY_MODULES[name]
    return plugin


def families() -> list[FamilyPlugin]:
    return [family(name) for name in FAMILY_MODULES]


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
