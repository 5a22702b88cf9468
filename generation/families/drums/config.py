"""Drums RNN configs: the drum classes, the input layout and the network's shape (cf. Magenta's drum_kit)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generation.errors import InputError

NUM_DRUM_CLASSES = 9
STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16  # 4/4 in 16th notes
MAX_TOTAL_STEPS = 4096  # 256 bars: the longest track a call may ask for
# Groove styles with enough data to learn and to measure (why these: the docstring of groove.py).
STYLE_CONTROLS = ("rock", "latin", "jazz", "funk", "hiphop")


@dataclass(frozen=True)
class DrumsConfig:
    """One Drums RNN configuration.

    The input row for step t is, in the bundle's (Magenta's) order: the one-hot of event t (512), the binary
    counters of step t + 1 (each bit +1 or -1), then a one-hot of the requested style where the config has
    styles, then the tempo as one number where the config hears it (our additions; Magenta's drum_kit has
    neither).

    Attributes:
        name: the config id (`drum_kit` as in Magenta).
        description: one line for users.
        counter_bits: binary step counters (6 bits count 64 steps = 4 bars of 16ths).
        attn_length: steps of attention on the first layer; 0 for none.
        layer_sizes: LSTM sizes used when training a new model (Magenta's drum_kit: 3 x 256).
        styles: the styles a style-conditioned config is told, in input order; () for none.
        tempo: whether the network is told the tempo (a drummer plays fewer subdivisions when it is fast).
    """

    name: str
    description: str
    counter_bits: int = 6
    attn_length: int = 32
    layer_sizes: tuple[int, ...] = (256, 256, 256)
    styles: tuple[str, ...] = ()
    tempo: bool = False

    @property
    def num_classes(self) -> int:
        return 2**NUM_DRUM_CLASSES

    @property
    def control_size(self) -> int:
        """Columns that do not come from the previous event: counters, style and tempo."""
        return self.counter_bits + len(self.styles) + int(self.tempo)

    @property
    def input_size(self) -> int:
        return self.num_classes + self.control_size


CONFIGS: dict[str, DrumsConfig] = {
    c.name: c
    for c in (
        DrumsConfig(
            name="drum_kit",
            description="Magenta's Drums RNN: 9 drum classes struck together in any combination (512 "
            "events per 16th), binary step counters and attention over 32 steps.",
        ),
        DrumsConfig(
            name="drum_kit_style",
            description="drum_kit told the style to play (" + ", ".join(STYLE_CONTROLS) + ") and the tempo, "
            "learnt from the Groove MIDI Dataset.",
            styles=STYLE_CONTROLS,
            tempo=True,
        ),
    )
}


def installed_model(config: str) -> Path:
    """The folder of our trained model for `config` (no TensorFlow needed to ask).

    Raises:
        InputError: unknown config, or no trained model installed for it.
    """
    from generation.engine.bundle import default_bundle_dir

    if config not in CONFIGS:
        raise InputError(f"unknown Drums RNN config {config!r}; choose one of {', '.join(CONFIGS)}.")
    folder = default_bundle_dir(config)
    if not (folder / "bundle.json").is_file():
        raise InputError(f"no trained Drums RNN model is installed for {config} (nothing in {folder}); pass "
                         f"--bundle_file with a Magenta drum_kit .mag or a model folder of ours.")
    return folder
