"""Sampling shared by the event-RNN families: a compiled multi-step loop, batched, seeded, with beam search.

The whole step loop runs inside one `tf.function` (a `tf.while_loop`), so a call costs one Python->TF
round trip however many steps it makes. Randomness is stateless: (seed, step) fixes every draw, so the same
seed gives the same music on any run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from generation.models.rnn import EventRnn, State
from generation.models.tf_runtime import tf

FREE = -1  # in `forced`: the model chooses this step


@dataclass(frozen=True)
class SearchSettings:
    """Magenta's generation options with Magenta's defaults."""

    temperature: float = 1.0
    beam_size: int = 1
    branch_factor: int = 1
    steps_per_iteration: int = 1


class EventSampler(tf.Module):
    """Runs `model` forward over a sequence whose inputs are built from the previous event + a control row.

    Args:
        model: the network.
        num_classes: one-hot width of an event in the input (the inputs are [control(t + 1), onehot(event t)]).
    """

    def __init__(self, model: EventRnn, num_classes: int) -> None:
        super().__init__(name="event_sampler")
        self.model = model
        self.num_classes = num_classes

    @tf.function(reduce_retracing=True)
    def advance(
        self,
        state: State,
        last: tf.Tensor,
        controls: tf.Tensor,
        forced: tf.Tensor,
        t0: tf.Tensor,
        n: tf.Tensor,
        temperature: tf.Tensor,
        seed: tf.Tensor,
    ) -> tuple[State, tf.Tensor, tf.Tensor]:
        """Make n steps after event t0.

        Args:
            state: RNN state after consuming events before t0.
            last: [B] class of event t0.
            controls: [T, C] control rows (chords), shared by the batch.
            forced: [T] class to take at each step, or FREE.
            t0, n: start event index and number of steps (events t0+1 .. t0+n are produced).
            temperature: softmax temperature.
            seed: [2] int32; draws also fold in the step index.

        Returns:
            The new state, classes [B, n], and each row's log-probability of what it took.
        """
        batch = tf.shape(last)[0]
        out = tf.TensorArray(tf.int32, size=n)
        logp = tf.zeros([batch])
        for i in tf.range(n):
            t = t0 + i
            x = tf.concat([tf.tile(controls[t + 1][None, :], [batch, 1]),
                           tf.one_hot(last, self.num_classes)], axis=1)
            logits, state = self.model.step(x, state)
            scaled = tf.nn.log_softmax(logits / temperature)
            drawn = tf.random.stateless_categorical(scaled, 1, seed=seed + tf.stack([0, t]), dtype=tf.int32)[:, 0]
            take = tf.where(forced[t + 1] >= 0, tf.zeros_like(drawn) + forced[t + 1], drawn)
            logp += tf.gather(scaled, take, batch_dims=1)
            out = out.write(i, take)
            last = take
        return state, tf.transpose(out.stack()), logp


def sample_sequences(
    sampler: EventSampler,
    controls: np.ndarray,
    forced: np.ndarray,
    num_outputs: int,
    settings: SearchSettings,
    seed: int,
) -> np.ndarray:
    """Generate `num_outputs` sequences of len(forced) classes; forced[0] must be given (the first event).

    With beam_size = branch_factor = 1 this is plain sampling, all outputs in one batched call.
    Otherwise Magenta's beam search: every `steps_per_iteration` steps, each of the `beam_size` kept
    sequences is extended `branch_factor` times and the most likely `beam_size` survive.
    """
    if forced[0] < 0:
        raise ValueError("the first event must be given")
    total = len(forced)
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=(total + 1, 2), dtype=np.int64)
    controls_t = tf.constant(controls, tf.float32)
    forced_t = tf.constant(forced, tf.int32)
    temp = tf.constant(settings.temperature, tf.float32)

    def run(state: State, last: np.ndarray, t0: int, n: int, k: int) -> tuple[State, np.ndarray, np.ndarray]:
        st, cls, lp = sampler.advance(state, tf.constant(last, tf.int32), controls_t, forced_t,
                                      tf.constant(t0), tf.constant(n), temp, tf.constant(seeds[k], tf.int32))
        return st, cls.numpy(), lp.numpy()

    first = np.full(num_outputs, forced[0], np.int32)
    state = sampler.model.zero_state(num_outputs)
    if settings.beam_size == 1 and settings.branch_factor == 1:
        _, cls, _ = run(state, first, 0, total - 1, 0)
        return np.concatenate([first[:, None], cls], axis=1)

    # Primer steps first (forced, no branching), then beam iterations over the free steps.
    primer_end = int(np.argmax(forced < 0)) - 1 if (forced < 0).any() else total - 1
    seqs = first[:, None]
    logp = np.zeros(num_outputs, np.float32)
    if primer_end > 0:
        state, cls, logp = run(state, first, 0, primer_end, 0)
        seqs = np.concatenate([seqs, cls], axis=1)
    owner = np.arange(num_outputs)  # which output each row belongs to
    t, k = primer_end, 1
    while t < total - 1:
        n = min(settings.steps_per_iteration, total - 1 - t)
        reps = settings.branch_factor if len(owner) > num_outputs else settings.beam_size * settings.branch_factor
        idx = np.repeat(np.arange(len(owner)), reps)
        state = _gather(state, idx)
        state, cls, step_lp = run(state, seqs[idx, -1], t, n, k)
        seqs = np.concatenate([seqs[idx], cls], axis=1)
        logp, owner = logp[idx] + step_lp, owner[idx]
        keep = _top_per_owner(logp, owner, settings.beam_size)
        state, seqs, logp, owner = _gather(state, keep), seqs[keep], logp[keep], owner[keep]
        t, k = t + n, k + 1
    best = _top_per_owner(logp, owner, 1)
    return seqs[best]


def _gather(state: State, idx: np.ndarray) -> State:
    gather: Callable[[tf.Tensor], tf.Tensor] = lambda s: tf.gather(s, idx)  # noqa: E731
    return tf.nest.map_structure(gather, state)


def _top_per_owner(logp: np.ndarray, owner: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best rows of each owner, owners in order."""
    keep: list[int] = []
    for o in np.unique(owner):
        rows = np.flatnonzero(owner == o)
        keep.extend(rows[np.argsort(-logp[rows], kind="stable")[:k]])
    return np.array(keep, np.int64)
