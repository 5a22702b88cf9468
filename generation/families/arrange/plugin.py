"""The arrange family as a plug-in: /arrange, a melody played by a band in a style (chords and bass from the
lead-sheet harmoniser, drums from GrooVAE on its rhythm and the style's pulse)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generation.families.arrange import chat
from generation.families.plugin import FamilyPlugin, Made
from generation.request import GenerationRequest


@dataclass(frozen=True)
class ArrangeParams:
    """melody: melody events (one per 16th: -2 hold, -1 rest, 0-127 a note), kept note for note on top;
    num_steps: 16ths, the melody's included; style: a key of styles.STYLES; drums: whether the band has drums."""

    melody: tuple[int, ...]
    num_steps: int
    style: str = "pop"
    drums: bool = True

    @property
    def total_steps(self) -> int:
        return self.num_steps


def _load(config: str) -> Any:
    from generation.families.arrange.arranger import Arranger

    return Arranger.load()


def _warm_up(arranger: Any) -> None:
    arranger.arrange((67, -2, 64, -2), 16, "rock", True)


def _make(arranger: Any, request: GenerationRequest) -> Made:
    from generation.families.arrange.band import band_midi
    from generation.families.arrange.styles import STYLES

    params: ArrangeParams = request.params
    bands = arranger.arrange(params.melody, params.num_steps, params.style, params.drums,
                             num_outputs=request.num_outputs, temperature=request.temperature, seed=request.seed)
    midis = [band_midi(b, STYLES[params.style], request.qpm, params.num_steps) for b in bands]
    return Made("band", midis, 15.0 / request.qpm)


PLUGIN = FamilyPlugin(name="arrange", configs=(chat.CONFIG,), params=ArrangeParams, warm_configs=(),
                      generate_command="arrange_generate", train_command=chat.TRAIN_COMMAND, commands=chat.COMMANDS,
                      load=_load, warm_up=_warm_up, make=_make)
