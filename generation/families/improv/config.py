"""Improv RNN configs: how chords and melody are encoded, and the network's shape (cf. Magenta's default_configs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ChordEncoding = Literal["triad", "pitches"]
MAX_TOTAL_STEPS = 4096  # 256 bars of 4/4: the most a melody may last (the chat grammar refuses more up front)
MIN_NOTES_PER_BAR, MAX_NOTES_PER_BAR = 0.5, 16.0  # a density a user may ask for (16: a note on every 16th)


@dataclass(frozen=True)
class ImprovConfig:
    """One Improv RNN configuration.

    Attributes:
        name: the config id, as in Magenta (`basic_improv`, ...).
        chord_encoding: "triad" (root x major/minor/aug/dim one-hot, 49 wide) or "pitches" (no-chord bit,
            root one-hot, 12 pitch-class bits, bass one-hot: 37 wide).
        attn_length: steps of attention over past outputs on the first layer; 0 for none.
        min_note / max_note: the melody range [min_note, max_note) the model can play.
        layer_sizes: LSTM sizes used when training a new model.
    """

    name: str
    description: str
    chord_encoding: ChordEncoding
    attn_length: int = 0
    min_note: int = 48
    max_note: int = 84
    layer_sizes: tuple[int, ...] = (128, 128)

    @property
    def chord_input_size(self) -> int:
        return 49 if self.chord_encoding == "triad" else 37

    @property
    def num_classes(self) -> int:
        return self.max_note - self.min_note + 2  # + no-event, note-off

    @property
    def input_size(self) -> int:
        return self.chord_input_size + self.num_classes


CONFIGS: dict[str, ImprovConfig] = {
    c.name: c
    for c in (
        ImprovConfig(
            name="basic_improv",
            description="Melody over chords seen as triads (12 roots x major/minor/augmented/diminished).",
            chord_encoding="triad",
        ),
        ImprovConfig(
            name="attention_improv",
            description="basic_improv plus attention over the last 40 steps, for longer-range structure.",
            chord_encoding="triad",
            attn_length=40,
        ),
        ImprovConfig(
            name="chord_pitches_improv",
            description="Chords seen as root + all their pitch classes + bass: 7ths, tensions and slash "
            "chords reach the model.",
            chord_encoding="pitches",
        ),
    )
}
