"""The RNN-NADE's step for the shared driver (engine/sampling.py): a frame of 88 Bernoulli keys drawn by the NADE.

A frame is not one categorical draw, so this stepper overrides `step` whole; the loop, beam search and seeds are
the driver's. Beams are ranked by the model's own log-probability of the frames (temperature 1), as Magenta's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from generation.engine.sampling import SearchSettings, Stepper, sample
from generation.engine.tf_runtime import tf
from generation.families.pianoroll.config import NUM_KEYS
from generation.families.pianoroll.network import RnnNade, RnnState

# The carry: the RNN state after the frames so far, and the NADE biases for the next frame.
Carry = tuple[RnnState, tf.Tensor, tf.Tensor]


class PianorollStepper(Stepper):
    """Takes the primer's frames where given (scored, not drawn) and draws the others.

    Inputs: (forced [T, 88] primer frames, rows past the primer ignored; is_forced [T]). Step s makes frame s.
    """

    emitted_dtype = tf.float32
    emitted_shape = (NUM_KEYS,)

    def __init__(self, model: RnnNade) -> None:
        super().__init__(name="pianoroll_stepper")
        self.model = model

    def start(self, batch: int) -> Carry:
        """The carry before frame 0: the RNN has consumed one zero frame (as in training)."""
        b_enc, b_dec, rnn = self.model.rnn_step(tf.zeros([batch, NUM_KEYS]), self.model.zero_state(batch))
        return rnn, b_enc, b_dec

    def step(self, carry: Any, inputs: Any, s: tf.Tensor, seed: tf.Tensor, temperature: tf.Tensor
             ) -> tuple[Any, tf.Tensor, tf.Tensor]:
        rnn, b_enc, b_dec = carry
        forced, is_forced = inputs
        batch = tf.shape(b_enc)[0]
        uniform = tf.random.stateless_uniform([batch, NUM_KEYS], seed=seed)
        drawn, drawn_lp = self.model.nade_sample(b_enc, b_dec, uniform, temperature)
        given = tf.tile(forced[s][None, :], [batch, 1])
        frame = tf.where(is_forced[s], given, drawn)
        logp = tf.where(is_forced[s], self.model.frame_log_prob(given, b_enc, b_dec), drawn_lp)
        b_enc, b_dec, rnn = self.model.rnn_step(frame, rnn)
        return (rnn, b_enc, b_dec), frame, logp


def sample_rolls(stepper: PianorollStepper, primer: np.ndarray, num_steps: int, num_outputs: int,
                 settings: SearchSettings, seed: int) -> np.ndarray:
    """Rolls [num_outputs, num_steps, 88] (uint8) starting with the primer [P, 88], P <= num_steps.

    The first free frame is the one right after the primer. The primer frames are fed, never drawn.
    """
    forced = np.zeros((num_steps, NUM_KEYS), np.float32)
    forced[: len(primer)] = primer
    inputs = (tf.constant(forced), tf.constant(np.arange(num_steps) < len(primer)))
    rolls, _ = sample(stepper, stepper.start(num_outputs), inputs, steps=num_steps, primer_steps=len(primer),
                      settings=settings, seed=seed)
    return rolls.astype(np.uint8)
