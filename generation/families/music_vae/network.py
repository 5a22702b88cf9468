"""The MusicVAE network: a bidirectional LSTM encoder to q(z | x), and an LSTM decoder of x from z.

As Magenta's `BidirectionalLstmEncoder` + `CategoricalLstmDecoder` (music_vae/lstm_models.py, base_model.py):
the encoder's last forward and backward outputs, concatenated, give mu (dense) and sigma (dense, softplus) of a
diagonal Gaussian; the decoder's LSTM state starts as a dense tanh of z, and each step's input is the previous
output's row (zeros before the first step) with z beside it; a dense layer gives the logits. LSTM math is the
event RNN's (gates i, j, f, o; forget bias +1.0 at run time) and variables carry Magenta's scope names.

The decoder is its own class with two entries, `logits` (teacher-forced) and `sample` (one draw per step, the
whole loop in the graph), both taking z: the hierarchical decoder of the 16-bar configs (hierdec.py: a conductor
LSTM giving one embedding per bar to a core decoder of this class) stands in its place without touching the
encoder, the loss or the generator; the trio's (trio_network.py: one core decoder per part) gives a tuple of
logits, one per part, whose NLLs the loss sums.
Inputs are class indices [B, T] (a trio's [B, T, 3]); a class's input row comes from a fixed table (one-hot or
drum roll), so the first layer's input projection is a row gather of table @ kernel instead of a matmul over one-hot
rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from generation.engine.rnn import FORGET_BIAS
from generation.engine.tf_runtime import tf
from generation.families.music_vae.config import STEPS_PER_BAR, MusicVaeConfig
from generation.families.music_vae.encoding import input_table
from generation.families.music_vae.variables import MU, SIGMA, make_variables

if TYPE_CHECKING:
    from generation.families.music_vae.hierdec import HierarchicalDecoder
    from generation.families.music_vae.trio_network import TrioDecoder

ENC = "encoder/cell_{}/bidirectional_rnn/{}/multi_rnn_cell/cell_0/lstm_cell/"
ENC_BARS = "encoder/bar_level/cell_{}/bidirectional_rnn/{}/multi_rnn_cell/cell_0/lstm_cell/"  # HierarchicalEncoder's
DEC = "decoder/multi_rnn_cell/cell_{}/lstm_cell/"
Z_STATE = "decoder/z_to_initial_state/"
OUT = "decoder/output_projection/"
SIGMA_FLOOR = 1e-6  # keeps log(sigma) finite when the softplus underflows
REFINE_RATE = 0.3  # Adam's step for MusicVae.refine: 25 steps fit z as well as 100 steps of 0.05 on cat-mel_2bar
State = list[tuple[tf.Tensor, tf.Tensor]]


def weight_shapes(config: MusicVaeConfig) -> dict[str, tuple[int, ...]]:
    """Every variable's name and shape for a network of the config's sizes."""
    shapes: dict[str, tuple[int, ...]] = {}
    size_in = config.input_size
    for k, units in enumerate(config.encoder_sizes):
        for way in ("fw", "bw"):
            shapes[ENC.format(k, way) + "kernel"] = (size_in + units, 4 * units)
            shapes[ENC.format(k, way) + "bias"] = (4 * units,)
        size_in = 2 * units
    for k, units in enumerate(config.bar_encoder_sizes):
        for way in ("fw", "bw"):
            shapes[ENC_BARS.format(k, way) + "kernel"] = (size_in + units, 4 * units)
            shapes[ENC_BARS.format(k, way) + "bias"] = (4 * units,)
        size_in = 2 * units
    for name in (MU, SIGMA):
        shapes[name + "kernel"] = (size_in, config.z_size)
        shapes[name + "bias"] = (config.z_size,)
    if config.kind == "trio":
        from generation.families.music_vae import trio_network

        return {**shapes, **trio_network.decoder_shapes(config)}
    if config.hierarchical:
        from generation.families.music_vae.hierdec import decoder_shapes

        return {**shapes, **decoder_shapes(config)}
    return {**shapes, **categorical_shapes("", config.input_size, config.z_size, config.decoder_sizes,
                                           config.num_classes)}


def categorical_shapes(scope: str, input_size: int, cond_size: int, sizes: Sequence[int],
                       num_classes: int) -> dict[str, tuple[int, ...]]:
    """The variables of a CategoricalDecoder under `scope`, conditioned on a vector of `cond_size`."""
    shapes: dict[str, tuple[int, ...]] = {}
    size_in = input_size + cond_size
    for k, units in enumerate(sizes):
        shapes[scope + DEC.format(k) + "kernel"] = (size_in + units, 4 * units)
        shapes[scope + DEC.format(k) + "bias"] = (4 * units,)
        size_in = units
    shapes[scope + Z_STATE + "kernel"] = (cond_size, 2 * sum(sizes))
    shapes[scope + Z_STATE + "bias"] = (2 * sum(sizes),)
    shapes[scope + OUT + "kernel"] = (size_in, num_classes)
    shapes[scope + OUT + "bias"] = (num_classes,)
    return shapes


def _scan_lstm(projected: tf.Tensor, recurrent: tf.Tensor, c: tf.Tensor, h: tf.Tensor) -> tf.Tensor:
    """Outputs [T, B, U] of an LSTM whose input projections (+ bias) are `projected` [T, B, 4U]."""

    def cell(carry: tuple[tf.Tensor, tf.Tensor], x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        c, h = carry
        c, h = _cell(x + tf.matmul(h, recurrent), c)
        return c, h

    _, hs = tf.scan(cell, projected, initializer=(c, h))
    return hs


def _cell(gates: tf.Tensor, c: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    i, j, f, o = tf.split(gates, 4, axis=1)
    c = c * tf.sigmoid(f + FORGET_BIAS) + tf.sigmoid(i) * tf.tanh(j)
    return c, tf.tanh(c) * tf.sigmoid(o)


class BidirectionalEncoder:
    """Stacked bidirectional LSTM over the classes [B, T] -> (mu, sigma) [B, z_size]."""

    def __init__(self, v: Mapping[str, tf.Variable], table: tf.Tensor, sizes: Sequence[int]) -> None:
        self.v, self.table, self.sizes = v, table, tuple(sizes)

    def projected_inputs(self, classes: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        """The first layer's input projection [T, B, 4U] (no bias) of classes [B, T]: a row of table @ kernel per
        class."""
        return tf.gather(tf.matmul(self.table, kernel), tf.transpose(classes))

    def __call__(self, classes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return latent(self.v, self.final(classes))

    def final(self, classes: tf.Tensor) -> tf.Tensor:
        """The last layer's final forward and backward outputs [B, 2U] over classes [B, T]."""
        return bidirectional(self.v, ENC, self.sizes, lambda kernel: self.projected_inputs(classes, kernel),
                             tf.shape(classes)[0])


class HierarchicalEncoder:
    """Magenta's HierarchicalLstmEncoder with level lengths [bars, 16]: `bar_encoder` (a stacked bidirectional LSTM)
    reads each bar on its own, all bars of the batch at once; a second stacked bidirectional LSTM reads the bars'
    final outputs in order; its final outputs give (mu, sigma). No layer runs more than 16 steps in a row, and a
    2-bar model's encoder reads a bar as it read its windows (warm_start.py)."""

    def __init__(self, bar_encoder: BidirectionalEncoder, sizes: Sequence[int], bars: int) -> None:
        self.bar_encoder, self.v, self.sizes, self.bars = bar_encoder, bar_encoder.v, tuple(sizes), bars

    def __call__(self, classes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        batch = tf.shape(classes)[0]
        # [B, T(, parts)] -> [B * bars, 16(, parts)], window-major
        rows = tf.reshape(classes, tf.concat([[-1, STEPS_PER_BAR], tf.shape(classes)[2:]], axis=0))
        per_bar = self.bar_encoder.final(rows)
        x = tf.transpose(tf.reshape(per_bar, [batch, self.bars, int(per_bar.shape[1])]), [1, 0, 2])  # [bars, B, 2U]
        return latent(self.v, bidirectional(self.v, ENC_BARS, self.sizes,
                                            lambda kernel: tf.einsum("tbi,ig->tbg", x, kernel), batch))


def bidirectional(v: Mapping[str, tf.Variable], names: str, sizes: Sequence[int],
                  first_inputs: Callable[[tf.Tensor], tf.Tensor], batch: tf.Tensor) -> tf.Tensor:
    """Final forward and backward outputs [B, 2U] of a stacked bidirectional LSTM (variables `names`.format(layer,
    way)) whose first layer's input projection by a kernel (no bias) is first_inputs(kernel) [T, B, 4U]."""
    x: tf.Tensor | None = None
    last: list[tf.Tensor] = []
    for k, units in enumerate(sizes):
        outs = []
        for way in ("fw", "bw"):
            kernel, bias = v[names.format(k, way) + "kernel"], v[names.format(k, way) + "bias"]
            size_in = kernel.shape[0] - units
            if x is None:
                projected = first_inputs(kernel[:size_in]) + bias
            else:
                projected = tf.einsum("tbi,ig->tbg", x, kernel[:size_in]) + bias
            if way == "bw":
                projected = tf.reverse(projected, [0])
            zeros = tf.zeros([batch, units])
            hs = _scan_lstm(projected, kernel[size_in:], zeros, zeros)
            last.append(hs[-1])
            outs.append(hs if way == "fw" else tf.reverse(hs, [0]))
        x = tf.concat(outs, axis=2)
        last = last[-2:]
    return tf.concat(last, axis=1)


def latent(v: Mapping[str, tf.Variable], final: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(mu, sigma) [B, z_size] of the encoder's final outputs."""
    mu = tf.matmul(final, v[MU + "kernel"]) + v[MU + "bias"]
    sigma = tf.nn.softplus(tf.matmul(final, v[SIGMA + "kernel"]) + v[SIGMA + "bias"]) + SIGMA_FLOOR
    return mu, sigma


def previous_inputs(targets: tf.Tensor, start: int, keep: tf.Tensor | None = None) -> tf.Tensor:
    """Each step's teacher-forced input class [B, T]: the target before it (the first step: the start row).

    `keep` [B, T] (bool), in training only: where False the input is the start row instead (word dropout,
    Bowman et al. 2016), so the decoder cannot lean on the previous note alone and must read z.
    """
    previous = tf.concat([tf.fill([tf.shape(targets)[0], 1], start), targets[:, :-1]], axis=1)
    return previous if keep is None else tf.where(keep, previous, start)


class CategoricalDecoder:
    """LSTM decoder of one categorical class per step, conditioned on z (initial state and every input).

    `scope` prefixes its variables' names (the core decoder of a hierarchical one lives under "core_decoder/").
    """

    def __init__(self, v: Mapping[str, tf.Variable], table: tf.Tensor, sizes: Sequence[int], steps: int,
                 scope: str = "") -> None:
        self.v, self.table, self.sizes, self.steps = v, table, tuple(sizes), steps
        self.start = int(table.shape[0]) - 1  # the zero row: the input before the first step
        self.dec, self.z_state, self.out = scope + DEC, scope + Z_STATE, scope + OUT

    def initial_state(self, z: tf.Tensor) -> State:
        flat = tf.tanh(tf.matmul(z, self.v[self.z_state + "kernel"]) + self.v[self.z_state + "bias"])
        parts = tf.split(flat, [u for units in self.sizes for u in (units, units)], axis=1)
        return [(parts[2 * k], parts[2 * k + 1]) for k in range(len(self.sizes))]  # (c, h) per layer

    def _first_layer(self, z: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """(table @ input kernel [classes + 1, 4U], z's projection + bias [B, 4U], recurrent kernel)."""
        kernel = self.v[self.dec.format(0) + "kernel"]
        rows, z_size = int(self.table.shape[1]), int(z.shape[1])
        return (tf.matmul(self.table, kernel[:rows]),
                tf.matmul(z, kernel[rows:rows + z_size]) + self.v[self.dec.format(0) + "bias"],
                kernel[rows + z_size:])

    def logits(self, z: tf.Tensor, targets: tf.Tensor, keep: tf.Tensor | None = None) -> tf.Tensor:
        """Teacher-forced logits [B, T, classes]: step t sees target t - 1 (see `previous_inputs` for `keep`)."""
        return self.logits_after(z, previous_inputs(targets, self.start, keep))

    def logits_after(self, z: tf.Tensor, previous: tf.Tensor) -> tf.Tensor:
        """Teacher-forced logits [B, T, classes] with step t's input the class previous[:, t] (start: the zeros)."""
        table_proj, z_proj, recurrent = self._first_layer(z)
        x = tf.gather(table_proj, tf.transpose(previous)) + z_proj  # [T, B, 4U]
        state = self.initial_state(z)
        for k, units in enumerate(self.sizes):
            if k:
                kernel = self.v[self.dec.format(k) + "kernel"]
                x = tf.einsum("tbi,ig->tbg", x, kernel[:-units]) + self.v[self.dec.format(k) + "bias"]
                recurrent = kernel[-units:]
            x = _scan_lstm(x, recurrent, *state[k])
        logits = tf.einsum("tbu,uc->tbc", x, self.v[self.out + "kernel"]) + self.v[self.out + "bias"]
        return tf.transpose(logits, [1, 0, 2])

    def sample(self, z: tf.Tensor, noise: tf.Tensor, inv_temperature: tf.Tensor) -> tf.Tensor:
        """Classes [B, T], each step argmax(logits * inv_temperature + noise[:, t]) fed back as the next input.

        With Gumbel noise that is a draw from softmax(logits / temperature); with zeros it is the argmax.
        """
        start = tf.fill([tf.shape(z)[0]], self.start)
        drawn, _ = self.draw(z, tf.transpose(noise, [1, 0, 2]), inv_temperature, start)
        return tf.transpose(drawn)

    def draw(self, z: tf.Tensor, noise: tf.Tensor, inv_temperature: tf.Tensor, start: tf.Tensor,
             with_logits: bool = False) -> tuple[tf.Tensor, tf.Tensor | None]:
        """The sampling loop from the state of z with `start` [B] the first input's class: the classes drawn
        [T, B] for time-major noise [T, B, classes], and with `with_logits` each step's logits [T, B, classes]."""
        table_proj, z_proj, recurrent0 = self._first_layer(z)
        later = [(self.v[self.dec.format(k) + "kernel"], self.v[self.dec.format(k) + "bias"])
                 for k in range(1, len(self.sizes))]

        def step(carry: tuple, noise_t: tf.Tensor) -> tuple:
            previous, state = carry[0], carry[1]
            c, h = _cell(tf.gather(table_proj, previous) + z_proj + tf.matmul(state[0][1], recurrent0), state[0][0])
            new_state = [(c, h)]
            for k, (kernel, bias) in enumerate(later, 1):
                c, h = _cell(tf.matmul(tf.concat([h, state[k][1]], 1), kernel) + bias, state[k][0])
                new_state.append((c, h))
            logits = tf.matmul(h, self.v[self.out + "kernel"]) + self.v[self.out + "bias"]
            drawn = tf.argmax(logits * inv_temperature + noise_t, axis=1, output_type=tf.int32)
            return (drawn, new_state, logits) if with_logits else (drawn, new_state)

        initial: tuple = (start, self.initial_state(z))
        if with_logits:
            initial += (tf.zeros([tf.shape(z)[0], int(self.table.shape[0]) - 1]),)
        out = tf.scan(step, noise, initializer=initial)
        return out[0], (out[2] if with_logits else None)


class MusicVae(tf.Module):
    """Encoder, latent head and decoder, with their variables by name.

    Args:
        config: the sizes (z_size, encoder_sizes, decoder_sizes) and encoding.
        weights: named arrays to start from; None draws Glorot-uniform kernels (mu and sigma: N(0, 0.001), as
            Magenta's) and zero biases.
        seed: for the initial draw.
    """

    def __init__(self, config: MusicVaeConfig, weights: Mapping[str, np.ndarray] | None = None,
                 seed: int = 0) -> None:
        super().__init__(name="music_vae")
        self.config = config
        self.vars = make_variables(weight_shapes(config), weights, seed, config.name)
        self.encoder: BidirectionalEncoder | HierarchicalEncoder
        self.decoder: CategoricalDecoder | HierarchicalDecoder | TrioDecoder
        if config.kind == "trio":
            from generation.families.music_vae.trio_network import TrioDecoder, TrioEncoder, part_tables

            tables = [tf.constant(t) for t in part_tables(config)]
            self.encoder = TrioEncoder(self.vars, tables, config.encoder_sizes)
            self.decoder = TrioDecoder(self.vars, tables, config)
        elif config.hierarchical:
            from generation.families.music_vae.hierdec import HierarchicalDecoder

            table = tf.constant(input_table(config))
            self.encoder = BidirectionalEncoder(self.vars, table, config.encoder_sizes)
            self.decoder = HierarchicalDecoder(self.vars, table, config)
        else:
            table = tf.constant(input_table(config))
            self.encoder = BidirectionalEncoder(self.vars, table, config.encoder_sizes)
            self.decoder = CategoricalDecoder(self.vars, table, config.decoder_sizes, config.steps)
        if config.bar_encoder_sizes:  # the encoder above reads each bar; a bar-level one reads the bars
            self.encoder = HierarchicalEncoder(self.encoder, config.bar_encoder_sizes, config.bars)
        self.free_nats = config.free_bits * float(np.log(2.0))
        # Classes [B, T], or a trio's [B, T, 3] (melody, bass, drums)
        classes = tf.TensorSpec([None, config.steps, *([len(config.part_classes)] if config.kind == "trio" else [])],
                                tf.int32)
        self.posterior = tf.function(self.encoder.__call__, input_signature=[classes])
        self.evaluate = tf.function(self._evaluate, input_signature=[classes])
        latent_spec = tf.TensorSpec([None, config.z_size], tf.float32)
        # XLA: a step of the scans and their gradients costs ~23 ms compiled, ~100 ms as graph ops
        self._refine_step = tf.function(  # type: ignore[method-assign]
            self._refine_step, jit_compile=True,
            input_signature=[classes, latent_spec, latent_spec, latent_spec, tf.TensorSpec([], tf.float32)])
        self.decode = tf.function(self.decoder.sample, input_signature=[
            tf.TensorSpec([None, config.z_size], tf.float32),
            tf.TensorSpec([None, config.steps, config.num_classes], tf.float32), tf.TensorSpec([], tf.float32)])

    def numpy_weights(self) -> dict[str, np.ndarray]:
        return {name: v.numpy() for name, v in self.vars.items()}

    def kl(self, mu: tf.Tensor, sigma: tf.Tensor) -> tf.Tensor:
        """KL(q(z | x) || N(0, I)) in nats, [B]."""
        return tf.reduce_sum(0.5 * (tf.square(mu) + tf.square(sigma) - 1.0) - tf.math.log(sigma), axis=1)

    def objective(self, recon: tf.Tensor, kl: tf.Tensor) -> tf.Tensor:
        """Per-step loss: (reconstruction NLL + beta * max(KL - free nats, 0)) / steps, averaged over the batch."""
        cost = recon + self.config.beta * tf.maximum(kl - self.free_nats, 0.0)
        return tf.reduce_mean(cost) / self.config.steps

    def loss(self, classes: tf.Tensor, eps: tf.Tensor, keep: tf.Tensor | None = None) -> tf.Tensor:
        """The training loss of a batch: classes [B, T], eps [B, z_size] ~ N(0, I) (z = mu + sigma * eps), and
        with word dropout which teacher-forced inputs are kept [B, T] (network.previous_inputs)."""
        mu, sigma = self.encoder(classes)
        logits = self.decoder.logits(mu + sigma * eps, classes, keep)
        if isinstance(logits, tuple):  # a trio: the parts' NLLs summed
            from generation.families.music_vae.trio_network import reconstruction

            return self.objective(reconstruction(logits, classes)[0], self.kl(mu, sigma))
        recon = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=classes, logits=logits), 1)
        return self.objective(recon, self.kl(mu, sigma))

    def reconstruction_nll(self, z: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
        """Teacher-forced NLL [B] (nats) of the classes given z (a trio's: its parts' summed)."""
        logits = self.decoder.logits(z, classes)
        if isinstance(logits, tuple):
            from generation.families.music_vae.trio_network import reconstruction

            return reconstruction(logits, classes)[0]
        return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=classes, logits=logits), 1)

    def refine(self, classes: tf.Tensor, z: tf.Tensor, steps: int) -> tf.Tensor:
        """z [B, z_size] after `steps` Adam steps (rate REFINE_RATE) down each row's reconstruction NLL of its
        classes: the encoder's mean is a fast guess (a 2-bar model's argmax decoding of it gets 64% of held-out
        steps right), and the decoder reproduces more of the track from a z fitted to it (79% after 100 steps).
        Rows are independent: Adam's steps are per coordinate."""
        m, v = tf.zeros_like(z), tf.zeros_like(z)
        for t in range(1, steps + 1):
            z, m, v = self._refine_step(classes, z, m, v, tf.constant(float(t)))
        return z

    def _refine_step(self, classes: tf.Tensor, z: tf.Tensor, m: tf.Tensor, v: tf.Tensor, t: tf.Tensor
                     ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(z)
            nll = tf.reduce_sum(self.reconstruction_nll(z, classes))
        g = tape.gradient(nll, z)
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * tf.square(g)
        step = (m / (1.0 - 0.9**t)) / (tf.sqrt(v / (1.0 - 0.999**t)) + 1e-8)
        return z - REFINE_RATE * step, m, v

    def _evaluate(self, classes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """With z the posterior mean: reconstruction NLL [B] (nats), KL [B], teacher-forced correct steps [B] (a
        trio's: [B, 3], each part's)."""
        mu, sigma = self.encoder(classes)
        logits = self.decoder.logits(mu, classes)
        if isinstance(logits, tuple):
            from generation.families.music_vae.trio_network import reconstruction

            recon, correct = reconstruction(logits, classes)
            return recon, self.kl(mu, sigma), correct
        recon = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=classes, logits=logits), 1)
        correct = tf.reduce_sum(tf.cast(tf.argmax(logits, axis=2, output_type=tf.int32) == classes, tf.float32), 1)
        return recon, self.kl(mu, sigma), correct
