"""Pianoroll RNN-NADE configs: Magenta's `rnn-nade` (piano, 16th notes) and our `rnn-nade-bach` (JSB, quarters)."""

from __future__ import annotations

from dataclasses import dataclass

MIN_PITCH = 21  # A0, the lowest piano key
NUM_KEYS = 88  # A0..C8: MIDI 21-108
MAX_PITCH = MIN_PITCH + NUM_KEYS - 1


@dataclass(frozen=True)
class PianorollConfig:
    """One RNN-NADE config.

    Attributes:
        name: config id (the `--config` value and the models/ folder name).
        description: one line for help texts and the model card.
        steps_per_quarter: frames per quarter note; one step is a 16th note at 4, a quarter note at 1.
        layer_sizes: LSTM units per layer.
        nade_hidden: hidden units of the NADE that draws each frame.
        step_name: what one step is, in words, for help texts.
        voice_leading: sample with voice leading by default (draw several frames per step and keep one without
            parallel 5ths/octaves; sampler.py); False is Magenta's plain sampling.
    """

    name: str
    description: str
    steps_per_quarter: int
    layer_sizes: tuple[int, ...]
    nade_hidden: int
    step_name: str
    voice_leading: bool = False


CONFIGS: dict[str, PianorollConfig] = {
    "rnn-nade": PianorollConfig(
        "rnn-nade", "RNN-NADE piano model (POP909 piano arrangements), one step per 16th note",
        steps_per_quarter=4, layer_sizes=(256, 256), nade_hidden=128, step_name="a 16th note"),
    "rnn-nade-bach": PianorollConfig(
        "rnn-nade-bach", "RNN-NADE Bach chorale model (JSB chorales), one step per quarter note",
        steps_per_quarter=1, layer_sizes=(256, 256), nade_hidden=128, step_name="a quarter note",
        voice_leading=True),
}
