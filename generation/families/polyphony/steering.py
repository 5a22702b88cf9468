"""Voice leading for the Polyphony RNN at sampling time: logit biases on each note event, inside the compiled loop.

A step's notes come highest first, so when a note is chosen every note above it in the step is known: the bias of
a candidate pitch looks at those (clashes, parallels) and at the key of everything played so far. The network and
its weights are untouched; `None` instead of a `VoiceLeading` samples exactly as Magenta does.

- key: the Krumhansl-Schmuckler key of the pitch-class durations so far (texture.estimate_key's, the primer's
  notes included); a new note's logit gains key_weight x that key's profile at its pitch class (centred, unit
  variance: about +2 for the tonic, -1 for pitch classes outside the scale). The music so far pulls later steps
  towards its own key, so the key no longer drifts away one chromatic note at a time.
- clashes: a minor 2nd, major 2nd, tritone or major 7th (mod 12, the report's dissonant pairs) with a note above
  in the same step: a new note under a new note loses `clash_struck`; a pair where one note is held (a new note
  under a held one, or a held note under a new one) loses `clash_held`, less, since a prepared suspension is
  Bach's and the chorales have them.
- parallels: a new note that with a note above in the step would make a parallel 5th/octave with the last chord
  struck (the report's rule: both voices move the same way and keep a perfect 5th or octave mod 12). Voices are
  matched by rank from the top, which is the report's rank from the bottom whenever both chords have as many
  notes (almost all chord changes of a four-part texture).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generation.engine.tf_runtime import tf

VOICES = 12  # notes per step that steering tracks, highest first (the sampler adds at most this many)
NO_NOTE = -1
DISSONANT = (1, 2, 6, 11)
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


@dataclass(frozen=True)
class VoiceLeading:
    """Bias weights, in nats on a note event's logit (after temperature); 0 turns a term off. Measured on the
    report's setting (seeds 1, 2, 3, 7; n=100 each): key_weight 0.5 keeps bars 1-4 and 5-8 in one key in
    0.72-0.84 of chorales (0.4: 0.62-0.73; JSB 0.55); the clash weights bring dissonant pairs to about 0.08
    (JSB 0.093); `parallel` alone takes parallels from about 6 to 0.3 per 100 chord changes."""

    key_weight: float = 0.5
    clash_struck: float = 2.0
    clash_held: float = 0.5
    parallel: float = 6.0


def _key_profiles() -> np.ndarray:
    """[24, 12]: C..B major then C..B minor Krumhansl-Kessler profiles, centred, unit variance."""
    p = np.array([np.roll(profile, tonic) for profile in (KK_MAJOR, KK_MINOR) for tonic in range(12)], np.float32)
    p -= p.mean(axis=1, keepdims=True)
    return p / p.std(axis=1, keepdims=True)


PITCH_CLASS = np.arange(128) % 12
PROFILES = _key_profiles()
PROFILES_BY_PITCH = PROFILES[:, PITCH_CLASS]  # [24, 128]
CLASS_PITCHES = (PITCH_CLASS[None, :] == np.arange(12)[:, None]).astype(np.float32)  # [12, 128]
CLASH = np.isin((np.arange(128)[:, None] - np.arange(128)[None, :]) % 12, DISSONANT).astype(np.float32)


def key_bias(history: tf.Tensor) -> tf.Tensor:
    """[B, 128]: the key-so-far profile at each pitch's class (0 while the durations cannot tell a key).

    history: [B, 12] pitch-class durations so far (steps x notes).
    """
    centred = history - tf.reduce_mean(history, axis=1, keepdims=True)
    # Pearson's r with each key up to a positive factor per row: the argmax is estimate_key's.
    key = tf.argmax(tf.matmul(centred, PROFILES, transpose_b=True), axis=1)
    known = tf.reduce_max(history, axis=1) > tf.reduce_min(history, axis=1)
    return tf.where(known[:, None], tf.gather(PROFILES_BY_PITCH, key), 0.0)


def clashes(now: tf.Tensor, struck: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """([B, 128] a candidate clashes with a note struck above it in the step, ... with a held note above).

    now: [B, 128] the step's notes so far (all above the candidates); struck: [B, 128] those struck in this step.
    """
    new = tf.cast(struck, tf.float32)
    held = tf.cast(now, tf.float32) - new
    return tf.minimum(tf.matmul(new, CLASH), 1.0), tf.minimum(tf.matmul(held, CLASH), 1.0)


def parallels(ref: tf.Tensor, above: tf.Tensor, rank: tf.Tensor) -> tf.Tensor:
    """[B, 128] parallel 5ths/octaves a candidate at `rank` (from the top) makes with the notes above it.

    ref: [B, VOICES] the last chord struck, highest first; above: this step's notes so far; rank: [B] how many.
    Upper voice i (last chord ref_i, now above_i) and the candidate's voice (ref_rank, now q) make one when
    ref_i - ref_rank is a 5th or octave mod 12, q is that far below above_i (mod 12), and both move one way.
    """
    lower_was = tf.gather(ref, tf.minimum(rank, VOICES - 1), batch_dims=1)  # the candidate's voice before
    upper = tf.range(VOICES)[None, :] < rank[:, None]
    before = tf.math.floormod(ref - lower_was[:, None], 12)
    perfect = upper & (ref >= 0) & (above >= 0) & ((before == 0) | (before == 7)) & (
        (rank < VOICES) & (lower_was >= 0))[:, None]
    ways = tf.cast(tf.stack([perfect & (above > ref), perfect & (above < ref)], axis=1), tf.float32)  # [B, 2, V]
    # The candidate's pitch class for each upper voice, summed per direction: [B, 2, 12] -> [B, 2, 128].
    classes = tf.matmul(ways, tf.one_hot(tf.math.floormod(above - before, 12), 12))
    by_pitch = tf.reshape(tf.matmul(tf.reshape(classes, [-1, 12]), CLASS_PITCHES), [-1, 2, 128])
    pitch = tf.range(128)[None, :]
    moves = tf.cast(tf.stack([pitch > lower_was[:, None], pitch < lower_was[:, None]], axis=1), tf.float32)
    return tf.reduce_sum(by_pitch * moves, axis=1)


def note_biases(leading: VoiceLeading, history: tf.Tensor, ref: tf.Tensor, above: tf.Tensor, now: tf.Tensor,
                struck: tf.Tensor, rank: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """([B, 128] bias of NEW_NOTE of each pitch, [B, 128] bias of CONTINUED_NOTE of each pitch)."""
    under_new, under_held = clashes(now, struck)
    new = -leading.clash_struck * under_new - leading.clash_held * under_held
    if leading.key_weight:  # terms weighted 0 are not traced at all
        new += leading.key_weight * key_bias(history)
    if leading.parallel:
        new -= leading.parallel * parallels(ref, above, rank)
    return new, -leading.clash_held * under_new


def record(seq: tf.Tensor, rank: tf.Tensor, pitch: tf.Tensor, is_note: tf.Tensor) -> tf.Tensor:
    """seq [B, VOICES] with `pitch` written at `rank` where a note was taken (ranks past VOICES are dropped)."""
    at = tf.one_hot(rank, VOICES, on_value=True, off_value=False) & is_note[:, None]
    return tf.where(at, pitch[:, None], seq)


def pitch_classes(notes: tf.Tensor) -> tf.Tensor:
    """[B, 128] bool -> [B, 12] notes per pitch class."""
    return tf.matmul(tf.cast(notes, tf.float32), CLASS_PITCHES, transpose_b=True)
