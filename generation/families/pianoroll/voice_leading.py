"""Voice leading inside the compiled sampling loop (TensorFlow): parallel 5ths/octaves and key fit of frames.

The rule is the quality report's (generation/quality/texture.py `parallel_perfects`), so what sampling avoids is
what the report counts: a chord change is a frame that strikes a new key (an onset) and differs from the last
frame that did; voices are the frame's keys by rank from the bottom; when both frames have as many keys every
pair of voices is checked, otherwise only the outer pair; a parallel is a pair whose voices both move the same
way and keep a perfect 5th or an octave/unison (mod 12) before and after. Only the lowest MAX_VOICES keys of a
frame are ranked (a chorale has four; a frame with more than 16 keys is no voice texture to lead).

Key fit: the key of the music so far is texture.estimate_key's (Krumhansl-Schmuckler on the pitch-class
durations), and a frame fits it by the mean of that key's profile over the frame's notes.
"""

from __future__ import annotations

from generation.engine.tf_runtime import tf
from generation.families.pianoroll.config import NUM_KEYS

MAX_VOICES = 16
_PAD = 1000  # the rank of a key a frame lacks: above every real key


def voices(frames: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Frames [N, 88] (0/1) -> (their keys by rank from the bottom [N, MAX_VOICES], padded; key count [N])."""
    on = frames > 0.5
    keys = tf.where(on, tf.range(NUM_KEYS)[None, :], _PAD)
    return tf.sort(keys, axis=1)[:, :MAX_VOICES], tf.reduce_sum(tf.cast(on, tf.int32), axis=1)


def _parallel(low0: tf.Tensor, high0: tf.Tensor, low1: tf.Tensor, high1: tf.Tensor) -> tf.Tensor:
    """Elementwise: both voices move the same way (neither stays) and keep a perfect 5th or octave (mod 12)."""
    same_way = (low1 - low0) * (high1 - high0) > 0
    before, after = tf.math.floormod(high0 - low0, 12), tf.math.floormod(high1 - low1, 12)
    return same_way & ((before == 0) | (before == 7)) & (after == before)


def parallel_count(ref: tf.Tensor, prev: tf.Tensor, frames: tf.Tensor) -> tf.Tensor:
    """Parallels [N] (int32) in the chord change to each of `frames` [N, 88].

    Args:
        ref: the last frame that struck a key (the last onset chord) [N, 88].
        prev: the frame just before [N, 88]; a frame adding no key to it is no chord change (0).
        frames: the candidates.
    """
    was, n_was = voices(ref)
    now, n_now = voices(frames)
    rank = tf.range(MAX_VOICES)
    # Voice i below voice j, both present (same key count: the pairs counted only where n_was == n_now).
    pair = (rank[:, None] < rank[None, :])[None] & (rank[None, None, :] < tf.minimum(n_was, MAX_VOICES)[:, None, None])
    every = _parallel(was[:, :, None], was[:, None, :], now[:, :, None], now[:, None, :]) & pair
    every_pair = tf.reduce_sum(tf.cast(every, tf.int32), axis=[1, 2])
    top_was = tf.gather(was, tf.clip_by_value(n_was - 1, 0, MAX_VOICES - 1), batch_dims=1)
    top_now = tf.gather(now, tf.clip_by_value(n_now - 1, 0, MAX_VOICES - 1), batch_dims=1)
    outer = tf.cast(_parallel(was[:, 0], top_was, now[:, 0], top_now), tf.int32)
    onset = tf.reduce_any((frames > 0.5) & (prev < 0.5), axis=1)
    change = onset & tf.reduce_any(tf.not_equal(frames, ref), axis=1) & (n_was >= 2) & (n_now >= 2)
    return tf.where(change, tf.where(n_was == n_now, every_pair, outer), 0)


def onset_ref(ref: tf.Tensor, prev: tf.Tensor, frame: tf.Tensor) -> tf.Tensor:
    """The last onset chord after `frame`: the frame itself when it strikes a key `prev` lacked, else `ref`."""
    onset = tf.reduce_any((frame > 0.5) & (prev < 0.5), axis=1, keepdims=True)
    return tf.where(onset, frame, ref)


# Krumhansl-Kessler key profiles (as generation/quality/texture.py), C major and C minor.
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


def _key_profiles() -> tf.Tensor:
    """[24, 12]: the 24 keys' profiles, each centred and scaled to unit length (for Pearson correlation)."""
    rows = []
    for profile in (KK_MAJOR, KK_MINOR):
        base = tf.constant(profile, tf.float32)
        for tonic in range(12):
            rows.append(tf.roll(base, tonic, axis=0))
    p = tf.stack(rows)
    p = p - tf.reduce_mean(p, axis=1, keepdims=True)
    return p / tf.norm(p, axis=1, keepdims=True)


def pitch_classes(frames: tf.Tensor) -> tf.Tensor:
    """Frames [N, 88] -> keys sounding per pitch class [N, 12] (key 0 is A0: pitch class 9)."""
    fold = tf.one_hot((tf.range(NUM_KEYS) + 21) % 12, 12)
    return tf.matmul(frames, fold)


def key_fit(history: tf.Tensor, frames: tf.Tensor) -> tf.Tensor:
    """[N]: how well each frame's keys fit the key of the music so far (mean of the key's centred unit profile
    over the frame's keys; 0 for an empty frame or before any key can be told).

    history: pitch-class durations so far [N, 12] (steps x keys), the histogram texture.estimate_key reads.
    """
    profiles = _key_profiles()
    centred = history - tf.reduce_mean(history, axis=1, keepdims=True)
    known = tf.reduce_max(history, axis=1) > tf.reduce_min(history, axis=1)
    key = tf.argmax(tf.matmul(centred, profiles, transpose_b=True), axis=1)
    pcs = pitch_classes(frames)
    fit = tf.reduce_sum(pcs * tf.gather(profiles, key), axis=1) / tf.maximum(tf.reduce_sum(pcs, axis=1), 1.0)
    return tf.where(known, fit * 12 ** 0.5, 0.0)  # x sqrt(12): a profile's values have unit variance
