"""The GrooVAE network: a bidirectional LSTM encoder of the groove to q(z | groove), and an LSTM decoder that plays
a groove from z and the user's input row at each step (the quantised hits, or the taps).

Magenta's GrooveLstmDecoder outputs, per step and drum class, a hit logit, a velocity (sigmoid) and an offset
(tanh, here halved to -0.5..0.5 of a step); its loss is the hits' sigmoid cross-entropy plus the squared errors
of velocity and offset (humanize plays the input's hits, so its loss has no hits term). Beside Magenta's: the
decoder reads the input row of each step (Magenta's encoder reads it and the decoder sees only z), so it cannot
lose or move the user's hits and z is left to carry the feel; the encoder reads the groove as played (a
conditional VAE), so a z drawn from the prior is a drummer's feel. The squared errors count on the cells the
drummer struck (a silent cell has no velocity), and the offset's in half steps so timing weighs as much as
velocity. LSTM math and variable names are those of network.py.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from generation.engine.tf_runtime import tf
from generation.families.music_vae.config import NUM_DRUM_CLASSES
from generation.families.music_vae.groove_config import OUTPUT_SIZE, GrooveConfig
from generation.families.music_vae.network import (
    DEC,
    ENC,
    MU,
    OUT,
    SIGMA,
    SIGMA_FLOOR,
    Z_STATE,
    _cell,
    _scan_lstm,
)
from generation.families.music_vae.variables import make_variables

N = NUM_DRUM_CLASSES


def weight_shapes(config: GrooveConfig) -> dict[str, tuple[int, ...]]:
    """Every variable's name and shape for a network of the config's sizes."""
    shapes: dict[str, tuple[int, ...]] = {}
    size_in = OUTPUT_SIZE
    for k, units in enumerate(config.encoder_sizes):
        for way in ("fw", "bw"):
            shapes[ENC.format(k, way) + "kernel"] = (size_in + units, 4 * units)
            shapes[ENC.format(k, way) + "bias"] = (4 * units,)
        size_in = 2 * units
    for name in (MU, SIGMA):
        shapes[name + "kernel"] = (size_in, config.z_size)
        shapes[name + "bias"] = (config.z_size,)
    size_in = OUTPUT_SIZE + config.control_size + config.z_size  # [previous output, this step's input, z]
    for k, units in enumerate(config.decoder_sizes):
        shapes[DEC.format(k) + "kernel"] = (size_in + units, 4 * units)
        shapes[DEC.format(k) + "bias"] = (4 * units,)
        size_in = units
    shapes[Z_STATE + "kernel"] = (config.z_size, 2 * sum(config.decoder_sizes))
    shapes[Z_STATE + "bias"] = (2 * sum(config.decoder_sizes),)
    shapes[OUT + "kernel"] = (size_in, OUTPUT_SIZE)
    shapes[OUT + "bias"] = (OUTPUT_SIZE,)
    return shapes


def split_outputs(out: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The output layer's 27 values -> (hit logits, velocities 0-1, offsets -0.5..0.5)."""
    return out[..., :N], tf.sigmoid(out[..., N:2 * N]), 0.5 * tf.tanh(out[..., 2 * N:])


class GrooVae(tf.Module):
    """Encoder, latent head and decoder, with their variables by name.

    Args:
        config: sizes and mode (humanize: the decoder's hits are the input's own when it plays).
        weights: named arrays to start from; None draws Glorot-uniform kernels (mu and sigma: N(0, 0.001)).
        seed: for the initial draw.
    """

    def __init__(self, config: GrooveConfig, weights: Mapping[str, np.ndarray] | None = None, seed: int = 0) -> None:
        super().__init__(name="groovae")
        self.config = config
        self.vars = make_variables(weight_shapes(config), weights, seed, config.name)
        self.free_nats = config.free_bits * float(np.log(2.0))
        grooves = tf.TensorSpec([None, config.steps, OUTPUT_SIZE], tf.float32)
        controls = tf.TensorSpec([None, config.steps, config.control_size], tf.float32)
        self.posterior = tf.function(self.encode, input_signature=[grooves])
        self.evaluate = tf.function(self._evaluate, input_signature=[controls, grooves])
        self.decode = tf.function(self._decode, input_signature=[
            tf.TensorSpec([None, config.z_size], tf.float32), controls,
            tf.TensorSpec([None, config.steps, N], tf.float32), tf.TensorSpec([], tf.float32)])

    def numpy_weights(self) -> dict[str, np.ndarray]:
        return {name: v.numpy() for name, v in self.vars.items()}

    # --- encoder ------------------------------------------------------------------------------------------------
    def encode(self, groove: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Grooves [B, T, 27] -> (mu, sigma) [B, z_size] from the last layer's final outputs both ways."""
        x = tf.transpose(groove, [1, 0, 2])  # [T, B, D]
        batch = tf.shape(groove)[0]
        last: list[tf.Tensor] = []
        for k, units in enumerate(self.config.encoder_sizes):
            outs = []
            for way in ("fw", "bw"):
                kernel, bias = self.vars[ENC.format(k, way) + "kernel"], self.vars[ENC.format(k, way) + "bias"]
                projected = tf.einsum("tbi,ig->tbg", x, kernel[:-units]) + bias
                if way == "bw":
                    projected = tf.reverse(projected, [0])
                zeros = tf.zeros([batch, units])
                hs = _scan_lstm(projected, kernel[-units:], zeros, zeros)
                last.append(hs[-1])
                outs.append(hs if way == "fw" else tf.reverse(hs, [0]))
            x = tf.concat(outs, axis=2)
        final = tf.concat(last[-2:], axis=1)
        mu = tf.matmul(final, self.vars[MU + "kernel"]) + self.vars[MU + "bias"]
        sigma = tf.nn.softplus(tf.matmul(final, self.vars[SIGMA + "kernel"]) + self.vars[SIGMA + "bias"]) + SIGMA_FLOOR
        return mu, sigma

    # --- decoder ------------------------------------------------------------------------------------------------
    def _initial_state(self, z: tf.Tensor) -> list[tuple[tf.Tensor, tf.Tensor]]:
        flat = tf.tanh(tf.matmul(z, self.vars[Z_STATE + "kernel"]) + self.vars[Z_STATE + "bias"])
        sizes = self.config.decoder_sizes
        parts = tf.split(flat, [u for units in sizes for u in (units, units)], axis=1)
        return [(parts[2 * k], parts[2 * k + 1]) for k in range(len(sizes))]

    def _z_projection(self, z: tf.Tensor) -> tf.Tensor:
        kernel = self.vars[DEC.format(0) + "kernel"]
        rows = OUTPUT_SIZE + self.config.control_size
        return tf.matmul(z, kernel[rows:rows + self.config.z_size]) + self.vars[DEC.format(0) + "bias"]

    def outputs(self, z: tf.Tensor, controls: tf.Tensor, groove: tf.Tensor) -> tf.Tensor:
        """Teacher-forced outputs [B, T, 27] (before split_outputs): step t reads groove row t - 1 and control t."""
        batch = tf.shape(groove)[0]
        previous = tf.concat([tf.zeros([batch, 1, OUTPUT_SIZE]), groove[:, :-1]], axis=1)
        rows = OUTPUT_SIZE + self.config.control_size
        kernel0 = self.vars[DEC.format(0) + "kernel"]
        x = tf.einsum("bti,ig->tbg", tf.concat([previous, controls], axis=2), kernel0[:rows]) + self._z_projection(z)
        recurrent = kernel0[rows + self.config.z_size:]
        state = self._initial_state(z)
        for k, units in enumerate(self.config.decoder_sizes):
            if k:
                kernel = self.vars[DEC.format(k) + "kernel"]
                x = tf.einsum("tbi,ig->tbg", x, kernel[:-units]) + self.vars[DEC.format(k) + "bias"]
                recurrent = kernel[-units:]
            x = _scan_lstm(x, recurrent, *state[k])
        out = tf.einsum("tbu,uc->tbc", x, self.vars[OUT + "kernel"]) + self.vars[OUT + "bias"]
        return tf.transpose(out, [1, 0, 2])

    def _decode(self, z: tf.Tensor, controls: tf.Tensor, noise: tf.Tensor, inv_temperature: tf.Tensor) -> tf.Tensor:
        """Grooves [B, T, 27] played step by step, each step's row fed back. Humanize: the hits are the input's.
        Drumify: on a tap, a class is struck where logit * inv_temperature + noise > 0 (logistic noise: a draw at
        that temperature; zeros: the likelier of hit and silence), and the likeliest class if none is."""
        rows = OUTPUT_SIZE + self.config.control_size
        kernel0 = self.vars[DEC.format(0) + "kernel"]
        inputs0, recurrent0 = kernel0[:rows], kernel0[rows + self.config.z_size:]
        later = [(self.vars[DEC.format(k) + "kernel"], self.vars[DEC.format(k) + "bias"])
                 for k in range(1, len(self.config.decoder_sizes))]
        z_proj = self._z_projection(z)
        humanize = self.config.mode == "humanize"

        def step(carry: tuple, xs: tuple[tf.Tensor, tf.Tensor]) -> tuple:
            previous, state = carry
            control_t, noise_t = xs
            gates = tf.matmul(tf.concat([previous, control_t], 1), inputs0) + z_proj
            c, h = _cell(gates + tf.matmul(state[0][1], recurrent0), state[0][0])
            new_state = [(c, h)]
            for k, (kernel, bias) in enumerate(later, 1):
                c, h = _cell(tf.matmul(tf.concat([h, state[k][1]], 1), kernel) + bias, state[k][0])
                new_state.append((c, h))
            logits, velocity, offset = split_outputs(tf.matmul(h, self.vars[OUT + "kernel"]) + self.vars[OUT + "bias"])
            hits = control_t if humanize else self._tap_hits(logits, control_t, noise_t, inv_temperature)
            return tf.concat([hits, velocity * hits, offset * hits], 1), new_state

        batch = tf.shape(z)[0]
        start = (tf.zeros([batch, OUTPUT_SIZE]), self._initial_state(z))
        played, _ = tf.scan(step, (tf.transpose(controls, [1, 0, 2]), tf.transpose(noise, [1, 0, 2])),
                            initializer=start)
        return tf.transpose(played, [1, 0, 2])

    @staticmethod
    def _tap_hits(logits: tf.Tensor, taps: tf.Tensor, noise: tf.Tensor, inv_temperature: tf.Tensor) -> tf.Tensor:
        """Drumify's hits [B, 9]: drawn where there is a tap, at least the likeliest class there, none elsewhere
        (as in every training window: the taps are the hits' steps)."""
        drawn = tf.cast(logits * inv_temperature + noise > 0, tf.float32)
        likeliest = tf.one_hot(tf.argmax(logits, axis=1), N)
        none = tf.cast(tf.reduce_max(drawn, axis=1, keepdims=True) == 0, tf.float32)
        return taps * tf.maximum(drawn, none * likeliest)

    # --- loss ---------------------------------------------------------------------------------------------------
    def kl(self, mu: tf.Tensor, sigma: tf.Tensor) -> tf.Tensor:
        """KL(q(z | groove) || N(0, I)) in nats, [B]."""
        return tf.reduce_sum(0.5 * (tf.square(mu) + tf.square(sigma) - 1.0) - tf.math.log(sigma), axis=1)

    def reconstruction(self, out: tf.Tensor, groove: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Per window [B]: the hits' cross-entropy (nats), velocity and offset (in half steps) squared errors
        summed over the struck cells."""
        logits, velocity, offset = split_outputs(out)
        hits = groove[..., :N]
        ce = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=hits, logits=logits), [1, 2])
        velocity_se = tf.reduce_sum(hits * tf.square(velocity - groove[..., N:2 * N]), [1, 2])
        offset_se = tf.reduce_sum(hits * tf.square(2.0 * (offset - groove[..., 2 * N:])), [1, 2])
        return ce, velocity_se, offset_se

    def objective(self, recon: tf.Tensor, kl: tf.Tensor) -> tf.Tensor:
        """Per-step loss: (reconstruction + beta * max(KL - free nats, 0)) / steps, averaged over the batch."""
        return tf.reduce_mean(recon + self.config.beta * tf.maximum(kl - self.free_nats, 0.0)) / self.config.steps

    def loss(self, controls: tf.Tensor, groove: tf.Tensor, eps: tf.Tensor) -> tf.Tensor:
        """The training loss of a batch; eps [B, z_size] ~ N(0, I) draws z = mu + sigma * eps."""
        mu, sigma = self.encode(groove)
        ce, velocity_se, offset_se = self.reconstruction(self.outputs(mu + sigma * eps, controls, groove), groove)
        return self.objective(self.recon(ce, velocity_se, offset_se), self.kl(mu, sigma))

    def recon(self, ce: tf.Tensor, velocity_se: tf.Tensor, offset_se: tf.Tensor) -> tf.Tensor:
        """The reconstruction cost: humanize plays the input's hits, so only drumify pays for its hits."""
        return velocity_se + offset_se + (ce if self.config.mode == "tap" else 0.0)

    def _evaluate(self, controls: tf.Tensor, groove: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """With z the posterior mean, teacher-forced, per window [B]: hits CE, velocity SE, offset SE, KL."""
        mu, sigma = self.encode(groove)
        ce, velocity_se, offset_se = self.reconstruction(self.outputs(mu, controls, groove), groove)
        return ce, velocity_se, offset_se, self.kl(mu, sigma)
