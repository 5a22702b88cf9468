"""Compiled RNN-NADE sampling: a tf.while loop over frames with the 88-key NADE draw inside, batched, seeded.

Beam search keeps Magenta's meaning: every `steps_per_iteration` frames each of the `beam_size` kept rolls is
extended `branch_factor` times and the `beam_size` most likely (under the model) survive.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from generation.models.pianoroll.config import NUM_KEYS
from generation.models.pianoroll.network import RnnNade, RnnState
from generation.models.sampling import SearchSettings, _gather, _top_per_owner
from generation.models.tf_runtime import tf

# Sampler state: the RNN state after the frames so far, and the NADE biases for the next frame.
State = tuple[RnnState, tf.Tensor, tf.Tensor]


class PianorollSampler(tf.Module):
    """Runs an RnnNade forward, taking primer frames where given and drawing the others."""

    def __init__(self, model: RnnNade) -> None:
        super().__init__(name="pianoroll_sampler")
        self.model = model
        spec = tf.TensorSpec
        rnn = tuple((spec([None, u]), spec([None, u])) for u in model.layer_sizes)
        # One trace serves every batch size, primer and length (a retrace costs seconds).
        self.advance = tf.function(self._advance, input_signature=[
            (rnn, spec([None, model.nade_hidden]), spec([None, NUM_KEYS])), spec([None, NUM_KEYS]),
            spec([None], tf.bool), spec([], tf.int32), spec([], tf.int32), spec([], tf.float32),
            spec([2], tf.int32)])

    def start(self, batch: int) -> State:
        """The state before frame 0: the RNN has consumed one zero frame (as in training)."""
        b_enc, b_dec, rnn = self.model.rnn_step(tf.zeros([batch, NUM_KEYS]), self.model.zero_state(batch))
        return rnn, b_enc, b_dec

    def _advance(self, state: State, forced: tf.Tensor, is_forced: tf.Tensor, t0: tf.Tensor, n: tf.Tensor,
                temperature: tf.Tensor, seed: tf.Tensor) -> tuple[State, tf.Tensor, tf.Tensor]:
        """Make frames t0 .. t0+n-1.

        Args:
            state: from `start` or a previous call.
            forced: [T, 88] primer frames (rows past the primer are ignored).
            is_forced: [T] bool, True where the frame is the primer's.
            t0, n: first frame index and number of frames.
            temperature: divides every key's logit when drawing.
            seed: [2] int32; each frame's draws also fold in its index.

        Returns:
            The new state, frames [B, n, 88] (0/1 floats) and each row's log-probability of them.
        """
        rnn, b_enc, b_dec = state
        batch = tf.shape(b_enc)[0]
        out = tf.TensorArray(tf.float32, size=n)
        logp = tf.zeros([batch])
        for i in tf.range(n):
            t = t0 + i
            uniform = tf.random.stateless_uniform([batch, NUM_KEYS], seed=seed + tf.stack([0, t]))
            drawn, drawn_lp = self.model.nade_sample(b_enc, b_dec, uniform, temperature)
            given = tf.tile(forced[t][None, :], [batch, 1])
            frame = tf.where(is_forced[t], given, drawn)
            logp += tf.where(is_forced[t], self.model.frame_log_prob(given, b_enc, b_dec), drawn_lp)
            out = out.write(i, frame)
            b_enc, b_dec, rnn = self.model.rnn_step(frame, rnn)
        return (rnn, b_enc, b_dec), tf.transpose(out.stack(), [1, 0, 2]), logp


def sample_rolls(sampler: PianorollSampler, primer: np.ndarray, num_steps: int, num_outputs: int,
                 settings: SearchSettings, seed: int) -> np.ndarray:
    """Rolls [num_outputs, num_steps, 88] (uint8) starting with the primer [P, 88], P <= num_steps.

    The first free frame is the one right after the primer. The primer frames are fed, never drawn.
    """
    forced = np.zeros((num_steps, NUM_KEYS), np.float32)
    forced[: len(primer)] = primer
    is_forced = np.arange(num_steps) < len(primer)
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=(num_steps + 1, 2), dtype=np.int64)
    forced_t, is_forced_t = tf.constant(forced), tf.constant(is_forced)
    temp = tf.constant(settings.temperature, tf.float32)

    def run(state: State, t0: int, n: int, k: int) -> tuple[State, np.ndarray, np.ndarray]:
        st, frames, lp = sampler.advance(state, forced_t, is_forced_t, tf.constant(t0), tf.constant(n), temp,
                                         tf.constant(seeds[k], tf.int32))
        return st, frames.numpy(), lp.numpy()

    state = sampler.start(num_outputs)
    if settings.beam_size == 1 and settings.branch_factor == 1:
        _, frames, _ = run(state, 0, num_steps, 0)
        return frames.astype(np.uint8)

    rolls = np.zeros((num_outputs, 0, NUM_KEYS), np.float32)
    logp = np.zeros(num_outputs, np.float32)
    if len(primer):
        state, rolls, logp = run(state, 0, len(primer), 0)
    owner = np.arange(num_outputs)  # which output each row belongs to
    t, k = len(primer), 1
    while t < num_steps:
        n = min(settings.steps_per_iteration, num_steps - t)
        reps = settings.branch_factor if len(owner) > num_outputs else settings.beam_size * settings.branch_factor
        idx = np.repeat(np.arange(len(owner)), reps)
        state = cast(State, _gather(state, idx))
        state, frames, step_lp = run(state, t, n, k)  # each row (branch) gets its own row of draws
        rolls = np.concatenate([rolls[idx], frames], axis=1)
        logp, owner = logp[idx] + step_lp, owner[idx]
        keep = _top_per_owner(logp, owner, settings.beam_size)
        state = cast(State, _gather(state, keep))
        rolls, logp, owner = rolls[keep], logp[keep], owner[keep]
        t, k = t + n, k + 1
    best = _top_per_owner(logp, owner, 1)
    return rolls[best].astype(np.uint8)

