"""MusicVAE's hierarchical decoder (Magenta's HierarchicalLstmDecoder, level lengths [bars, 16], as in
hierdec-mel_16bar): a conductor LSTM from z gives one embedding per bar, and a core CategoricalDecoder decodes each
bar from its embedding.

As Magenta's with `disable_autoregression=True` (its 16-bar configs): the conductor's state starts as a dense tanh
of z and its input at every bar is a single zero (so only its bias and recurrent weights act); its last layer's
output at bar i is bar i's embedding. The core decoder's state starts as a dense tanh of that embedding at each bar,
each step's input is the previous output's row with the embedding beside it, and the input of a bar's first step
is the previous bar's last output (zeros before the first bar), so the 16 bars read as one line.

The trio's decoder (trio_network.py) uses the same conductor, logits and bar-by-bar sampling with one core
decoder per part.

Teacher-forced (`logits`), the bars do not wait on each other: every bar's inputs are known, so the core decoder
runs its 16 steps once over all bars of the batch (batch x bars rows), not 256 steps in a row. Sampling (`sample`)
runs bar after bar in the graph (a scan over bars of the core decoder's scan over steps).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from generation.engine.tf_runtime import tf
from generation.families.music_vae.config import STEPS_PER_BAR, MusicVaeConfig
from generation.families.music_vae.network import CategoricalDecoder, _scan_lstm, categorical_shapes, previous_inputs

CONDUCTOR = "decoder/hierarchical_level_0/multi_rnn_cell/cell_{}/lstm_cell/"
CONDUCTOR_STATE = "decoder/hierarchical_level_0/initial_state/"
CORE = "core_decoder/"
CONDUCTOR_INPUT = 1  # Magenta feeds the conductor a zero of width 1 when autoregression is off


def conductor_shapes(config: MusicVaeConfig) -> dict[str, tuple[int, ...]]:
    """The conductor's variables for the config's sizes."""
    shapes: dict[str, tuple[int, ...]] = {}
    size_in = CONDUCTOR_INPUT
    for k, units in enumerate(config.conductor_sizes):
        shapes[CONDUCTOR.format(k) + "kernel"] = (size_in + units, 4 * units)
        shapes[CONDUCTOR.format(k) + "bias"] = (4 * units,)
        size_in = units
    shapes[CONDUCTOR_STATE + "kernel"] = (config.z_size, 2 * sum(config.conductor_sizes))
    shapes[CONDUCTOR_STATE + "bias"] = (2 * sum(config.conductor_sizes),)
    return shapes


def decoder_shapes(config: MusicVaeConfig) -> dict[str, tuple[int, ...]]:
    """The conductor's and the core decoder's variables for the config's sizes."""
    return {**conductor_shapes(config), **categorical_shapes(CORE, config.input_size, config.conductor_sizes[-1],
                                                             config.decoder_sizes, config.num_classes)}


def conductor_embeddings(v: Mapping[str, tf.Variable], sizes: Sequence[int], bars: int, z: tf.Tensor) -> tf.Tensor:
    """The conductor's output at each bar, [bars, B, conductor units]."""
    flat = tf.tanh(tf.matmul(z, v[CONDUCTOR_STATE + "kernel"]) + v[CONDUCTOR_STATE + "bias"])
    parts = tf.split(flat, [u for units in sizes for u in (units, units)], axis=1)
    x = tf.zeros([bars, tf.shape(z)[0], 0])
    for k, units in enumerate(sizes):
        kernel, bias = v[CONDUCTOR.format(k) + "kernel"], v[CONDUCTOR.format(k) + "bias"]
        if k == 0:  # the zero input adds nothing: the bias alone, at every bar
            projected = tf.tile(bias[None, None], [bars, tf.shape(z)[0], 1])
        else:
            projected = tf.einsum("tbi,ig->tbg", x, kernel[:-units]) + bias
        x = _scan_lstm(projected, kernel[-units:], parts[2 * k], parts[2 * k + 1])
    return x


def core_logits(core: CategoricalDecoder, embedding: tf.Tensor, targets: tf.Tensor, num_classes: int,
                keep: tf.Tensor | None = None) -> tf.Tensor:
    """Teacher-forced logits [B, T, classes] of one core decoder from the conductor's embeddings [bars, B, E]:
    step t sees target t - 1 (a bar's first step, the previous bar's last target; the very first, the zeros;
    `keep`: word dropout, network.previous_inputs). Every (window, bar) is a row of its own, [B * bars, 16],
    window-major: the bars do not wait on each other."""
    batch, steps = tf.shape(targets)[0], int(embedding.shape[0]) * STEPS_PER_BAR
    previous = previous_inputs(targets, core.start, keep)
    rows = tf.reshape(tf.transpose(embedding, [1, 0, 2]), [-1, int(embedding.shape[2])])
    logits = core.logits_after(rows, tf.reshape(previous, [-1, STEPS_PER_BAR]))
    return tf.reshape(logits, [batch, steps, num_classes])


def sample_bars(cores: Sequence[CategoricalDecoder], embedding: tf.Tensor, noises: Sequence[tf.Tensor],
                inv_temperature: tf.Tensor, with_logits: bool) -> tuple[list[tf.Tensor], list[tf.Tensor] | None]:
    """Bar after bar in the graph (a scan over bars of each core decoder's scan over steps), each core drawing
    its part of the bar from the bar's embedding, its first input its own previous bar's last class: the classes
    [B, T] of each core and (with `with_logits`) the logits [B, T, classes] it drew them from. `noises`: each
    core's [B, T, classes]."""
    batch, bars = tf.shape(embedding)[1], int(embedding.shape[0])
    sizes = [int(n.shape[2]) for n in noises]
    # [B, T, C] -> [bars, 16, B, C]: each bar's time-major noise
    bars_noise = tuple(tf.transpose(tf.reshape(n, [batch, bars, STEPS_PER_BAR, c]), [1, 2, 0, 3])
                       for n, c in zip(noises, sizes, strict=True))

    def bar(carry: tuple, inputs: tuple) -> tuple:
        out = []
        for k, core in enumerate(cores):
            drawn, logits = core.draw(inputs[0], inputs[1 + k], inv_temperature, carry[k][0][-1], with_logits)
            out.append((drawn, logits) if with_logits else (drawn,))
        return tuple(out)

    # As if a bar before the first had ended on the zeros (the start row): its last class is the first input.
    initial = tuple((tf.fill([STEPS_PER_BAR, batch], core.start),)
                    + ((tf.zeros([STEPS_PER_BAR, batch, c]),) if with_logits else ())
                    for core, c in zip(cores, sizes, strict=True))
    out = tf.scan(bar, (embedding, *bars_noise), initializer=initial)
    # [bars, 16, B] -> [B, T]
    classes = [tf.reshape(tf.transpose(o[0], [2, 0, 1]), [batch, bars * STEPS_PER_BAR]) for o in out]
    if not with_logits:
        return classes, None
    return classes, [tf.reshape(tf.transpose(o[1], [2, 0, 1, 3]), [batch, bars * STEPS_PER_BAR, c])
                     for o, c in zip(out, sizes, strict=True)]


class HierarchicalDecoder:
    """Conductor + core decoder, with the flat decoder's two entries (`logits`, `sample`) over all `steps`."""

    def __init__(self, v: Mapping[str, tf.Variable], table: tf.Tensor, config: MusicVaeConfig) -> None:
        if config.steps % STEPS_PER_BAR:
            raise ValueError(f"{config.name}: {config.steps} steps are not whole bars of {STEPS_PER_BAR}")
        self.v, self.sizes, self.steps = v, tuple(config.conductor_sizes), config.steps
        self.bars, self.bar_steps, self.num_classes = config.steps // STEPS_PER_BAR, STEPS_PER_BAR, config.num_classes
        self.core = CategoricalDecoder(v, table, config.decoder_sizes, STEPS_PER_BAR, scope=CORE)
        self.start = self.core.start

    def embeddings(self, z: tf.Tensor) -> tf.Tensor:
        """The conductor's output at each bar, [bars, B, conductor units]."""
        return conductor_embeddings(self.v, self.sizes, self.bars, z)

    def logits(self, z: tf.Tensor, targets: tf.Tensor, keep: tf.Tensor | None = None) -> tf.Tensor:
        """Teacher-forced logits [B, T, classes]: step t sees target t - 1 (a bar's first step, the previous
        bar's last target; the very first, the zeros; `keep`: word dropout, network.previous_inputs)."""
        return core_logits(self.core, self.embeddings(z), targets, self.num_classes, keep)

    def sample(self, z: tf.Tensor, noise: tf.Tensor, inv_temperature: tf.Tensor) -> tf.Tensor:
        """Classes [B, T], each step argmax(logits * inv_temperature + noise[:, t]) fed back as the next input."""
        return self.sample_with_logits(z, noise, inv_temperature, with_logits=False)[0]

    def sample_with_logits(self, z: tf.Tensor, noise: tf.Tensor, inv_temperature: tf.Tensor,
                           with_logits: bool = True) -> tuple[tf.Tensor, tf.Tensor | None]:
        """The sampling loop's classes [B, T] and (with `with_logits`) the logits [B, T, classes] it drew from."""
        classes, logits = sample_bars([self.core], self.embeddings(z), [noise], inv_temperature, with_logits)
        return classes[0], (logits[0] if logits is not None else None)
