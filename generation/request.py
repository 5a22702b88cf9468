"""The one request type every front end builds (chat commands, HTTP API) and every worker takes: an envelope of
the family, its config, the fields every family shares, and the family's own params.

JSON in, JSON out: workers get `to_json()` text, never pickles, and never chat tokens; `from_json` checks the
family, the config and every field's type against the family's params type (both sides validate).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

COMMON = ("qpm", "temperature", "num_outputs", "seed", "beam_size", "branch_factor", "steps_per_iteration")


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate; validated by whoever builds it (bot/commands.py) and again by `from_json`.

    Attributes:
        family: the model family (a key of generation/families/registry.py).
        config: config id within the family.
        params: the family's frozen params (e.g. chords and primer for improv); `params.total_steps` is the length.
        qpm: tempo.
        temperature, beam_size, branch_factor, steps_per_iteration: sampling, as in Magenta.
        num_outputs: how many pieces.
        seed: fixes every random draw.
        transpose: semitones the finished pieces' pitched parts are moved by (-12..12; drums stay).
    """

    family: str
    config: str
    params: Any
    qpm: float = 120.0
    temperature: float = 1.0
    num_outputs: int = 1
    seed: int = 0
    beam_size: int = 1
    branch_factor: int = 1
    steps_per_iteration: int = 1
    transpose: int = 0

    def search(self) -> Any:
        """The sampling settings (SearchSettings; imported here, so the bot never loads the model layer)."""
        from generation.engine.sampling import SearchSettings

        return SearchSettings(self.temperature, self.beam_size, self.branch_factor, self.steps_per_iteration)

    @property
    def total_steps(self) -> int:
        return int(self.params.total_steps)

    def to_json(self) -> str:
        data: dict[str, Any] = {"family": self.family, "config": self.config,
                                "params": dataclasses.asdict(self.params)}
        data.update({name: getattr(self, name) for name in COMMON})
        if self.transpose:  # only when asked: every request recorded before it reads (and writes) as it did
            data["transpose"] = self.transpose
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GenerationRequest:
        """Read and check a request.

        Requests recorded before the envelope (one flat object) are read too, so queued jobs survive an upgrade.

        Raises:
            ValueError: not a request: unknown family or config, a field of the wrong type or out of range.
        """
        from generation.families.plugin import read_params
        from generation.families.registry import FAMILY_NAMES, family

        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a generation request is a JSON object")
        name, config = data.get("family"), data.get("config")
        if name not in FAMILY_NAMES:
            raise ValueError(f"unknown model family {name!r}")
        plugin = family(str(name))
        if config not in plugin.configs:
            raise ValueError(f"{config!r} is not a {name} config")
        params = read_params(plugin.params, data.get("params", data))
        common: dict[str, Any] = {}
        for key, kind, low, high in (("qpm", float, 1.0, 400.0), ("temperature", float, 1e-3, 10.0),
                                     ("num_outputs", int, 1, 16), ("seed", int, 0, 2**63),
                                     ("beam_size", int, 1, 64), ("branch_factor", int, 1, 64),
                                     ("steps_per_iteration", int, 1, 4096), ("transpose", int, -12, 12)):
            if key not in data:
                continue
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and
                                                                                 not isinstance(value, int)):
                raise ValueError(f"{key} must be {'an integer' if kind is int else 'a number'}")
            if not (math.isfinite(value) and low <= value <= high):
                raise ValueError(f"{key}={value} is out of range {low:g}-{high:g}")
            common[key] = kind(value)
        return cls(str(name), str(config), params, **common)
