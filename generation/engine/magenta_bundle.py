"""Read a user's official Magenta `.mag` generator bundle into our `Bundle` (no Magenta code needed).

A `.mag` is a serialised note-seq `GeneratorBundle`: an id (the config), a TF V1 checkpoint and a metagraph.
The network's shape comes from the variable shapes; the names are the ones our EventRnn uses.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generation.engine.bundle import Bundle
from generation.errors import InputError

FAMILY_OF = {"basic_improv": "improv", "chord_pitches_improv": "improv", "attention_improv": "improv",
             "basic_rnn": "melody", "mono_rnn": "melody", "lookback_rnn": "melody", "attention_rnn": "melody",
             "drum_kit": "drums"}
# Encodings we do not read yet: the network would load, but its inputs would mean something else.
NOT_YET = {
    "attention_improv": "Magenta's attention_improv feeds the melody through its KeyMelody encoding "
    "(lookback and key features), which Tunesmith does not read yet; our own attention_improv model "
    "(no --bundle_file) works",
}
_CELL = re.compile(r"rnn/multi_rnn_cell/cell_(\d+)/(?:attention_cell_wrapper/)?basic_lstm_cell/bias$")


def _read_proto(path: Path) -> Any:
    from note_seq.protobuf import generator_pb2

    try:
        return generator_pb2.GeneratorBundle.FromString(path.read_bytes())
    except Exception as e:  # protobuf raises DecodeError, file access OSError
        raise InputError(f"{path.name!r} is not a Magenta generator bundle (.mag) we can read.") from e


def read_mag_id(path: Path) -> str:
    """The bundle's config id (generator_details.id).

    Raises:
        InputError: not a bundle, or one naming no config (an empty file parses as an empty message).
    """
    config = str(_read_proto(path).generator_details.id)
    if not config:
        raise InputError(f"{path.name!r} is not a Magenta generator bundle: it names no model config"
                         + (" (the file is empty)." if path.stat().st_size == 0 else "."))
    return config


def read_mag(path: Path, families: Mapping[str, str] = FAMILY_OF) -> Bundle:
    """Load the checkpoint of a Magenta bundle.

    Args:
        path: the .mag file.
        families: the configs the calling command runs, each with its family (default: the Improv RNN's).

    Raises:
        InputError: not a readable bundle, or one whose config we cannot run yet.
    """
    from generation.engine.tf_runtime import tf

    proto = _read_proto(path)
    config = proto.generator_details.id
    if config not in families:
        raise InputError(f"{path.name!r} is a {config or 'unnamed'} bundle; this command runs "
                         f"{', '.join(families)}.")
    if config in NOT_YET:
        raise InputError(f"{path.name!r}: {NOT_YET[config]}.")
    if len(proto.checkpoint_file) != 1:
        raise InputError(f"{path.name!r} holds {len(proto.checkpoint_file)} checkpoint files; expected 1.")
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "model.ckpt"
        ckpt.write_bytes(proto.checkpoint_file[0])
        reader = tf.train.load_checkpoint(str(ckpt))
        weights = {_modern_name(n): reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}
    sizes = {int(m.group(1)): weights[name].shape[0] // 4 for name in weights if (m := _CELL.match(name))}
    if not sizes:
        raise InputError(f"{path.name!r} has no LSTM variables in the layout we read.")
    attn = 40 if any("attention_cell_wrapper" in n for n in weights) else 0
    return Bundle(families[config], config, tuple(sizes[k] for k in sorted(sizes)), attn, weights,
                  {"source": f"Magenta bundle {path.name}", "description": proto.bundle_details.description})


def _modern_name(name: str) -> str:
    """TF < 1.1 checkpoints call LSTM kernels `weights` and biases `biases`."""
    if "basic_lstm_cell/" in name:
        name = name.replace("basic_lstm_cell/weights", "basic_lstm_cell/kernel")
        name = name.replace("basic_lstm_cell/biases", "basic_lstm_cell/bias")
    return name
