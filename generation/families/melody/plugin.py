"""Melody RNN as a plug-in: a single melody line, continued from a primer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generation.families.melody import chat, continue_chat
from generation.families.melody.config import CONFIGS
from generation.families.plugin import FamilyPlugin, Made
from generation.request import GenerationRequest


@dataclass(frozen=True)
class MelodyParams:
    """num_steps: 16th notes, primer included; primer: melody events (-2 hold, -1 off, 0-127 on)."""

    num_steps: int
    primer: tuple[int, ...] = (60,)

    @property
    def total_steps(self) -> int:
        return self.num_steps


def _load(config: str) -> Any:
    from generation.families.melody.generator import MelodyGenerator

    return MelodyGenerator.load(config)


def _warm_up(generator: Any) -> None:
    from generation.engine.sampling import SearchSettings

    generator.generate((60,), 32, 1, SearchSettings(), 0)


def _make(generator: Any, request: GenerationRequest) -> Made:
    from generation.families.melody.midi import melody_midi

    params: MelodyParams = request.params
    melodies = generator.generate(params.primer, params.num_steps, request.num_outputs, request.search(),
                                  request.seed)
    return Made("melody", [melody_midi(m, request.qpm) for m in melodies], 15.0 / request.qpm)


PLUGIN = FamilyPlugin(name="melody", configs=tuple(CONFIGS), params=MelodyParams,
                      warm_configs=(chat.DEFAULT_CONFIG,), generate_command="melody_rnn_generate",
                      train_command="melody_rnn_train", commands=chat.COMMANDS + continue_chat.COMMANDS,
                      load=_load, warm_up=_warm_up, make=_make)
