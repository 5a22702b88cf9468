"""Improv RNN as a plug-in: a melody improvised over a chord progression."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generation.families.improv import chat
from generation.families.improv.config import CONFIGS
from generation.families.plugin import FamilyPlugin, Made
from generation.request import GenerationRequest


@dataclass(frozen=True)
class ImprovParams:
    """chords: one figure per chord ("N.C." for none), in order; steps_per_chord: 16th notes each lasts;
    primer: melody events the output starts with (-2 hold, -1 off, 0-127 on); render_chords: play them too;
    notes_per_bar: the density to steer toward (0: like human lead sheets over such chords)."""

    chords: tuple[str, ...]
    steps_per_chord: int = 16
    primer: tuple[int, ...] = (60,)
    render_chords: bool = True
    notes_per_bar: float = 0.0

    @property
    def total_steps(self) -> int:
        return len(self.chords) * self.steps_per_chord


def _load(config: str) -> Any:
    from generation.families.improv.generator import ImprovGenerator

    return ImprovGenerator.load(config)


def _warm_up(generator: Any) -> None:
    from generation.engine.sampling import SearchSettings
    from generation.music.chords import parse_progression

    for chords in ("C G", "C G Am F"):  # two lengths: the traced loop then takes any length
        generator.generate(parse_progression(chords), 16, [60], 1, SearchSettings(), 0)


def _make(generator: Any, request: GenerationRequest) -> Made:
    from generation.music.chords import parse_chord
    from generation.music.midi import leadsheet_midi

    params: ImprovParams = request.params
    chords = [parse_chord(c) for c in params.chords]
    melodies = generator.generate(chords, params.steps_per_chord, params.primer, request.num_outputs,
                                  request.search(), request.seed, notes_per_bar=params.notes_per_bar or None)
    steps = [c for c in chords for _ in range(params.steps_per_chord)]
    midis = [leadsheet_midi(m, steps, request.qpm, params.render_chords) for m in melodies]
    return Made("melody", midis, 15.0 / request.qpm)


PLUGIN = FamilyPlugin(name="improv", configs=tuple(CONFIGS), params=ImprovParams,
                      warm_configs=("chord_pitches_improv",), generate_command="improv_rnn_generate",
                      train_command="improv_rnn_train",
                      commands=chat.COMMANDS, load=_load, warm_up=_warm_up, make=_make)
