"""Sampling-time control steering: bias note-on logits by how far the music so far is from the request.

Magenta's conditioning inputs alone move a small model's density and pitch classes only loosely, so on top
of them we add, at every event, a bias to the logits:
- density: note-on (and velocity) logits move by -gain x log(measured / requested notes per second), where
  "measured" is an exponential average over the control window (3 s), plus an integral term on the notes
  ahead of (or behind) the request over the whole output so far;
  time-shift logits move in proportion to the log of the shift's length (too dense: longer shifts);
- pitch classes: each note-on logit moves by log(requested share of its pitch class) (a prior that rules
  out classes asked to be absent) plus a feedback term, log(requested / measured share) over the 5 s window.
The measurements are kept per output inside the compiled loop.
"""

from __future__ import annotations

from typing import NamedTuple

from generation.engine.tf_runtime import tf
from generation.families.performance.config import DENSITY_WINDOW_S, PITCH_WINDOW_S, STEPS_PER_SECOND

DENSITY_GAIN = 6.0  # feedback on the windowed rate
DENSITY_TOTAL_GAIN = 3.0  # feedback on the notes ahead of the request over the whole output so far
SHIFT_GAIN = 0.5
PITCH_PRIOR = 1.0
PITCH_GAIN = 1.5
FLOOR = 0.01


class Steering(NamedTuple):
    """What the request asks for; a density <= 0 or an all-zero histogram means no steering for it."""

    density: tf.Tensor  # scalar, notes per second
    histogram: tf.Tensor  # [12], normalised


class Measured(NamedTuple):
    """Per-output running measurements: [B] and [B, 12]."""

    recent_notes: tf.Tensor  # exponentially decayed note-on count (time constant: density window)
    total_notes: tf.Tensor
    elapsed: tf.Tensor  # generated seconds
    recent_classes: tf.Tensor  # decayed note-on counts per pitch class (time constant: pitch window)


def start(batch: int, steering: Steering) -> Measured:
    """Measurements that begin on target, so the first notes are not a burst or a drought."""
    ones = tf.ones([batch])
    return Measured(ones * steering.density * DENSITY_WINDOW_S, tf.zeros([batch]), tf.zeros([batch]),
                    ones[:, None] * steering.histogram[None, :] * 2.0)


def update(m: Measured, note_on: tf.Tensor, pitch: tf.Tensor, shift_steps: tf.Tensor, generated: tf.Tensor
           ) -> Measured:
    """After one event per row: note_on [B] bool, pitch [B], shift_steps [B] (0 if not a shift),
    generated [B] bool (outside the primer and not finished)."""
    on = tf.cast(note_on & generated, tf.float32)
    dt = tf.cast(shift_steps, tf.float32) / STEPS_PER_SECOND * tf.cast(generated, tf.float32)
    recent = m.recent_notes * tf.exp(-dt / DENSITY_WINDOW_S) + on
    classes = (m.recent_classes * tf.exp(-dt / PITCH_WINDOW_S)[:, None]
               + on[:, None] * tf.one_hot(pitch % 12, 12))
    return Measured(recent, m.total_notes + on, m.elapsed + dt, classes)


def pitch_bias(m: Measured, steering: Steering) -> tf.Tensor:
    """[B, 128] bias for the note-on logits: a prior from the request plus feedback on the recent shares."""
    target = steering.histogram + FLOOR
    share = m.recent_classes / tf.maximum(tf.reduce_sum(m.recent_classes, axis=1, keepdims=True), 1e-6) + FLOOR
    per_class = PITCH_PRIOR * tf.math.log(target)[None, :] + PITCH_GAIN * tf.clip_by_value(
        tf.math.log(target[None, :] / share), -3.0, 3.0)
    return tf.tile(per_class, [1, 11])[:, :128]


def density_bias(m: Measured, steering: Steering) -> tf.Tensor:
    """[B]: positive when the output is sparser than requested."""
    target = tf.maximum(steering.density, 1e-3)
    rate = m.recent_notes / DENSITY_WINDOW_S
    # Integral term: notes ahead of (or behind) the request so far, in control windows' worth of notes;
    # it removes the steady error a proportional term alone leaves against the model's own preference.
    surplus = (m.total_notes - target * m.elapsed) / tf.maximum(target * DENSITY_WINDOW_S, 1.0)
    bias = -DENSITY_GAIN * tf.math.log((rate + 0.05) / target) - DENSITY_TOTAL_GAIN * surplus
    return tf.clip_by_value(bias, -20.0, 20.0)


def shift_bias(density: tf.Tensor, max_shift: int) -> tf.Tensor:
    """[B, max_shift]: too dense (density bias < 0) favours long time shifts, too sparse short ones."""
    length = tf.math.log(tf.range(1, max_shift + 1, dtype=tf.float32)) / tf.math.log(float(max_shift))
    return -SHIFT_GAIN * density[:, None] * length[None, :]
