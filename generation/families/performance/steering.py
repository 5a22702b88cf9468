"""Sampling-time steering: bias the logits (never the network's) toward the request, a key, and what a pianist holds.

Magenta's conditioning inputs alone move a small model's density and pitch classes only loosely, so on top
of them we add, at every event, a bias to the logits:
- density: note-on (and velocity) logits move by -gain x log(measured / requested notes per second), where
  "measured" is an exponential average over the control window (3 s), plus an integral term on the notes
  ahead of (or behind) the request over the whole output so far;
  time-shift logits move in proportion to the log of the shift's length (too dense: longer shifts);
- pitch classes: each note-on logit moves by log(requested share of its pitch class) (a prior that rules
  out classes asked to be absent) plus a feedback term, log(requested / measured share) over the 5 s window.
- key (no pitch request, so that the output is tonal): per output a Krumhansl-Kessler key profile (the
  primer's key, else one drawn from the seed), sharpened (key_target), gives the same two terms, the feedback
  on the sounding time of each pitch class over 10 s (what the ear, and Krumhansl's measure, weigh); notes
  foreign to the key are also let go sooner;
- note-offs (always, steered or not): see release_logits.
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
KEY_SHARPNESS = 3.0
KEY_PRIOR = 0.5
KEY_GAIN = 1.0
KEY_WINDOW_S = 10.0
KEY_RELEASE = 0.5  # out-of-key notes are let go sooner: note-off logit - KEY_RELEASE x log(12 x profile share)
# Note-offs: a note held long, or among more notes than a pianist holds (ASAP with the pedal: 4.5 sound at
# once on average), is let go sooner; one held MAX_NOTE_STEPS (Magenta's 5 s) is let go at the next event.
RELEASE_AGE_GAIN = 0.3  # note-off logit per second held
HELD_NOTES = 6.0
CROWD_GAIN = 0.5  # note-off logit per note sounding beyond HELD_NOTES
FORCED = 1e4


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
    key: tf.Tensor  # [B, 12] the pitch-class shares each output aims at (key_target; zeros: none). In the
    # carry, not the request, so that beam search keeps it with its row.
    key_classes: tf.Tensor  # [B, 12] decayed sounding time per pitch class (time constant: KEY_WINDOW_S), what
    # a listener's (and Krumhansl's) sense of key weighs


def start(batch: int, steering: Steering, key: tf.Tensor | None = None) -> Measured:
    """Measurements that begin on target, so the first notes are not a burst or a drought."""
    ones = tf.ones([batch])
    key = tf.zeros([batch, 12]) if key is None else key_target(tf.convert_to_tensor(key, tf.float32))
    begin = tf.where(tf.reduce_sum(steering.histogram) > 0, ones[:, None] * steering.histogram[None, :], key)
    return Measured(ones * steering.density * DENSITY_WINDOW_S, tf.zeros([batch]), tf.zeros([batch]), begin * 2.0,
                    key, key)


def key_target(profile: tf.Tensor) -> tf.Tensor:
    """[B, 12] the pitch-class shares to aim at for key profiles [B, 12]: the profile sharpened.

    Krumhansl-Kessler profiles are ratings, flatter than what tonal music plays (ASAP: most of the sounding time
    on the seven notes of the scale); raised to KEY_SHARPNESS they put about 0.83 (2) to 0.9 (3) of it there.
    """
    sharp = profile ** KEY_SHARPNESS
    return sharp / tf.maximum(tf.reduce_sum(sharp, axis=1, keepdims=True), 1e-9)


def update(m: Measured, note_on: tf.Tensor, pitch: tf.Tensor, shift_steps: tf.Tensor, generated: tf.Tensor,
           sounding: tf.Tensor) -> Measured:
    """After one event per row: note_on [B] bool, pitch [B], shift_steps [B] (0 if not a shift),
    generated [B] bool (outside the primer and not finished), sounding [B, 128] bool (during the shift)."""
    on = tf.cast(note_on & generated, tf.float32)
    dt = tf.cast(shift_steps, tf.float32) / STEPS_PER_SECOND * tf.cast(generated, tf.float32)
    recent = m.recent_notes * tf.exp(-dt / DENSITY_WINDOW_S) + on
    classes = (m.recent_classes * tf.exp(-dt / PITCH_WINDOW_S)[:, None]
               + on[:, None] * tf.one_hot(pitch % 12, 12))
    per_class = tf.reduce_sum(tf.reshape(tf.pad(tf.cast(sounding, tf.float32), [[0, 0], [0, 4]]), [-1, 11, 12]), 1)
    held = m.key_classes * tf.exp(-dt / KEY_WINDOW_S)[:, None] + dt[:, None] * per_class
    return Measured(recent, m.total_notes + on, m.elapsed + dt, classes, m.key, held)


def pitch_bias(m: Measured, steering: Steering) -> tf.Tensor:
    """[B, 128] bias for the note-on logits: a prior from the request plus feedback on the recent shares."""
    target = steering.histogram + FLOOR
    share = m.recent_classes / tf.maximum(tf.reduce_sum(m.recent_classes, axis=1, keepdims=True), 1e-6) + FLOOR
    per_class = PITCH_PRIOR * tf.math.log(target)[None, :] + PITCH_GAIN * tf.clip_by_value(
        tf.math.log(target[None, :] / share), -3.0, 3.0)
    return tf.tile(per_class, [1, 11])[:, :128]


def key_bias(m: Measured) -> tf.Tensor:
    """[B, 128] bias for the note-on logits toward each output's key: a prior (relative to uniform, so the
    density is left alone) plus feedback on the recent sounding time of each pitch class."""
    target = m.key + FLOOR
    share = m.key_classes / tf.maximum(tf.reduce_sum(m.key_classes, axis=1, keepdims=True), 1e-6) + FLOOR
    per_class = KEY_PRIOR * tf.math.log(target * 12.0) + KEY_GAIN * tf.clip_by_value(tf.math.log(target / share),
                                                                                     -2.0, 2.0)
    return tf.tile(per_class, [1, 11])[:, :128]


def key_release_bias(m: Measured) -> tf.Tensor:
    """[B, 128] bias for the note-off logits: notes foreign to the output's key are let go sooner (passing
    notes short, the key's own notes held), so that what sounds longest is in the key."""
    return tf.tile(-KEY_RELEASE * tf.math.log(m.key * 12.0 + FLOOR), [1, 11])[:, :128]


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


def release_logits(off: tf.Tensor, onset: tf.Tensor, now: tf.Tensor, max_steps: int) -> tf.Tensor:
    """[B, 128] note-off logits that only release sounding notes: off [B, 128] the model's (scaled), onset
    [B, 128] each sounding pitch's note-on step (-1: silent), now [B] the current step.

    The model's whole note-off probability goes to the sounding notes, in proportion to its preference among
    them. Our small models put most of it on pitches that are not sounding (58 % with 25 notes sounding, 92 %
    with 4); dropping that share, as a mask does, made note-offs half as frequent as note-ons, and notes piled
    up for 10-20 s. On top, a note is let go sooner the longer it is held and the more notes sound with it,
    and surely once held `max_steps`.
    """
    sounding = onset >= 0
    masked = tf.where(sounding, off, -1e9)
    moved = masked + tf.reduce_logsumexp(off, 1, keepdims=True) - tf.reduce_logsumexp(masked, 1, keepdims=True)
    age = tf.cast(now, tf.float32)[:, None] - onset
    crowd = tf.nn.relu(tf.reduce_sum(tf.cast(sounding, tf.float32), 1, keepdims=True) - HELD_NOTES)
    bias = RELEASE_AGE_GAIN * age / STEPS_PER_SECOND + CROWD_GAIN * crowd
    return tf.where(sounding, tf.where(age >= max_steps, FORCED, moved + bias), -1e9)
