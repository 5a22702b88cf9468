"""Polyphony RNN sampling: a compiled event loop, batched over outputs, that stops each row after its last step.

Each row carries its own step counter. At the start of a step the schedule's forced events (an injected
primer) are taken first; the model then adds notes below the last pitch played in that step (Magenta's
highest-first order, which also keeps an injected melody the top voice) or ends the step. Draws are
stateless: (seed, event index) fixes each one, so the same seed gives the same music.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generation.models.polyphony.encoding import CONTINUED_NOTE, NEW_NOTE, NUM_CLASSES, START, STEP_END
from generation.models.rnn import EventRnn, State
from generation.models.sampling import SearchSettings
from generation.models.tf_runtime import tf

MAX_NOTES_PER_STEP = 12  # the model may add notes up to this many per step (forced ones count too)
NO_PITCH = 128  # "top" at the start of a step: every pitch may follow


@dataclass(frozen=True)
class Schedule:
    """What is fixed at each step of the timeline.

    Attributes:
        forced: [S, K] classes taken at the start of step s, highest pitch first, -1 padded.
        free: [S] whether the model may add notes after the forced ones (False: the step ends there).
        fresh: [S] no CONTINUED_NOTE allowed (the step starts fresh notes only).
    """

    forced: np.ndarray
    free: np.ndarray
    fresh: np.ndarray

    @property
    def num_steps(self) -> int:
        return len(self.free)


Carry = tuple[State, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]


class PolyphonySampler(tf.Module):
    """Runs the event loop for a batch of rows on `model`."""

    def __init__(self, model: EventRnn) -> None:
        super().__init__(name="polyphony_sampler")
        self.model = model
        pitch_of = np.full(NUM_CLASSES, NO_PITCH, np.int32)
        pitch_of[NEW_NOTE:] = np.arange(NUM_CLASSES - NEW_NOTE) % 128
        self.pitch_of = tf.constant(pitch_of)

    def start(self, batch: int) -> Carry:
        """Rows before their first event: (rnn state, last class, step, events in step, top pitch, prev, now)."""
        zeros = tf.zeros([batch], tf.int32)
        silence = tf.zeros([batch, 128], tf.bool)
        return (self.model.zero_state(batch), zeros + START, zeros, zeros, zeros + NO_PITCH, silence, silence)

    @tf.function(reduce_retracing=True)
    def advance(self, carry: Carry, forced: tf.Tensor, free: tf.Tensor, fresh: tf.Tensor, n: tf.Tensor,
                temperature: tf.Tensor, seed: tf.Tensor, t0: tf.Tensor) -> tuple[Carry, tf.Tensor, tf.Tensor]:
        """Up to n events per row (fewer once every row has finished the schedule's last step).

        Returns:
            The new carry, classes [B, events made] (-1 after a row's end), and each row's
            log-probability of what it sampled (forced events not counted).
        """
        state, last, step, k, top, prev, now = carry
        total = tf.shape(free)[0]
        batch = tf.shape(last)[0]
        pitches = tf.range(128)
        out = tf.TensorArray(tf.int32, size=0, dynamic_size=True)
        logp = tf.zeros([batch])
        i = tf.constant(0)
        while i < n and not tf.reduce_all(step >= total):
            done = step >= total
            s = tf.minimum(step, total - 1)
            logits, new_state = self.model.step(tf.one_hot(last, NUM_CLASSES), state)
            below = pitches[None, :] < top[:, None]
            may_continue = below & prev & ~tf.gather(fresh, s)[:, None]
            allowed = tf.concat([tf.zeros([batch, 2], tf.bool), tf.ones([batch, 1], tf.bool), below, may_continue],
                                axis=1)
            scaled = tf.nn.log_softmax(tf.where(allowed, logits / temperature, -1e9))
            drawn = tf.random.stateless_categorical(scaled, 1, seed=seed + tf.stack([0, t0 + i]),
                                                    dtype=tf.int32)[:, 0]
            row_forced = tf.gather(forced, s)
            k_safe = tf.minimum(k, tf.shape(forced)[1] - 1)
            forced_cls = tf.gather(row_forced, k_safe, batch_dims=1)
            is_forced = (k < tf.shape(forced)[1]) & (forced_cls >= 0)
            must_end = ~is_forced & (~tf.gather(free, s) | (k >= MAX_NOTES_PER_STEP))
            take = tf.where(is_forced, forced_cls, tf.where(must_end, STEP_END, drawn))
            chose = ~done & ~is_forced & ~must_end
            logp += tf.where(chose, tf.gather(scaled, take, batch_dims=1), 0.0)
            ended = take == STEP_END
            pitch = tf.gather(self.pitch_of, take)
            played = tf.one_hot(tf.minimum(pitch, 127), 128, on_value=True, off_value=False) & (pitch < 128)[:, None]
            keep = done[:, None]
            state = tf.nest.map_structure(lambda old, new, keep=keep: tf.where(keep, old, new), state, new_state)
            last = tf.where(done, last, take)
            prev = tf.where(keep, prev, tf.where(ended[:, None], now, prev))
            now = tf.where(keep, now, tf.where(ended[:, None], tf.zeros_like(now), now | played))
            top = tf.where(done, top, tf.where(ended, NO_PITCH, pitch))
            k = tf.where(done, k, tf.where(ended, 0, k + 1))
            step = tf.where(done, step, step + tf.cast(ended, tf.int32))
            out = out.write(i, tf.where(done, -1, take))
            i += 1
        events = tf.transpose(tf.reshape(out.stack(), [i, batch]))
        return (state, last, step, k, top, prev, now), events, logp


def sample(sampler: PolyphonySampler, schedule: Schedule, num_outputs: int, settings: SearchSettings,
           seed: int) -> list[np.ndarray]:
    """Event classes (START first) for `num_outputs` rows, each ending with its schedule's last STEP_END.

    With beam_size = branch_factor = 1, one batched call. Otherwise Magenta's beam search: every
    `steps_per_iteration` events, each of the `beam_size` kept rows is extended `branch_factor` times
    and the most likely `beam_size` distinct rows of each output survive.
    """
    forced = tf.constant(schedule.forced, tf.int32)
    free = tf.constant(schedule.free, tf.bool)
    fresh = tf.constant(schedule.fresh, tf.bool)
    temp = tf.constant(settings.temperature, tf.float32)
    max_events = schedule.num_steps * (max(MAX_NOTES_PER_STEP, schedule.forced.shape[1]) + 1)
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=(2,), dtype=np.int64)
    seed_t = tf.constant(seeds, tf.int32)

    def run(carry: Carry, n: int, t0: int) -> tuple[Carry, np.ndarray, np.ndarray]:
        new, ev, lp = sampler.advance(carry, forced, free, fresh, tf.constant(n), temp, seed_t, tf.constant(t0))
        return new, ev.numpy(), lp.numpy()

    start = np.full((num_outputs, 1), START, np.int32)
    carry = sampler.start(num_outputs)
    if settings.beam_size == 1 and settings.branch_factor == 1:
        _, events, _ = run(carry, max_events, 0)
        return [_strip(row) for row in np.concatenate([start, events], axis=1)]

    seqs, logp = start, np.zeros(num_outputs, np.float32)
    owner = np.arange(num_outputs)
    made = 0
    while made < max_events and not bool(np.all(carry[2].numpy() >= schedule.num_steps)):
        n = min(settings.steps_per_iteration, max_events - made)
        # Each output keeps beam_size rows, each branched branch_factor times (a lone first row: all of them).
        count = np.bincount(owner, minlength=num_outputs)[owner]
        reps = np.maximum(settings.branch_factor, -(-settings.beam_size * settings.branch_factor // count))
        idx = np.repeat(np.arange(len(owner)), reps)
        carry = _gather(carry, idx)
        carry, events, step_lp = run(carry, n, made)
        seqs = np.concatenate([seqs[idx], events], axis=1)
        logp, owner = logp[idx] + step_lp, owner[idx]
        keep = _best_distinct(seqs, logp, owner, settings.beam_size)
        carry, seqs, logp, owner = _gather(carry, keep), seqs[keep], logp[keep], owner[keep]
        made += n
    best = _best_distinct(seqs, logp, owner, 1)
    return [_strip(row) for row in seqs[best]]


def _gather(carry: Carry, idx: np.ndarray) -> Carry:
    gathered: Carry = tf.nest.map_structure(lambda s: tf.gather(s, idx), carry)
    return gathered


def _strip(row: np.ndarray) -> np.ndarray:
    return row[row >= 0]


def _best_distinct(seqs: np.ndarray, logp: np.ndarray, owner: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k most likely distinct rows of each owner, owners in order.

    Distinct, so that stretches of forced events (identical in every branch) do not fill the beam with
    copies of one row.
    """
    keep: list[int] = []
    for o in np.unique(owner):
        rows = np.flatnonzero(owner == o)
        seen: set[bytes] = set()
        for r in rows[np.argsort(-logp[rows], kind="stable")]:
            key = _strip(seqs[r]).tobytes()
            if key not in seen:
                seen.add(key)
                keep.append(int(r))
            if len(seen) == k:
                break
    return np.array(keep, np.int64)


__all__ = ["CONTINUED_NOTE", "MAX_NOTES_PER_STEP", "PolyphonySampler", "Schedule", "sample"]
