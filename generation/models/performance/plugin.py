"""Performance RNN as a plug-in: expressive piano with timing and dynamics, steered by density and pitch."""

from __future__ import annotations

from typing import Any

from generation.families.plugin import FamilyPlugin, Made
from generation.models.performance.config import CONFIGS
from generation.request import GenerationRequest


def _load(config: str) -> Any:
    from generation.models.performance.generator import PerformanceGenerator

    return PerformanceGenerator.load(config)


def _warm_up(generator: Any) -> None:
    generator.warm_up()


def _make(generator: Any, request: GenerationRequest) -> Made:
    from generation.models.performance.generator import performance_midi
    from generation.models.performance.primer import melody_primer, pitches_primer

    end = None
    if request.primer_pitches:
        primer = pitches_primer(request.primer_pitches)
    elif request.primer:
        primer, end = melody_primer(request.primer)
    else:
        primer = []
    pieces = generator.generate_notes(
        primer, request.num_steps, num_outputs=request.num_outputs, search=request.search(), seed=request.seed,
        notes_per_second=request.notes_per_second or None,
        pitch_class_histogram=request.pitch_class_histogram or None, primer_end=end)
    return Made("performance", [performance_midi(notes, request.num_steps) for notes in pieces], 0.01)


PLUGIN = FamilyPlugin(name="performance", configs=tuple(CONFIGS),
                      warm_configs=("multiconditioned_performance_with_dynamics",),
                      generate_command="performance_rnn_generate", train_command="performance_rnn_train",
                      load=_load, warm_up=_warm_up, make=_make)
