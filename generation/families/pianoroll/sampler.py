"""The RNN-NADE's step for the shared driver (engine/sampling.py): a frame of 88 Bernoulli keys drawn by the NADE.

A frame is not one categorical draw, so this stepper overrides `step` whole; the loop, beam search and seeds are
the driver's. Beams are ranked by the model's own log-probability of the frames (temperature 1), as Magenta's.

Voice leading (optional, `VoiceLeading`): each step draws several frames from the NADE, independently, and keeps
one of those with the fewest parallel 5ths/octaves against the last chord, chosen among them with probability
proportional to exp(key_weight x key fit) (voice_leading.py: how well the frame's notes fit the key of the music
so far). That is sampling-importance-resampling from the model's own draws towards p(frame) x exp(key_weight x
fit) restricted to frames without parallels: the model's other preferences are left alone, where taking the most
likely candidate would push every step towards the mode. The network and its weights are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from generation.engine.sampling import SearchSettings, Stepper, sample
from generation.engine.tf_runtime import tf
from generation.families.pianoroll.config import NUM_KEYS
from generation.families.pianoroll.network import RnnNade, RnnState
from generation.families.pianoroll.voice_leading import key_fit, onset_ref, parallel_count, pitch_classes

# The carry: the RNN state after the frames so far, the NADE biases for the next frame, the last frame, the last
# frame that struck a key (what a chord change is measured against) and the pitch-class durations so far [B, 12].
Carry = tuple[RnnState, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
PARALLEL_PENALTY = 1000.0  # per parallel, on the candidates' scores: a clean candidate always wins


@dataclass(frozen=True)
class VoiceLeading:
    """candidates: frames drawn per step (about 11 % of rnn-nade-bach's plain draws have a parallel, so 4 leave
    one step in ~400 without a clean one); key_weight: the pull towards the key so far (0.5 keeps bars 1-4 and
    5-8 in one key about as often as Bach's chorales; 0 is none)."""

    candidates: int = 4
    key_weight: float = 0.5


class PianorollStepper(Stepper):
    """Takes the primer's frames where given (scored, not drawn) and draws the others.

    Inputs: (forced [T, 88] primer frames, rows past the primer ignored; is_forced [T]; a VoiceLeading or None
    for Magenta's sampling, fixed per trace). Step s makes frame s.
    """

    emitted_dtype = tf.float32
    emitted_shape = (NUM_KEYS,)

    def __init__(self, model: RnnNade) -> None:
        super().__init__(name="pianoroll_stepper")
        self.model = model

    def start(self, batch: int) -> Carry:
        """The carry before frame 0: the RNN has consumed one zero frame (as in training)."""
        b_enc, b_dec, rnn = self.model.rnn_step(tf.zeros([batch, NUM_KEYS]), self.model.zero_state(batch))
        empty = tf.zeros([batch, NUM_KEYS])
        return rnn, b_enc, b_dec, empty, empty, tf.zeros([batch, 12])

    def step(self, carry: Any, inputs: Any, s: tf.Tensor, seed: tf.Tensor, temperature: tf.Tensor
             ) -> tuple[Any, tf.Tensor, tf.Tensor]:
        rnn, b_enc, b_dec, prev, ref, history = carry
        forced, is_forced, leading = inputs
        batch = tf.shape(b_enc)[0]
        uniform = tf.random.stateless_uniform([batch, NUM_KEYS], seed=seed)
        if leading is None:
            drawn, drawn_lp = self.model.nade_sample(b_enc, b_dec, uniform, temperature)
        else:
            drawn, drawn_lp = self.voice_led(b_enc, b_dec, uniform, seed, temperature, (prev, ref, history), leading)
        given = tf.tile(forced[s][None, :], [batch, 1])
        frame = tf.where(is_forced[s], given, drawn)
        logp = tf.where(is_forced[s], self.model.frame_log_prob(given, b_enc, b_dec), drawn_lp)
        ref = onset_ref(ref, prev, frame)
        history += pitch_classes(frame)
        b_enc, b_dec, rnn = self.model.rnn_step(frame, rnn)
        return (rnn, b_enc, b_dec, frame, ref, history), frame, logp

    def voice_led(self, b_enc: tf.Tensor, b_dec: tf.Tensor, uniform: tf.Tensor, seed: tf.Tensor,
                  temperature: tf.Tensor, past: tuple[tf.Tensor, tf.Tensor, tf.Tensor], leading: VoiceLeading
                  ) -> tuple[tf.Tensor, tf.Tensor]:
        """Per row, one of `leading.candidates` NADE frames (see the module's docstring) and its log-probability."""
        batch, k = tf.shape(b_enc)[0], leading.candidates
        # Row-major [batch, k - 1, 88]: a row's draws do not depend on the batch size.
        more = tf.random.stateless_uniform([batch, k - 1, NUM_KEYS],
                                           seed=tf.random.experimental.stateless_fold_in(seed, 1))
        draws = tf.reshape(tf.concat([uniform[:, None], more], axis=1), [-1, NUM_KEYS])
        frames, logp = self.model.nade_sample(tf.repeat(b_enc, k, axis=0), tf.repeat(b_dec, k, axis=0), draws,
                                              temperature)
        prev, ref, history = (tf.repeat(t, k, axis=0) for t in past)
        score = -PARALLEL_PENALTY * tf.cast(parallel_count(ref, prev, frames), tf.float32)
        score += leading.key_weight * key_fit(history, frames)
        # Gumbel-max: a draw in proportion to exp(score) among the candidates.
        pick_u = tf.random.stateless_uniform([batch, k], seed=tf.random.experimental.stateless_fold_in(seed, 2),
                                             minval=1e-7)
        score = tf.reshape(score, [batch, k]) - tf.math.log(-tf.math.log(pick_u))
        pick = tf.range(batch) * k + tf.argmax(score, axis=1, output_type=tf.int32)
        return tf.gather(frames, pick), tf.gather(logp, pick)


def sample_rolls(stepper: PianorollStepper, primer: np.ndarray, num_steps: int, num_outputs: int,
                 settings: SearchSettings, seed: int, leading: VoiceLeading | None = None) -> np.ndarray:
    """Rolls [num_outputs, num_steps, 88] (uint8) starting with the primer [P, 88], P <= num_steps.

    The first free frame is the one right after the primer. The primer frames are fed, never drawn.
    `leading`: voice leading's settings; None samples as Magenta does.
    """
    if leading is not None and leading.candidates < 2:
        raise ValueError(f"voice leading needs at least 2 candidates, not {leading.candidates}")
    forced = np.zeros((num_steps, NUM_KEYS), np.float32)
    forced[: len(primer)] = primer
    inputs = (tf.constant(forced), tf.constant(np.arange(num_steps) < len(primer)), leading)
    rolls, _ = sample(stepper, stepper.start(num_outputs), inputs, steps=num_steps, primer_steps=len(primer),
                      settings=settings, seed=seed)
    return rolls.astype(np.uint8)
