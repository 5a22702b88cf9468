"""TensorFlow for the model layer, imported once: without the pandas and scikit-learn Keras would pull in, and
with thread pools sized for single-row inference.

Every module of ours that uses TensorFlow imports it as `from generation.engine.tf_runtime import tf`, so this
runs before the first `import tensorflow` and before the first TensorFlow op of the process.
"""

from __future__ import annotations

import os
import sys
from typing import Any

# Inference runs one small step at a time (a batch of 1-5 rows, 128-256 units): splitting such a matmul over
# threads costs more than it saves. Measured on this 2-core machine (benchmarks/*_speed.py, default -> 1/1):
# performance 258 -> 92 us per event (1 output), improv 8 bars x 5 outputs 15.0 -> 9.8 ms, polyphony 1 output
# 192 -> 90 ms, pianoroll 5 outputs 474 -> 319 ms. Several worker processes then share the cores instead.
INFERENCE_THREADS = (1, 1)  # (inter-op, intra-op)
# TensorFlow's own variables; where an operator sets either, TensorFlow's reading of them wins over ours.
THREAD_ENV = ("TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS")
# Keras 3, which `import tensorflow` loads eagerly, imports these (0.9 s with scipy behind scikit-learn) only to
# accept DataFrames, offer scikit-learn wrappers and show notebook widgets; we use none of that, and Keras treats a
# failed import as "not installed". One already imported (a notebook's IPython) stays as it is.
_NOT_FOR_KERAS = ("pandas", "sklearn", "IPython")


def _import_tensorflow() -> Any:
    hidden = [name for name in _NOT_FOR_KERAS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import tensorflow
    finally:
        for name in hidden:  # later imports of them (note-seq's, a notebook's) work as usual
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return tensorflow


tf = _import_tensorflow()


def set_thread_pools(inter_op: int, intra_op: int) -> bool:
    """Size TensorFlow's thread pools (0 = its default, one thread per core).

    Returns False, changing nothing, once TensorFlow has run an op: its pools are fixed from then on.
    """
    try:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    except RuntimeError:
        return False
    return True


def _operator_chose() -> bool:
    return any(os.environ.get(name) for name in THREAD_ENV)


def use_training_threads() -> bool:
    """TensorFlow's default pools (every core) for training's large batches; call before the first op."""
    return not _operator_chose() and set_thread_pools(0, 0)


if not _operator_chose():
    set_thread_pools(*INFERENCE_THREADS)
