"""Read a user's Magenta Polyphony RNN `.mag` bundle (generator id "polyphony") into our Bundle."""

from __future__ import annotations

from pathlib import Path

from generation.engine.bundle import Bundle
from generation.engine.magenta_bundle import read_mag
from generation.errors import InputError
from generation.families.polyphony.encoding import NUM_CLASSES


def read_polyphony_mag(path: Path) -> Bundle:
    """The bundle's network, checked to be a plain stacked LSTM over Magenta's 259-class polyphony encoding.

    Raises:
        InputError: not a readable .mag, not a polyphony bundle, or a network of another shape.
    """
    bundle = read_mag(path, {"polyphony": "polyphony"})
    out = bundle.weights.get("fully_connected/weights")
    first = bundle.weights.get("rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel")
    if bundle.attn_length or out is None or first is None or out.shape[1] != NUM_CLASSES \
            or first.shape[0] != NUM_CLASSES + bundle.layer_sizes[0]:
        raise InputError(f"{path.name!r} is not a Polyphony RNN of Magenta's layout (a {NUM_CLASSES}-class "
                         "stacked LSTM).")
    return bundle
