"""Performance RNN's step for the shared driver (engine/sampling.py): each event fed back with the control row,
steered, and timed, until each output reaches its length."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from generation.engine.rnn import EventRnn
from generation.engine.sampling import SearchSettings, Stepper, sample
from generation.engine.tf_runtime import tf
from generation.families.performance import steering
from generation.families.performance.config import PerformanceConfig
from generation.families.performance.encoding import (
    MAX_NOTE_STEPS,
    NOTE_OFF0,
    SHIFT0,
    VELOCITY0,
    event_input_table,
)

PAD = -1  # a finished output's events
MAX_EVENTS_PER_STEP = 64  # a bound on events per 10 ms step: a model that never moves time still stops


class Inputs(NamedTuple):
    forced: tf.Tensor  # [F] the primer's events (event 0 is the carry's first)
    control: tf.Tensor  # [C] the conditioning row
    target: steering.Steering
    num_steps: tf.Tensor  # the outputs' length, in 10 ms steps
    steer_density: bool  # Python flags: a loop without steering traces without its ops
    steer_pitch: bool
    steer_key: bool


class PerformanceStepper(Stepper):
    """Carry: (RNN state, last class [B], time [B] in steps, onset [B, 128] (the step each sounding pitch began,
    -1 if silent), steering measurements).

    Step s makes event s + 1; a row that has reached num_steps emits PAD and keeps its carry. Only drawn
    events are scored (the primer's are not).
    """

    open_ended = True

    def __init__(self, model: EventRnn, config: PerformanceConfig) -> None:
        super().__init__(name="performance_stepper")
        self.model = model
        self.config = config
        self.table = tf.constant(event_input_table(config))

    def start(self, batch: int, first: int, first_is_music: bool, target: steering.Steering,
              key: np.ndarray | None = None) -> tuple:
        """The carry after the first event (an empty primer's context event takes no time); `key` [batch, 12]:
        the key profile each output aims at, if any."""
        time0 = first - SHIFT0 + 1 if SHIFT0 <= first < VELOCITY0 and first_is_music else 0
        onset = np.full((batch, 128), -1.0, np.float32)
        if first < NOTE_OFF0:
            onset[:, first] = 0.0
        return (self.model.zero_state(batch), tf.fill([batch], first), tf.fill([batch], time0),
                tf.constant(onset), steering.start(batch, target, key))

    def finished(self, carry: Any, inputs: Any) -> tf.Tensor:
        return carry[2] >= inputs.num_steps

    def draw_seed(self, seed: tf.Tensor, s: tf.Tensor) -> tf.Tensor:
        # Folds in the index of the event being made (s + 1), as the recorded outputs were made.
        return super().draw_seed(seed, s + 1)

    def log_probs(self, carry: Any, inputs: Any, s: tf.Tensor, temperature: tf.Tensor) -> tuple[tf.Tensor, Any]:
        state, last, now, onset, measured = carry
        controls = tf.tile(inputs.control[None, :], [tf.shape(last)[0], 1])
        logits, new_state = self.model.step(tf.concat([controls, tf.gather(self.table, tf.maximum(last, 0))], 1),
                                            state)
        scaled = logits / temperature  # the network's logits are left as they are; only the draw is steered
        on, shifts, velocities = scaled[:, :NOTE_OFF0], scaled[:, SHIFT0:VELOCITY0], scaled[:, VELOCITY0:]
        off = steering.release_logits(scaled[:, NOTE_OFF0:SHIFT0], onset, now, MAX_NOTE_STEPS)
        if inputs.steer_density:
            dens = steering.density_bias(measured, inputs.target)
            on += dens[:, None]
            shifts += steering.shift_bias(dens, VELOCITY0 - SHIFT0)
            velocities += dens[:, None]
        if inputs.steer_pitch:
            on += steering.pitch_bias(measured, inputs.target)
        elif inputs.steer_key:
            on += steering.key_bias(measured)
            off += steering.key_release_bias(measured)
        return tf.nn.log_softmax(tf.concat([on, off, shifts, velocities], axis=1)), new_state

    def take(self, carry: Any, pending: Any, inputs: Any, s: tf.Tensor, drawn: tf.Tensor,
             log_probs: tf.Tensor) -> tuple[Any, tf.Tensor, tf.Tensor]:
        state, last, now, onset, measured = carry
        t = s + 1  # index of the event being made
        done = now >= inputs.num_steps
        num_forced = tf.shape(inputs.forced)[0]
        is_forced = t < num_forced
        take = tf.where(is_forced, tf.zeros_like(drawn) + inputs.forced[tf.minimum(t, num_forced - 1)], drawn)
        take = tf.where(done, tf.fill(tf.shape(take), PAD), take)
        logp = tf.where(done | is_forced, 0.0, tf.gather(log_probs, tf.maximum(take, 0), batch_dims=1))
        shift = tf.where((take >= SHIFT0) & (take < VELOCITY0), take - SHIFT0 + 1, 0)
        is_on = (take >= 0) & (take < NOTE_OFF0)
        is_off = (take >= NOTE_OFF0) & (take < SHIFT0)
        pitch = tf.maximum(take, 0) % NOTE_OFF0
        hot = tf.one_hot(pitch, 128) > 0
        onset = tf.where(is_on[:, None] & hot, tf.cast(now, tf.float32)[:, None],
                         tf.where(is_off[:, None] & hot, -1.0, onset))
        if inputs.steer_density or inputs.steer_pitch or inputs.steer_key:
            measured = steering.update(measured, is_on, pitch, shift, ~done & (t >= num_forced), onset >= 0)
        state = tf.nest.map_structure(lambda a, b: tf.where(done[:, None], a, b), state, pending)
        carry = (state, tf.where(done, last, take), now + shift, onset, measured)
        return carry, take, logp


def sample_events(stepper: PerformanceStepper, forced: np.ndarray, first_is_music: bool, control: np.ndarray,
                  target: steering.Steering, num_steps: int, num_outputs: int, settings: SearchSettings,
                  seed: int, key: np.ndarray | None = None) -> list[np.ndarray]:
    """Event classes per output (PAD after its end), starting with forced[0]; the rest of `forced` is the primer.
    `key` [num_outputs, 12]: a key profile per output to steer toward when no histogram is requested."""
    steer_pitch = bool(target.histogram.numpy().sum() > 0)
    inputs = Inputs(tf.constant(forced, tf.int32), tf.constant(control, tf.float32), target,
                    tf.constant(num_steps, tf.int32), bool(target.density.numpy() > 0), steer_pitch,
                    key is not None and not steer_pitch)
    carry = stepper.start(num_outputs, int(forced[0]), first_is_music, target, key)
    rows, _ = sample(stepper, carry, inputs, steps=len(forced) - 1 + MAX_EVENTS_PER_STEP * num_steps,
                     primer_steps=len(forced) - 1, settings=settings, seed=seed)
    return [np.concatenate([forced[:1], row]) for row in rows]
