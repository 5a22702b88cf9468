"""Plain sampling and Magenta's beam search over the compiled performance event loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from generation.models.sampling import SearchSettings
from generation.models.tf_runtime import tf

if TYPE_CHECKING:
    from generation.models.performance.generator import EventLoop
    from generation.models.performance.steering import Steering

CHUNK = 4096  # events per compiled call when sampling plainly (the loop stops early when every output is done)


def search_events(loop: EventLoop, forced: np.ndarray, first_is_music: bool, control: np.ndarray, target: Steering,
                  num_steps: int, num_outputs: int, settings: SearchSettings, seed: int) -> list[np.ndarray]:
    """Event classes per output (PAD = -1 after the end), starting with forced[0].

    With beam_size = branch_factor = 1, all outputs are sampled together until each reaches num_steps.
    Otherwise Magenta's beam search: after the primer, every `steps_per_iteration` events each kept sequence
    is extended `branch_factor` times and the `beam_size` most likely survive per output.
    """
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=(1 << 16, 2), dtype=np.int64)
    args = (tf.constant(forced, tf.int32), tf.constant(control, tf.float32), target)
    steps_t = tf.constant(num_steps, tf.int32)
    temp = tf.constant(settings.temperature, tf.float32)
    flags = (bool(target.density.numpy() > 0), bool(target.histogram.numpy().sum() > 0))

    def run(carry: tuple, i0: int, n: int, k: int) -> tuple[tuple, np.ndarray, np.ndarray]:
        carry, cls, lp = loop.advance(carry, *args, tf.constant(i0), tf.constant(n), steps_t, temp,
                                      tf.constant(seeds[k % len(seeds)], tf.int32), *flags)
        return carry, cls.numpy(), lp.numpy()

    first = np.full((num_outputs, 1), forced[0], np.int32)
    carry = loop.start(num_outputs, int(forced[0]), first_is_music, target)
    if settings.beam_size == 1 and settings.branch_factor == 1:
        chunks, i0 = [first], 0
        while True:  # one call in practice; more only for very dense music
            carry, cls, _ = run(carry, i0, CHUNK, 0)
            chunks.append(cls)
            i0 += cls.shape[1]
            if cls.shape[1] < CHUNK or (carry[2].numpy() >= num_steps).all():
                return list(np.concatenate(chunks, axis=1))
    seqs = first
    logp = np.zeros(num_outputs, np.float32)
    if len(forced) > 1:  # the primer: forced, no branching
        carry, cls, _ = run(carry, 0, len(forced) - 1, 0)
        seqs = np.concatenate([seqs, cls], axis=1)
    owner = np.arange(num_outputs)
    i0, k = seqs.shape[1] - 1, 1
    while not (carry[2].numpy() >= num_steps).all():
        reps = settings.branch_factor if len(owner) > num_outputs else settings.beam_size * settings.branch_factor
        idx = np.repeat(np.arange(len(owner)), reps)
        carry = _gather(carry, idx)
        carry, cls, step_lp = run(carry, i0, settings.steps_per_iteration, k)
        seqs = np.concatenate([seqs[idx], _pad(cls, settings.steps_per_iteration)], axis=1)
        logp, owner = logp[idx] + step_lp, owner[idx]
        keep = _top_per_owner(logp, owner, settings.beam_size)
        carry = _gather(carry, keep)
        seqs, logp, owner = seqs[keep], logp[keep], owner[keep]
        i0, k = i0 + settings.steps_per_iteration, k + 1
    best = _top_per_owner(logp, owner, 1)
    return list(seqs[best])


def _gather(carry: tuple, idx: np.ndarray) -> tuple:
    return tf.nest.map_structure(lambda s: tf.gather(s, idx), carry)


def _pad(cls: np.ndarray, n: int) -> np.ndarray:
    return np.pad(cls, ((0, 0), (0, n - cls.shape[1])), constant_values=-1)


def _top_per_owner(logp: np.ndarray, owner: np.ndarray, k: int) -> np.ndarray:
    keep: list[int] = []
    for o in np.unique(owner):
        rows = np.flatnonzero(owner == o)
        keep.extend(rows[np.argsort(-logp[rows], kind="stable")[:k]])
    return np.array(keep, np.int64)
