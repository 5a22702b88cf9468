"""Pianoroll RNN-NADE as a plug-in: polyphonic piano-roll continuations (piano, or Bach chorales)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generation.families.pianoroll import chat
from generation.families.pianoroll.config import CONFIGS
from generation.families.plugin import FamilyPlugin, Made
from generation.request import GenerationRequest


@dataclass(frozen=True)
class PianorollParams:
    """num_steps: the model's steps (16ths for rnn-nade, quarters for rnn-nade-bach), primer included;
    primer_pianoroll: the pitches sounding at each of the first steps."""

    num_steps: int
    primer_pianoroll: tuple[tuple[int, ...], ...] = ()

    @property
    def total_steps(self) -> int:
        return self.num_steps


def _load(config: str) -> Any:
    from generation.families.pianoroll.generator import PianorollGenerator

    return PianorollGenerator.load(config)


def _warm_up(generator: Any) -> None:
    from generation.engine.sampling import SearchSettings

    generator.generate([frozenset({60, 64, 67})], 8, 1, SearchSettings(), 0)


def _make(generator: Any, request: GenerationRequest) -> Made:
    from generation.music.notes import frames_notes, notes_midi

    params: PianorollParams = request.params
    primer = [frozenset(step) for step in params.primer_pianoroll]
    pieces = generator.generate(primer, params.num_steps, request.num_outputs, request.search(), request.seed)
    spq = generator.steps_per_quarter
    midis = [notes_midi({"Piano": frames_notes(frames)}, spq, request.qpm, params.num_steps) for frames in pieces]
    return Made("pianoroll", midis, 60.0 / request.qpm / spq)


PLUGIN = FamilyPlugin(name="pianoroll", configs=tuple(CONFIGS), params=PianorollParams,
                      warm_configs=("rnn-nade", "rnn-nade-bach"), generate_command="pianoroll_rnn_nade_generate",
                      train_command="pianoroll_rnn_nade_train",
                      commands=chat.COMMANDS, load=_load, warm_up=_warm_up, make=_make)
