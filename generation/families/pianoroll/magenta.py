"""Read a Magenta pianoroll_rnn_nade `.mag` bundle into our Bundle (its checkpoint already uses our names)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from generation.engine.bundle import Bundle
from generation.engine.magenta_bundle import _read_proto
from generation.errors import InputError
from generation.families.pianoroll.network import sizes_from_weights, weight_shapes

MAGENTA_STEPS_PER_QUARTER = 4  # Magenta's pianoroll configs quantise to 16th notes


def read_pianoroll_mag(path: Path) -> Bundle:
    """Load the checkpoint of Magenta's `rnn-nade` bundle.

    Raises:
        InputError: not a readable bundle, another family, or the attention variant (not read yet).
    """
    from generation.engine.tf_runtime import tf

    proto = _read_proto(path)
    config = proto.generator_details.id
    if config == "rnn-nade_attn":
        raise InputError(f"{path.name!r} is Magenta's rnn-nade_attn (attention) bundle, which Tunesmith does not "
                         "read yet; rnn-nade bundles and our own models work.")
    if config != "rnn-nade":
        raise InputError(f"{path.name!r} is a {config or 'unnamed'} bundle; this command runs rnn-nade bundles.")
    if len(proto.checkpoint_file) != 1:
        raise InputError(f"{path.name!r} holds {len(proto.checkpoint_file)} checkpoint files; expected 1.")
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "model.ckpt"
        ckpt.write_bytes(proto.checkpoint_file[0])
        reader = tf.train.load_checkpoint(str(ckpt))
        weights = {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}
    sizes: tuple[int, ...] = ()
    hidden = 0
    try:
        sizes, hidden = sizes_from_weights(weights)
        missing = set(weight_shapes(sizes, hidden)) - set(weights)
    except KeyError:
        missing = {"nade/w_enc"}
    if not sizes or missing:
        raise InputError(f"{path.name!r} lacks the RNN-NADE variables we read ({', '.join(sorted(missing))}).")
    return Bundle("pianoroll", config, sizes, 0, weights,
                  {"source": f"Magenta bundle {path.name}", "description": proto.bundle_details.description,
                   "nade_hidden": hidden, "steps_per_quarter": MAGENTA_STEPS_PER_QUARTER})
