"""The RNN-NADE network in Magenta's layout: stacked LSTMs over piano-roll frames whose output biases a NADE.

Variable names are Magenta's (`decoder/multi_rnn_cell/cell_K/basic_lstm_cell/{kernel,bias}`, `decoder/dense/
{kernel,bias}` giving [b_enc, b_dec], `nade/w_enc` [88, 1, H], `nade/w_dec_t` [88, H, 1]) so a Magenta
checkpoint's arrays drop in. The NADE draws a frame's 88 keys from the lowest (A0) to the highest (C8), each
conditioned on the keys below it in the same frame; the LSTM has seen every earlier frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from generation.engine.rnn import FORGET_BIAS, _lstm
from generation.engine.tf_runtime import tf
from generation.families.pianoroll.config import NUM_KEYS

LSTM = "decoder/multi_rnn_cell/cell_{}/basic_lstm_cell/"
DENSE = "decoder/dense/"
W_ENC = "nade/w_enc"
W_DEC = "nade/w_dec_t"

RnnState = tuple[tuple[tf.Tensor, tf.Tensor], ...]
_STRICTLY_BELOW = tf.constant(np.tril(np.ones((NUM_KEYS, NUM_KEYS), np.float32), -1))


def weight_shapes(layer_sizes: Sequence[int], nade_hidden: int) -> dict[str, tuple[int, ...]]:
    """Every variable's Magenta name and shape for a network of this size."""
    shapes: dict[str, tuple[int, ...]] = {}
    size_in = NUM_KEYS
    for k, units in enumerate(layer_sizes):
        shapes[LSTM.format(k) + "kernel"] = (size_in + units, 4 * units)
        shapes[LSTM.format(k) + "bias"] = (4 * units,)
        size_in = units
    shapes[DENSE + "kernel"] = (size_in, nade_hidden + NUM_KEYS)
    shapes[DENSE + "bias"] = (nade_hidden + NUM_KEYS,)
    shapes[W_ENC] = (NUM_KEYS, 1, nade_hidden)
    shapes[W_DEC] = (NUM_KEYS, nade_hidden, 1)
    return shapes


def sizes_from_weights(weights: Mapping[str, np.ndarray]) -> tuple[tuple[int, ...], int]:
    """(layer_sizes, nade_hidden) read off the arrays' shapes, as for a Magenta checkpoint without hparams."""
    sizes: list[int] = []
    while LSTM.format(len(sizes)) + "bias" in weights:
        sizes.append(int(weights[LSTM.format(len(sizes)) + "bias"].shape[0]) // 4)
    return tuple(sizes), int(weights[W_ENC].shape[2])


class RnnNade(tf.Module):
    """Stacked LSTM over frames -> NADE biases -> 88 Bernoulli conditionals per frame.

    Args:
        layer_sizes: LSTM units per layer.
        nade_hidden: NADE hidden units (H).
        weights: Magenta-named arrays to start from; None draws fresh ones (Glorot kernels, zero biases,
            NADE weights from a normal of std 1/sqrt(88) as Magenta does).
        seed: for the fresh draw.
    """

    def __init__(self, layer_sizes: Sequence[int], nade_hidden: int,
                 weights: Mapping[str, np.ndarray] | None = None, seed: int = 0) -> None:
        super().__init__(name="rnn_nade")
        self.layer_sizes = tuple(int(u) for u in layer_sizes)
        self.nade_hidden = int(nade_hidden)
        rng = np.random.default_rng(seed)
        self.vars: dict[str, tf.Variable] = {}
        for name, shape in weight_shapes(self.layer_sizes, self.nade_hidden).items():
            if weights is not None:
                value = np.asarray(weights[name], np.float32)
                if value.shape != shape:
                    raise ValueError(f"weight {name} has shape {value.shape}, expected {shape}")
            elif name.endswith("bias"):
                value = np.zeros(shape, np.float32)
            elif name.startswith("nade/"):
                value = np.clip(rng.normal(0, 1 / np.sqrt(NUM_KEYS), shape), -2 / np.sqrt(NUM_KEYS),
                                2 / np.sqrt(NUM_KEYS)).astype(np.float32)
            else:
                limit = np.sqrt(6.0 / (shape[0] + shape[1]))
                value = rng.uniform(-limit, limit, shape).astype(np.float32)
            self.vars[name] = tf.Variable(value, name=name.replace("/", "__"))

    def numpy_weights(self) -> dict[str, np.ndarray]:
        return {name: v.numpy() for name, v in self.vars.items()}

    # --- the RNN -----------------------------------------------------------------------------------------
    def zero_state(self, batch: int | tf.Tensor) -> RnnState:
        return tuple((tf.zeros([batch, u]), tf.zeros([batch, u])) for u in self.layer_sizes)

    def rnn_step(self, frame: tf.Tensor, state: RnnState) -> tuple[tf.Tensor, tf.Tensor, RnnState]:
        """Consume one frame [B, 88]: the NADE biases for the next frame (b_enc [B, H], b_dec [B, 88]) + state."""
        x, new_state = frame, []
        for k in range(len(self.layer_sizes)):
            c, h = _lstm(x, state[k][0], state[k][1], self.vars[LSTM.format(k) + "kernel"],
                         self.vars[LSTM.format(k) + "bias"])
            x = h
            new_state.append((c, h))
        b_enc, b_dec = self.nade_biases(x)
        return b_enc, b_dec, tuple(new_state)

    def nade_biases(self, h: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        out = tf.matmul(h, self.vars[DENSE + "kernel"]) + self.vars[DENSE + "bias"]
        return out[:, : self.nade_hidden], out[:, self.nade_hidden:]

    def sequence_biases(self, frames: tf.Tensor, dropout: float = 0.0) -> tuple[tf.Tensor, tf.Tensor]:
        """Teacher forcing: NADE biases for every frame of frames [B, T, 88] -> ([B, T, H], [B, T, 88]).

        Frame t is predicted from frames < t; the first from the state after a zero frame (Magenta's
        `RnnNade.log_prob`). Layer by layer: each layer's input projection is one matmul over all steps.
        `dropout` (training only) drops LSTM outputs, Magenta's DropoutWrapper(output_keep_prob).
        """
        batch = tf.shape(frames)[0]
        inputs = tf.pad(frames[:, :-1], [[0, 0], [1, 0], [0, 0]])
        x = tf.transpose(inputs, [1, 0, 2])  # time major
        for k, units in enumerate(self.layer_sizes):
            kernel = self.vars[LSTM.format(k) + "kernel"]
            size_in = kernel.shape[0] - units
            projected = tf.einsum("tbi,ig->tbg", x, kernel[:size_in]) + self.vars[LSTM.format(k) + "bias"]
            recurrent = kernel[size_in:]

            def cell(carry: tuple[tf.Tensor, tf.Tensor], z: tf.Tensor, recurrent: Any = recurrent) -> tuple:
                c, h = carry
                i, j, f, o = tf.split(z + tf.matmul(h, recurrent), 4, axis=1)
                c = c * tf.sigmoid(f + FORGET_BIAS) + tf.sigmoid(i) * tf.tanh(j)
                return c, tf.tanh(c) * tf.sigmoid(o)

            zeros = tf.zeros([batch, units])
            _, x = tf.scan(cell, projected, initializer=(zeros, zeros))
            if dropout > 0:
                x = tf.nn.dropout(x, rate=dropout)
        out = tf.einsum("tbu,uo->bto", x, self.vars[DENSE + "kernel"]) + self.vars[DENSE + "bias"]
        return out[..., : self.nade_hidden], out[..., self.nade_hidden:]

    @tf.function(input_signature=[tf.TensorSpec([None, None, NUM_KEYS], tf.float32)])
    def sequence_log_probs(self, frames: tf.Tensor) -> tf.Tensor:
        """log p(frame t | frames < t) for frames [B, T, 88] from the zero state -> [B, T]."""
        b_enc, b_dec = self.sequence_biases(frames)
        return self.frame_log_prob(frames, b_enc, b_dec)

    # --- the NADE ----------------------------------------------------------------------------------------
    def nade_logits(self, x: tf.Tensor, b_enc: tf.Tensor, b_dec: tf.Tensor) -> tf.Tensor:
        """Logit of each key being on given the keys below it: x, b_dec [..., 88], b_enc [..., H] -> [..., 88].

        Vectorised over keys: the hidden pre-activation before key i is b_enc + sum_{j<i} x_j w_enc[j], one
        masked matmul for all keys (4x faster to train on a CPU than a cumulative sum or a loop over keys).
        """
        keys, hidden = NUM_KEYS, self.nade_hidden
        below = tf.reshape(x, [-1, 1, keys]) * _STRICTLY_BELOW  # [N, 88, 88]: row i keeps the keys j < i
        a = tf.reshape(b_enc, [-1, 1, hidden]) + tf.reshape(
            tf.matmul(tf.reshape(below, [-1, keys]), self.vars[W_ENC][:, 0, :]), [-1, keys, hidden])
        logits = tf.reduce_sum(tf.sigmoid(a) * self.vars[W_DEC][:, :, 0], axis=-1)
        return b_dec + tf.reshape(logits, tf.shape(b_dec))

    def frame_log_prob(self, x: tf.Tensor, b_enc: tf.Tensor, b_dec: tf.Tensor) -> tf.Tensor:
        """Exact log p(frame) = sum over the 88 keys of log Bernoulli(x_i | keys below, earlier frames)."""
        logits = self.nade_logits(x, b_enc, b_dec)
        return -tf.reduce_sum(x * tf.nn.softplus(-logits) + (1 - x) * tf.nn.softplus(logits), axis=-1)

    def nade_sample(self, b_enc: tf.Tensor, b_dec: tf.Tensor, uniform: tf.Tensor, temperature: tf.Tensor
                    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Draw one frame per row, key by key from the lowest.

        Args:
            b_enc, b_dec: NADE biases [B, H], [B, 88].
            uniform: [B, 88] draws in [0, 1); key i is on when uniform < sigmoid(logit_i / temperature).
            temperature: divides each key's logit (Magenta's meaning).

        Returns:
            The frames [B, 88] (0/1 floats) and their log-probability under the model itself (temperature 1,
            as Magenta's beam search ranks them).
        """
        w_enc = self.vars[W_ENC][:, 0, :]
        w_dec = self.vars[W_DEC][:, :, 0]

        def key(i: tf.Tensor, a: tf.Tensor, logp: tf.Tensor, keys: tf.TensorArray) -> tuple:
            logit = b_dec[:, i] + tf.reduce_sum(tf.sigmoid(a) * w_dec[i], axis=1)
            v = tf.cast(uniform[:, i] < tf.sigmoid(logit / temperature), tf.float32)
            logp -= v * tf.nn.softplus(-logit) + (1 - v) * tf.nn.softplus(logit)
            return i + 1, a + v[:, None] * w_enc[i], logp, keys.write(i, v)

        # A symbolic loop over the keys (not unrolled): the compiled frame loop traces in ~2 s instead of ~20.
        # Written as tf.while_loop: the shared driver traces steps without AutoGraph.
        _, _, logp, keys = tf.while_loop(lambda i, *_: i < NUM_KEYS, key, (
            tf.constant(0), b_enc, tf.zeros(tf.shape(b_enc)[:1]), tf.TensorArray(tf.float32, size=NUM_KEYS)))
        return tf.transpose(keys.stack()), logp
