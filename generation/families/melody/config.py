"""Melody RNN configs: Magenta's four, with their encodings, pitch ranges, keys and training hyperparameters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from generation.engine.bundle import default_bundle_dir
from generation.errors import InputError

Encoding = Literal["onehot", "lookback", "key"]
STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16  # 4/4: the lookback distances and bar flags assume it, as Magenta's do
LOOKBACK_DISTANCES = (STEPS_PER_BAR, 2 * STEPS_PER_BAR)
MAX_TOTAL_STEPS = 4096  # 256 bars of 4/4: the most a melody may last


@dataclass(frozen=True)
class MelodyConfig:
    """One Melody RNN configuration (Magenta's `melody_rnn_model.default_configs`).

    Attributes:
        name: the config id, as in Magenta.
        encoding: "onehot" (the previous event), "lookback" (plus the events 1 and 2 bars back, repeat flags
            and 5 binary step counters; two "repeat" output classes) or "key" (Magenta's KeyMelody encoding:
            current pitch, attack, direction, repeat flags, 7 counters, bar start, key estimates; same classes
            as lookback in another order).
        min_note / max_note: the pitch range [min_note, max_note) the model plays.
        transpose_to_key: melodies are moved to this major key (0 = C) before the model sees them and moved
            back after; None leaves them where they are.
        attn_length: steps of attention over past outputs on the first layer; 0 for none.
        layer_sizes, batch_size, dropout_keep_prob, clip_norm, learning_rate: Magenta's training defaults.
    """

    name: str
    description: str
    encoding: Encoding
    min_note: int = 48
    max_note: int = 84
    transpose_to_key: int | None = 0
    attn_length: int = 0
    layer_sizes: tuple[int, ...] = (128, 128)
    batch_size: int = 128
    dropout_keep_prob: float = 0.5
    clip_norm: float = 5.0
    learning_rate: float = 0.001

    @property
    def note_range(self) -> int:
        return self.max_note - self.min_note

    @property
    def one_hot_size(self) -> int:
        """Width of one event in the one-hot encoding: no event, note off, each pitch."""
        return self.note_range + 2

    @property
    def num_classes(self) -> int:
        return self.one_hot_size + (0 if self.encoding == "onehot" else len(LOOKBACK_DISTANCES))

    @property
    def input_size(self) -> int:
        lookbacks = len(LOOKBACK_DISTANCES)
        if self.encoding == "onehot":
            return self.one_hot_size
        if self.encoding == "lookback":
            return self.one_hot_size * (1 + lookbacks) + 5 + lookbacks
        # pitch, note/silence, attack, direction, repeats, 7 counters, bar start, two 12-key estimates
        return self.note_range + 2 + 1 + 1 + lookbacks + 7 + 1 + 12 + 12


CONFIGS: dict[str, MelodyConfig] = {
    c.name: c
    for c in (
        MelodyConfig("basic_rnn", "Melody RNN with one-hot encoding (MIDI 48-83, moved to C major).", "onehot"),
        MelodyConfig("mono_rnn", "Monophonic RNN with one-hot encoding over all 128 MIDI pitches, not transposed.",
                     "onehot", min_note=0, max_note=128, transpose_to_key=None),
        MelodyConfig("lookback_rnn", "Melody RNN with lookback encoding: sees the events 1 and 2 bars back and "
                     "can repeat them, so its melodies repeat phrases.", "lookback"),
        MelodyConfig("attention_rnn", "Melody RNN with lookback (KeyMelody) encoding and attention over the last "
                     "40 steps, for longer-range structure.", "key", attn_length=40, clip_norm=3.0),
    )
}


def installed_model(config: str) -> Path:
    """The folder of our trained model for `config` (no TensorFlow needed to ask).

    Raises:
        InputError: none is installed; the message says how to get one.
    """
    folder = default_bundle_dir(config)
    if not (folder / "bundle.json").is_file():
        raise InputError(
            f"no trained {config} model is installed (expected {folder / 'bundle.json'}). Train one with "
            f"melody_rnn_train --config={config}, or pass --bundle_file with a model folder of ours or a Magenta "
            f"bundle such as {config}.mag from Magenta's pretrained Melody RNN models.")
    return folder
