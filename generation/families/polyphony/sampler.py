"""Polyphony RNN's step for the shared driver (engine/sampling.py): events that stop each row after its last step.

Each row carries its own step counter. At the start of a step the schedule's forced events (an injected
primer) are taken first; the model then adds notes below the last pitch played in that step (Magenta's
highest-first order, which also keeps an injected melody the top voice) or ends the step. A beam keeps
distinct rows only, so that stretches of forced events (identical in every branch) do not fill it with copies.

Voice leading (optional, steering.py): each note event's logits get biases towards the key so far and away from
clashes and parallels with the notes above it in the step; forced events are taken as given. Without it (None
in the inputs) the draws are Magenta's sampling, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from generation.engine.rnn import EventRnn
from generation.engine.sampling import SearchSettings, Stepper, sample
from generation.engine.tf_runtime import tf
from generation.families.polyphony.encoding import CONTINUED_NOTE, NEW_NOTE, NUM_CLASSES, START, STEP_END
from generation.families.polyphony.steering import NO_NOTE, VOICES, VoiceLeading, note_biases, pitch_classes, record

MAX_NOTES_PER_STEP = 12  # the model may add notes up to this many per step (forced ones count too)
NO_PITCH = 128  # "top" at the start of a step: every pitch may follow
PAD = -1  # a row's events after its last step


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


class PolyphonyStepper(Stepper):
    """The event step for a batch of rows on `model`; inputs: the Schedule's (forced, free, fresh) as tensors, and
    a VoiceLeading or None (fixed per trace).

    Carry: (RNN state, last class, step, events in step, top pitch, pitches of the previous step, of this one;
    for voice leading: pitch-class durations so far [B, 12], the last chord struck and this step's notes so far
    (both [B, VOICES], highest first), and the pitches struck in this step [B, 128]).
    Step s makes event s + 1; a row past the schedule's last step emits PAD. Forced events are not scored.
    """

    open_ended = True
    distinct = True

    def __init__(self, model: EventRnn) -> None:
        super().__init__(name="polyphony_stepper")
        self.model = model
        pitch_of = np.full(NUM_CLASSES, NO_PITCH, np.int32)
        pitch_of[NEW_NOTE:] = np.arange(NUM_CLASSES - NEW_NOTE) % 128
        self.pitch_of = tf.constant(pitch_of)

    def start(self, batch: int) -> tuple:
        """Rows before their first event."""
        zeros = tf.zeros([batch], tf.int32)
        silence = tf.zeros([batch, 128], tf.bool)
        none = tf.fill([batch, VOICES], NO_NOTE)
        return (self.model.zero_state(batch), zeros + START, zeros, zeros, zeros + NO_PITCH, silence, silence,
                tf.zeros([batch, 12]), none, none, silence)

    def finished(self, carry: Any, inputs: Any) -> tf.Tensor:
        return carry[2] >= tf.shape(inputs[1])[0]

    def iteration_seed(self, seeds: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
        # One seed for the whole search (the step index keeps draws apart), as the recorded outputs were made.
        return seeds[0]

    def log_probs(self, carry: Any, inputs: Any, s: tf.Tensor, temperature: tf.Tensor) -> tuple[tf.Tensor, Any]:
        state, last, step, k, top, prev, now, history, ref, above, struck = carry
        _, free, fresh, leading = inputs
        batch = tf.shape(last)[0]
        logits, new_state = self.model.step(tf.one_hot(last, NUM_CLASSES), state)
        below = tf.range(128)[None, :] < top[:, None]
        may_continue = below & prev & ~tf.gather(fresh, tf.minimum(step, tf.shape(free)[0] - 1))[:, None]
        allowed = tf.concat([tf.zeros([batch, 2], tf.bool), tf.ones([batch, 1], tf.bool), below, may_continue],
                            axis=1)
        scaled = logits / temperature
        if leading is not None:
            new, held = note_biases(leading, history, ref, above, now, struck, k)
            scaled += tf.concat([tf.zeros([batch, NEW_NOTE]), new, held], axis=1)
        return tf.nn.log_softmax(tf.where(allowed, scaled, -1e9)), new_state

    def take(self, carry: Any, pending: Any, inputs: Any, s: tf.Tensor, drawn: tf.Tensor,
             log_probs: tf.Tensor) -> tuple[Any, tf.Tensor, tf.Tensor]:
        state, last, step, k, top, prev, now, *leading_carry = carry
        forced, free, _, leading = inputs
        total = tf.shape(free)[0]
        done = step >= total
        at = tf.minimum(step, total - 1)
        forced_cls = tf.gather(tf.gather(forced, at), tf.minimum(k, tf.shape(forced)[1] - 1), batch_dims=1)
        is_forced = (k < tf.shape(forced)[1]) & (forced_cls >= 0)
        must_end = ~is_forced & (~tf.gather(free, at) | (k >= MAX_NOTES_PER_STEP))
        take = tf.where(is_forced, forced_cls, tf.where(must_end, STEP_END, drawn))
        chose = ~done & ~is_forced & ~must_end
        logp = tf.where(chose, tf.gather(log_probs, take, batch_dims=1), 0.0)
        ended = take == STEP_END
        pitch = tf.gather(self.pitch_of, take)
        played = tf.one_hot(tf.minimum(pitch, 127), 128, on_value=True, off_value=False) & (pitch < 128)[:, None]
        keep = done[:, None]
        state = tf.nest.map_structure(lambda old, new: tf.where(keep, old, new), state, pending)
        if leading is not None:
            leading_carry = self.led(leading_carry, now, k, take, pitch, played, ended, done)
        carry = (state, tf.where(done, last, take),
                 tf.where(done, step, step + tf.cast(ended, tf.int32)),
                 tf.where(done, k, tf.where(ended, 0, k + 1)),
                 tf.where(done, top, tf.where(ended, NO_PITCH, pitch)),
                 tf.where(keep, prev, tf.where(ended[:, None], now, prev)),
                 tf.where(keep, now, tf.where(ended[:, None], tf.zeros_like(now), now | played)), *leading_carry)
        return carry, tf.where(done, PAD, take), logp

    @staticmethod
    def led(leading_carry: list[tf.Tensor], now: tf.Tensor, k: tf.Tensor, take: tf.Tensor, pitch: tf.Tensor,
            played: tf.Tensor, ended: tf.Tensor, done: tf.Tensor) -> list[tf.Tensor]:
        """Voice leading's record after `take`: a note joins the step's notes; a step end adds their durations to
        the history and, when the step struck a note, makes them the last chord."""
        history, ref, above, struck = leading_carry
        is_note = (pitch < 128) & ~done
        closing = (ended & ~done)[:, None]
        above = record(above, k, pitch, is_note)
        struck_now = played & (is_note & (take < CONTINUED_NOTE))[:, None]
        return [history + tf.where(closing, pitch_classes(now), 0.0),
                tf.where(closing & tf.reduce_any(struck, axis=1, keepdims=True), above, ref),
                tf.where(closing, NO_NOTE, above),
                tf.where(closing, False, struck | struck_now)]


def sample_events(stepper: PolyphonyStepper, schedule: Schedule, num_outputs: int, settings: SearchSettings,
                  seed: int, leading: VoiceLeading | None = None) -> list[np.ndarray]:
    """Event classes (START first) for `num_outputs` rows, each ending with its schedule's last STEP_END.

    leading: voice leading's weights; None samples as Magenta does.
    """
    max_events = schedule.num_steps * (max(MAX_NOTES_PER_STEP, schedule.forced.shape[1]) + 1)
    inputs = (tf.constant(schedule.forced, tf.int32), tf.constant(schedule.free, tf.bool),
              tf.constant(schedule.fresh, tf.bool), leading)
    rows, _ = sample(stepper, stepper.start(num_outputs), inputs, steps=max_events, primer_steps=0,
                     settings=settings, seed=seed)
    return [np.concatenate([[START], row[row >= 0]]).astype(np.int32) for row in rows]


__all__ = ["CONTINUED_NOTE", "MAX_NOTES_PER_STEP", "PolyphonyStepper", "Schedule", "VoiceLeading", "sample_events"]
