"""The event RNN shared by every Magenta-style family: stacked LSTMs, optional attention, a softmax layer.

The math and the variable names are Magenta's (TF BasicLSTMCell with gates i, j, f, o and +1.0 forget bias
added at run time; contrib AttentionCellWrapper on the first layer; `fully_connected` output), so weights
from a user's official `.mag` bundle drop in unchanged. Weights live in a flat dict keyed by those names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from generation.engine.tf_runtime import tf

FORGET_BIAS = 1.0
LSTM = "rnn/multi_rnn_cell/cell_{}/basic_lstm_cell/"
ATTN = "rnn/multi_rnn_cell/cell_0/attention_cell_wrapper/"
OUT = "fully_connected/"

State = tuple[tuple[tf.Tensor, ...], ...]


class OneHotFold(NamedTuple):
    """The first layer's weights for one-hot inputs (EventRnn.fold_one_hot): a kernel for the dense columns, the
    attention read (with attention) and h; a row per class; the bias."""

    kernel: tf.Tensor
    table: tf.Tensor
    bias: tf.Tensor


def weight_shapes(
    input_size: int, num_classes: int, layer_sizes: Sequence[int], attn_length: int
) -> dict[str, tuple[int, ...]]:
    """Every variable's Magenta name and shape for a network of this size."""
    shapes: dict[str, tuple[int, ...]] = {}
    size_in = input_size
    for k, units in enumerate(layer_sizes):
        prefix = LSTM.format(k)
        if k == 0 and attn_length:
            prefix = ATTN + "basic_lstm_cell/"
            shapes[ATTN + "kernel"] = (input_size + units, input_size)
            shapes[ATTN + "bias"] = (input_size,)
            shapes[ATTN + "attention/attn_w"] = (1, 1, units, units)
            shapes[ATTN + "attention/attn_v"] = (units,)
            shapes[ATTN + "attention/kernel"] = (2 * units, units)
            shapes[ATTN + "attention/bias"] = (units,)
            shapes[ATTN + "attn_output_projection/kernel"] = (2 * units, units)
            shapes[ATTN + "attn_output_projection/bias"] = (units,)
        shapes[prefix + "kernel"] = (size_in + units, 4 * units)
        shapes[prefix + "bias"] = (4 * units,)
        size_in = units
    shapes[OUT + "weights"] = (size_in, num_classes)
    shapes[OUT + "biases"] = (num_classes,)
    return shapes


class EventRnn(tf.Module):
    """Stacked LSTM (+ attention) -> logits, in Magenta's layout.

    Args:
        input_size: width of one input vector.
        num_classes: number of output classes.
        layer_sizes: LSTM units per layer.
        attn_length: attention window on the first layer (0 = none).
        weights: Magenta-named arrays to start from; None draws Glorot-uniform kernels and zero biases.
        seed: for the initial draw.
    """

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        layer_sizes: Sequence[int],
        attn_length: int = 0,
        weights: Mapping[str, np.ndarray] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(name="event_rnn")
        self.input_size = input_size
        self.num_classes = num_classes
        self.layer_sizes = tuple(int(u) for u in layer_sizes)
        self.attn_length = attn_length
        rng = np.random.default_rng(seed)
        self.vars: dict[str, tf.Variable] = {}
        for name, shape in weight_shapes(input_size, num_classes, self.layer_sizes, attn_length).items():
            if weights is not None:
                value = np.asarray(weights[name], np.float32)
                if value.shape != shape:
                    raise ValueError(f"weight {name} has shape {value.shape}, expected {shape}")
            elif name.endswith(("bias", "biases")):
                value = np.zeros(shape, np.float32)
            else:
                fan_in, fan_out = int(np.prod(shape[:-1])), shape[-1]
                limit = np.sqrt(6.0 / (fan_in + fan_out))
                value = rng.uniform(-limit, limit, shape).astype(np.float32)
            self.vars[name] = tf.Variable(value, name=name.replace("/", "__"))

    def numpy_weights(self) -> dict[str, np.ndarray]:
        return {name: v.numpy() for name, v in self.vars.items()}

    # --- one step (generation) -------------------------------------------------------------------------
    def zero_state(self, batch: int | tf.Tensor) -> State:
        state: list[tuple[tf.Tensor, ...]] = []
        for k, units in enumerate(self.layer_sizes):
            zeros = tf.zeros([batch, units])
            if k == 0 and self.attn_length:
                window = tf.zeros([batch, self.attn_length, units])
                # (c, h, attns, past outputs, their projections): Magenta's state plus a cache, see below.
                state.append((zeros, zeros, zeros, window, window))
            else:
                state.append((zeros, zeros))
        return tuple(state)

    def step(self, x: tf.Tensor, state: State) -> tuple[tf.Tensor, State]:
        """One time step for a batch: x [B, input_size] -> logits [B, num_classes], new state."""
        if self.attn_length:
            x, first = self._attention_step(x, state[0])
        else:
            c, h = _lstm(x, state[0][0], state[0][1], self.vars[LSTM.format(0) + "kernel"],
                         self.vars[LSTM.format(0) + "bias"])
            x, first = h, (c, h)
        return self._upper_layers(x, state, first)

    def fold_one_hot(self, dense: int) -> OneHotFold:
        """The first layer's weights for inputs [dense columns, one-hot of a class], from the weights as they are now.

        A one-hot row times a kernel is the kernel's row of that class: a gather instead of a matmul over
        `input_size - dense` mostly-zero columns. With attention, the wrapper's input projection feeds only the
        first LSTM, so it is folded into that LSTM's kernel as well (products in float64, then rounded once):
        the first layer becomes one matmul of [dense, attns, h] plus a table row. Same function; the float32
        rounding differs in the last bits (drum_kit's logits by up to ~1e-5; see OneHotStepper's `fold`).
        """
        v = {name: var.numpy().astype(np.float64) for name, var in self.vars.items()}
        hot = slice(dense, self.input_size)
        if self.attn_length:
            proj = v[ATTN + "kernel"]
            lstm = v[ATTN + "basic_lstm_cell/kernel"]
            into = lstm[: self.input_size]
            kernel = np.vstack([proj[:dense] @ into, proj[self.input_size:] @ into, lstm[self.input_size:]])
            table, bias = proj[hot] @ into, v[ATTN + "bias"] @ into + v[ATTN + "basic_lstm_cell/bias"]
        else:
            lstm = v[LSTM.format(0) + "kernel"]
            kernel, table = np.vstack([lstm[:dense], lstm[self.input_size:]]), lstm[hot]
            bias = v[LSTM.format(0) + "bias"]
        return OneHotFold(*(tf.constant(a.astype(np.float32)) for a in (kernel, table, bias)))

    def step_one_hot(self, fold: OneHotFold, dense: tf.Tensor, classes: tf.Tensor, state: State
                     ) -> tuple[tf.Tensor, State]:
        """`step` of x = [dense [B, D], one-hot of classes [B]] through `fold` (made by `fold_one_hot(D)`)."""
        if self.attn_length:
            c, h, attns = state[0][:3]
            c, h = _cell(tf.matmul(tf.concat([dense, attns, h], 1), fold.kernel) + tf.gather(fold.table, classes)
                         + fold.bias, c)
            x, first = self._attend(c, h, state[0])
        else:
            c, h = state[0]
            c, h = _cell(tf.matmul(tf.concat([dense, h], 1), fold.kernel) + tf.gather(fold.table, classes)
                         + fold.bias, c)
            x, first = h, (c, h)
        return self._upper_layers(x, state, first)

    def _upper_layers(self, x: tf.Tensor, state: State, first: tuple[tf.Tensor, ...]) -> tuple[tf.Tensor, State]:
        """Layers 1.. and the logits, from the first layer's output x and new state."""
        new_state = [first]
        for k in range(1, len(self.layer_sizes)):
            c, h = _lstm(x, state[k][0], state[k][1], self.vars[LSTM.format(k) + "kernel"],
                         self.vars[LSTM.format(k) + "bias"])
            x = h
            new_state.append((c, h))
        return self._logits(x), tuple(new_state)

    def _attention_step(self, x: tf.Tensor, state: tuple[tf.Tensor, ...]) -> tuple[tf.Tensor, tuple]:
        # tf.contrib.rnn.AttentionCellWrapper(state_is_tuple=True), attn_size = attn_vec_size = units.
        v = self.vars
        c, h, attns = state[:3]
        x = tf.matmul(tf.concat([x, attns], 1), v[ATTN + "kernel"]) + v[ATTN + "bias"]
        c, h = _lstm(x, c, h, v[ATTN + "basic_lstm_cell/kernel"], v[ATTN + "basic_lstm_cell/bias"])
        return self._attend(c, h, state)

    def _attend(self, c: tf.Tensor, h: tf.Tensor, state: tuple[tf.Tensor, ...]) -> tuple[tf.Tensor, tuple]:
        """The attention read after the wrapped LSTM made (c, h): the layer's output and new state.

        Magenta projects all `attn_length` past outputs through attn_w at every step; the projection of a
        past output never changes, so we carry the projected window too (same numbers, ~4x less work).
        """
        v = self.vars
        attn_states, hidden = state[3:]
        attn_w = v[ATTN + "attention/attn_w"][0, 0]
        query = tf.matmul(tf.concat([c, h], 1), v[ATTN + "attention/kernel"]) + v[ATTN + "attention/bias"]
        scores = tf.reduce_sum(v[ATTN + "attention/attn_v"] * tf.tanh(hidden + query[:, None, :]), axis=2)
        weights = tf.nn.softmax(scores)
        new_attns = tf.reduce_sum(weights[:, :, None] * attn_states, axis=1)
        out = (tf.matmul(tf.concat([h, new_attns], 1), v[ATTN + "attn_output_projection/kernel"])
               + v[ATTN + "attn_output_projection/bias"])
        attn_states = tf.concat([attn_states[:, 1:], out[:, None, :]], axis=1)
        hidden = tf.concat([hidden[:, 1:], tf.matmul(out, attn_w)[:, None, :]], axis=1)
        return out, (c, h, new_attns, attn_states, hidden)

    def _logits(self, h: tf.Tensor) -> tf.Tensor:
        return tf.matmul(h, self.vars[OUT + "weights"]) + self.vars[OUT + "biases"]

    # --- whole sequences (training, scoring) -----------------------------------------------------------
    def sequence_logits(self, inputs: tf.Tensor, dropout: float = 0.0) -> tf.Tensor:
        """Teacher-forced logits for inputs [B, T, input_size] from the zero state -> [B, T, num_classes].

        Layer by layer, so each layer's input projection is one large matmul over all steps and only the
        recurrent part runs in the loop (about 2x faster to train on a CPU than stepping the whole stack).
        `dropout` (training only) drops each layer's outputs, Magenta's DropoutWrapper(output_keep_prob).
        """
        batch = tf.shape(inputs)[0]
        x = tf.transpose(inputs, [1, 0, 2])  # time major
        for k, units in enumerate(self.layer_sizes):
            if k == 0 and self.attn_length:
                x = self._scan_attention(x, batch)
                x = tf.nn.dropout(x, rate=dropout) if dropout > 0 else x
                continue
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
            x = tf.nn.dropout(x, rate=dropout) if dropout > 0 else x
        return tf.transpose(self._logits_3d(x), [1, 0, 2])

    def _scan_attention(self, x: tf.Tensor, batch: tf.Tensor) -> tf.Tensor:
        def cell(carry: tuple, xt: tf.Tensor) -> tuple:
            out, new_state = self._attention_step(xt, carry[1])
            return out, new_state

        state0 = self.zero_state(batch)[0]
        outs, _ = tf.scan(cell, x, initializer=(tf.zeros([batch, self.layer_sizes[0]]), state0))
        return outs

    def _logits_3d(self, h: tf.Tensor) -> tf.Tensor:
        return tf.einsum("tbu,uc->tbc", h, self.vars[OUT + "weights"]) + self.vars[OUT + "biases"]


def _lstm(x: tf.Tensor, c: tf.Tensor, h: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tuple:
    return _cell(tf.matmul(tf.concat([x, h], 1), kernel) + bias, c)


def _cell(z: tf.Tensor, c: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """BasicLSTMCell from the pre-activations z [B, 4 units] (gates i, j, f, o) and the cell state c."""
    i, j, f, o = tf.split(z, 4, axis=1)
    c = c * tf.sigmoid(f + FORGET_BIAS) + tf.sigmoid(i) * tf.tanh(j)
    return c, tf.tanh(c) * tf.sigmoid(o)


def attention_from_plain(plain: Mapping[str, np.ndarray], model: EventRnn) -> None:
    """Start an attention model from a trained plain one of the same sizes, computing exactly what it did.

    The attention wrapper's input projection passes the input through (identity, attention part zero) and its
    output projection passes the LSTM output through, so the new model starts as the plain model; training
    then learns to use the attention. The attention's own weights keep their fresh initial values.
    """
    units = model.layer_sizes[0]
    size_in = model.input_size
    assign = {
        ATTN + "kernel": np.vstack([np.eye(size_in), np.zeros((units, size_in))]),
        ATTN + "bias": np.zeros(size_in),
        ATTN + "basic_lstm_cell/kernel": plain[LSTM.format(0) + "kernel"],
        ATTN + "basic_lstm_cell/bias": plain[LSTM.format(0) + "bias"],
        ATTN + "attn_output_projection/kernel": np.vstack([np.eye(units), np.zeros((units, units))]),
        ATTN + "attn_output_projection/bias": np.zeros(units),
    }
    for name in model.vars:
        if not name.startswith(ATTN) and name in plain:
            assign[name] = plain[name]
    for name, value in assign.items():
        model.vars[name].assign(np.asarray(value, np.float32))
