"""GrooVAE configs (Magenta's `groovae_2bar_humanize` and `groovae_2bar_tap_fixed_velocity`) and our sizes. No TF.

A groove is Magenta's GrooveConverter shape: per 16th step and per each of the 9 drum classes a hit (0/1), a
velocity (0-1) and a timing offset (-0.5..0.5 of a step, early to late). Humanize (Magenta Studio's Groove)
reads a quantised pattern (hits only, on the grid) and plays the same hits with velocities and offsets;
tap_fixed_velocity (Studio's Drumify) reads a rhythm (every onset collapsed to one tap, on the grid) and plays
a whole drum groove on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from generation.engine.bundle import default_bundle_dir
from generation.errors import InputError
from generation.families.music_vae.config import NUM_DRUM_CLASSES, STEPS_PER_BAR, TRAIN_COMMAND

Mode = Literal["humanize", "tap"]
OUTPUT_SIZE = 3 * NUM_DRUM_CLASSES  # hits, velocities, offsets


@dataclass(frozen=True)
class GrooveConfig:
    """One GrooVAE configuration.

    Attributes:
        name: Magenta's config id.
        mode: "humanize" (the input is the performance's own hits, quantised) or "tap" (every onset as one tap).
        steps: 16th-note steps per window.
        z_size, encoder_sizes, decoder_sizes: the network's sizes (encoder: each way).
        beta: weight of the KL term past the free bits; free_bits: KL (bits) the posterior may spend for free.
        batch_size, learning_rate, clip_norm: training defaults.
    """

    name: str
    mode: Mode
    description: str
    steps: int = 2 * STEPS_PER_BAR
    z_size: int = 32
    encoder_sizes: tuple[int, ...] = (128,)
    decoder_sizes: tuple[int, ...] = (128, 128)
    beta: float = 0.2
    free_bits: float = 8.0
    batch_size: int = 64
    learning_rate: float = 0.002
    clip_norm: float = 1.0

    @property
    def control_size(self) -> int:
        """Width of the input row the decoder reads at each step: 9 hits, or 1 tap."""
        return NUM_DRUM_CLASSES if self.mode == "humanize" else 1

    @property
    def bars(self) -> int:
        return self.steps // STEPS_PER_BAR


# Magenta's groovae configs: z 256, encoder 512 each way, decoder 2 x 256, batch 512, beta 0.2, 48 free bits,
# dropout 0.3 keep. Ours are sized to train in ~25 minutes on 2 CPU cores (the card states what was run).
GROOVE_CONFIGS: dict[str, GrooveConfig] = {
    c.name: c
    for c in (
        GrooveConfig("groovae_2bar_humanize", "humanize",
                     "GrooVAE humanize (Magenta Studio's Groove): a quantised 2-bar drum pattern played with the "
                     "velocities and timing of a drummer, the same hits."),
        GrooveConfig("groovae_2bar_tap_fixed_velocity", "tap",
                     "GrooVAE drumify (Magenta Studio's Drumify): a 2-bar rhythm (any onsets, as taps) played as "
                     "a whole drum groove with velocities and timing."),
    )
}


def resolve_groove(config: str) -> GrooveConfig:
    """The GrooVAE config of an id.

    Raises:
        InputError: no such config.
    """
    if config not in GROOVE_CONFIGS:
        raise InputError(f"unknown GrooVAE config {config!r}; choose one of {', '.join(GROOVE_CONFIGS)}.")
    return GROOVE_CONFIGS[config]


def installed_groove_model(config: str) -> Path:
    """The folder of our trained model for `config` (no TensorFlow needed to ask).

    Raises:
        InputError: unknown config, or none installed; the message names the command that trains one.
    """
    name = resolve_groove(config).name
    folder = default_bundle_dir(name)
    if not (folder / "bundle.json").is_file():
        raise InputError(f"no trained {name} model is installed (expected {folder / 'bundle.json'}). Train one "
                         f"with {TRAIN_COMMAND} --config={name}, or pass --bundle_file with a model folder of ours.")
    return folder
