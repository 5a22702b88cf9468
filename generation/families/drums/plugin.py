"""Drums RNN as a plug-in: a drum-kit track on MIDI channel 10, optionally in a Groove style."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generation.families.drums import chat
from generation.families.drums.config import CONFIGS
from generation.families.plugin import FamilyPlugin, Made
from generation.request import GenerationRequest


@dataclass(frozen=True)
class DrumsParams:
    """num_steps: 16th notes, primer included; primer: the GM drum pitches struck at each step; style: one of
    the style config's styles, or "" for none."""

    num_steps: int
    primer: tuple[tuple[int, ...], ...] = ()
    style: str = ""

    @property
    def total_steps(self) -> int:
        return self.num_steps


def _load(config: str) -> Any:
    from generation.families.drums.generator import DrumsGenerator

    return DrumsGenerator.load(config)


def _warm_up(generator: Any) -> None:
    from generation.engine.sampling import SearchSettings

    generator.generate((), 32, 1, SearchSettings(), 0, style=generator.config.styles[0] if generator.config.styles
                       else None)


def _make(generator: Any, request: GenerationRequest) -> Made:
    from generation.families.drums.midi import drums_midi

    params: DrumsParams = request.params
    tracks = generator.generate([frozenset(s) for s in params.primer], params.num_steps, request.num_outputs,
                                request.search(), request.seed, style=params.style or None,
                                qpm=request.qpm)
    return Made("drums", [drums_midi(t, request.qpm) for t in tracks], 15.0 / request.qpm)


PLUGIN = FamilyPlugin(name="drums", configs=tuple(CONFIGS), params=DrumsParams, warm_configs=("drum_kit",),
                      generate_command="drums_rnn_generate", train_command="drums_rnn_train",
                      commands=chat.COMMANDS, load=_load, warm_up=_warm_up, make=_make)
