"""A MusicVAE's variables: the bundle's arrays, checked against the network's shapes, or a first draw."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from generation.engine.tf_runtime import tf

MU, SIGMA = "encoder/mu/", "encoder/sigma/"  # drawn small, as Magenta's


def make_variables(shapes: Mapping[str, tuple[int, ...]], weights: Mapping[str, np.ndarray] | None, seed: int,
                   config_name: str) -> dict[str, tf.Variable]:
    """A VAE's variables: the bundle's arrays, checked against `shapes`, or a first draw (zero biases, mu and sigma
    kernels N(0, 0.001), other kernels Glorot-uniform) from `seed`.

    Raises:
        ValueError: a weight missing from the bundle or of another shape.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, tf.Variable] = {}
    for name, shape in shapes.items():
        if weights is not None:
            if name not in weights:
                raise ValueError(f"the bundle has no weight {name}: not a {config_name} network of these sizes")
            value = np.asarray(weights[name], np.float32)
            if value.shape != shape:
                raise ValueError(f"weight {name} has shape {value.shape}, expected {shape}")
        elif name.endswith("bias"):
            value = np.zeros(shape, np.float32)
        elif name in (MU + "kernel", SIGMA + "kernel"):
            value = rng.normal(0.0, 0.001, shape).astype(np.float32)
        else:
            limit = np.sqrt(6.0 / (shape[0] + shape[1]))
            value = rng.uniform(-limit, limit, shape).astype(np.float32)
        out[name] = tf.Variable(value, name=name.replace("/", "__"))
    return out
