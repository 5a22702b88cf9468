"""hierdec-trio_16bar's encoder input and decoder: melody, bass and drums at each step (Magenta's TrioConverter with
HierarchicalLstmDecoder over a SplitMultiOutLstmDecoder).

Classes are [B, T, 3] (melody 0-89, bass 0-89, drums 0-511). The encoder's input row at a step is the melody's
one-hot, the bass's one-hot and the drums' 9-bit roll side by side (189 wide; Magenta feeds the drums as a 512
one-hot), so its first layer's input projection is the sum of three row gathers.

The decoder is the hierarchical one of hierdec.py with one core decoder per part, each under its own scope
(`core_decoder/core_decoder_{k}/`, Magenta's): the conductor gives one embedding per bar from z; each part's core
LSTM starts every bar from a dense tanh of that embedding and sees only its own part's previous output (with the
embedding beside it), as Magenta's split decoders do, so the parts hang together through the embeddings alone.
The reconstruction loss is the sum of the parts'. Sampling runs bar after bar in the graph, the three cores each
drawing their part of a bar before the next bar starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from generation.engine.tf_runtime import tf
from generation.families.drums.encoding import class_bits
from generation.families.music_vae.config import STEPS_PER_BAR, MusicVaeConfig
from generation.families.music_vae.hierdec import (
    conductor_embeddings,
    conductor_shapes,
    core_logits,
    sample_bars,
)
from generation.families.music_vae.network import BidirectionalEncoder, CategoricalDecoder, categorical_shapes

CORES = "core_decoder/core_decoder_{}/"  # Magenta's scopes: HierarchicalLstmDecoder's, then the split's


def part_tables(config: MusicVaeConfig) -> list[np.ndarray]:
    """Each part's [classes + 1, input width]: one-hot rows (melody, bass) or 9-bit rolls (drums), and a last row
    of zeros (a decoder's input before its first step)."""
    tables = []
    for classes, width in zip(config.part_classes, config.part_inputs, strict=True):
        rows = np.eye(classes, dtype=np.float32) if classes == width else class_bits(np.arange(classes)).astype(
            np.float32)
        tables.append(np.concatenate([rows, np.zeros((1, width), np.float32)]))
    return tables


def decoder_shapes(config: MusicVaeConfig) -> dict[str, tuple[int, ...]]:
    """The conductor's and the three core decoders' variables for the config's sizes."""
    shapes = conductor_shapes(config)
    for k, (classes, width) in enumerate(zip(config.part_classes, config.part_inputs, strict=True)):
        shapes.update(categorical_shapes(CORES.format(k), width, config.conductor_sizes[-1], config.decoder_sizes,
                                         classes))
    return shapes


class TrioEncoder(BidirectionalEncoder):
    """The bidirectional encoder over [B, T, 3] classes: the first layer's input projection of a step is the sum
    of the three parts' rows of (part table @ the part's slice of the kernel)."""

    def __init__(self, v: Mapping[str, tf.Variable], tables: Sequence[tf.Tensor], sizes: Sequence[int]) -> None:
        super().__init__(v, tables[0], sizes)
        self.tables = tuple(tables)

    def projected_inputs(self, classes: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        time_major = tf.transpose(classes, [1, 0, 2])  # [T, B, 3]
        out, row = None, 0
        for k, table in enumerate(self.tables):
            width = int(table.shape[1])
            part = tf.gather(tf.matmul(table, kernel[row:row + width]), time_major[:, :, k])
            out = part if out is None else out + part
            row += width
        return out


class TrioDecoder:
    """The conductor and a core decoder per part, with the entries the VAE uses: `logits` (a tuple, one [B, T,
    classes] per part) and `sample` (classes [B, T, 3] from noise [B, T, 90 + 90 + 512])."""

    def __init__(self, v: Mapping[str, tf.Variable], tables: Sequence[tf.Tensor], config: MusicVaeConfig) -> None:
        if config.steps % STEPS_PER_BAR:
            raise ValueError(f"{config.name}: {config.steps} steps are not whole bars of {STEPS_PER_BAR}")
        self.v, self.sizes, self.steps = v, tuple(config.conductor_sizes), config.steps
        self.bars, self.part_classes = config.steps // STEPS_PER_BAR, config.part_classes
        self.cores = [CategoricalDecoder(v, table, config.decoder_sizes, STEPS_PER_BAR, scope=CORES.format(k))
                      for k, table in enumerate(tables)]

    def embeddings(self, z: tf.Tensor) -> tf.Tensor:
        """The conductor's output at each bar, [bars, B, conductor units]."""
        return conductor_embeddings(self.v, self.sizes, self.bars, z)

    def logits(self, z: tf.Tensor, targets: tf.Tensor, keep: tf.Tensor | None = None) -> tuple[tf.Tensor, ...]:
        """Teacher-forced logits of each part ([B, T, 90], [B, T, 90], [B, T, 512]) for targets [B, T, 3]
        (`keep` [B, T]: word dropout of the three parts' inputs at once, network.previous_inputs)."""
        embedding = self.embeddings(z)
        return tuple(core_logits(core, embedding, targets[:, :, k], classes, keep)
                     for k, (core, classes) in enumerate(zip(self.cores, self.part_classes, strict=True)))

    def sample(self, z: tf.Tensor, noise: tf.Tensor, inv_temperature: tf.Tensor) -> tf.Tensor:
        """Classes [B, T, 3]; each part's step is argmax(logits * inv_temperature + its slice of noise[:, t])."""
        return self.sample_with_logits(z, noise, inv_temperature, with_logits=False)[0]

    def sample_with_logits(self, z: tf.Tensor, noise: tf.Tensor, inv_temperature: tf.Tensor,
                           with_logits: bool = True) -> tuple[tf.Tensor, tuple[tf.Tensor, ...] | None]:
        """The sampling loop's classes [B, T, 3] and (with `with_logits`) each part's logits it drew from."""
        noises = tf.split(noise, list(self.part_classes), axis=2)
        classes, logits = sample_bars(self.cores, self.embeddings(z), noises, inv_temperature, with_logits)
        return tf.stack(classes, axis=2), (tuple(logits) if logits is not None else None)


def reconstruction(logits: Sequence[tf.Tensor], classes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The NLL summed over the parts and steps [B] (Magenta sums the split decoders' losses), and each part's
    teacher-forced correct steps [B, 3]."""
    nll, correct = [], []
    for k, part in enumerate(logits):
        labels = classes[:, :, k]
        nll.append(tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=part), 1))
        correct.append(tf.reduce_sum(tf.cast(tf.argmax(part, axis=2, output_type=tf.int32) == labels, tf.float32), 1))
    return tf.add_n(nll), tf.stack(correct, axis=1)

