"""Performance RNN as a plug-in: expressive piano with timing and dynamics, steered by density and pitch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generation.families.performance import chat
from generation.families.performance.config import CONFIGS
from generation.families.plugin import FamilyPlugin, Made
from generation.request import GenerationRequest


@dataclass(frozen=True)
class PerformanceParams:
    """num_steps: 10 ms steps, primer included; primer: melody events (16ths at 120 qpm); primer_pitches: held
    together for 0.5 s; notes_per_second, pitch_class_histogram (12 weights, C to B): what to aim at (0 / empty:
    no request)."""

    num_steps: int
    primer: tuple[int, ...] = ()
    primer_pitches: tuple[int, ...] = ()
    notes_per_second: float = 0.0
    pitch_class_histogram: tuple[float, ...] = ()

    @property
    def total_steps(self) -> int:
        return self.num_steps


def _load(config: str) -> Any:
    from generation.families.performance.generator import PerformanceGenerator

    return PerformanceGenerator.load(config)


def _warm_up(generator: Any) -> None:
    generator.warm_up()


def _make(generator: Any, request: GenerationRequest) -> Made:
    from generation.families.performance.generator import performance_midi
    from generation.families.performance.primer import melody_primer, pitches_primer

    params: PerformanceParams = request.params
    end = None
    if params.primer_pitches:
        primer = pitches_primer(params.primer_pitches)
    elif params.primer:
        primer, end = melody_primer(params.primer)
    else:
        primer = []
    pieces = generator.generate_notes(
        primer, params.num_steps, num_outputs=request.num_outputs, search=request.search(), seed=request.seed,
        notes_per_second=params.notes_per_second or None,
        pitch_class_histogram=params.pitch_class_histogram or None, primer_end=end)
    return Made("performance", [performance_midi(notes, params.num_steps) for notes in pieces], 0.01)


PLUGIN = FamilyPlugin(name="performance", configs=tuple(CONFIGS), params=PerformanceParams,
                      warm_configs=("multiconditioned_performance_with_dynamics",),
                      generate_command="performance_rnn_generate", train_command="performance_rnn_train",
                      commands=chat.COMMANDS, load=_load, warm_up=_warm_up, make=_make)
