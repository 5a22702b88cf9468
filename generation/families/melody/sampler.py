"""Melody RNN's step for the shared driver (engine/sampling.py): each step's input is built from the melody so far.

The lookback and KeyMelody inputs depend on the whole history (the events 1 and 2 bars back, the notes played,
the key they suggest), so the carry holds that history and a few running features beside the RNN state, and a
drawn "repeat" class is decoded into the event it repeats before the next step. The features are the same
numbers encoding.py computes (a test keeps them equal). Draws, temperature and Magenta's beam search are the
driver's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from generation.data.leadsheet import NO_EVENT, NOTE_OFF
from generation.engine.rnn import EventRnn, State
from generation.engine.sampling import SearchSettings, Stepper, sample
from generation.engine.tf_runtime import tf
from generation.families.melody.config import LOOKBACK_DISTANCES, STEPS_PER_BAR, MelodyConfig
from generation.families.melody.encoding import KEY_COUNTER_BITS, KEYS, LOOKBACK_COUNTER_BITS

FREE = -3  # in `forced`: the model chooses this step's event

# (current pitch or -1, attack, direction, last 3 distinct pitches (-1 empty, newest last), pitch-class counts)
KeyState = tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
Carry = tuple[State, tf.Tensor, KeyState]  # RNN state, events so far [B, T], KeyMelody running features


class MelodySampler(Stepper):
    """Runs `model` over melodies of `config`'s encoding, choosing or taking one event per step.

    Inputs: forced [T], the event to take at each position or FREE. Step s makes event s + 1 and scores it,
    forced or not, so a beam's totals include the primer as Magenta's do.
    """

    def __init__(self, model: EventRnn, config: MelodyConfig) -> None:
        super().__init__(name="melody_sampler")
        self.model = model
        self.config = config
        self.keys = tf.constant(KEYS)

    # --- the carry ------------------------------------------------------------------------------------------------
    def start(self, first: np.ndarray, total: int) -> Carry:
        """Rows that have played only their first event: first [B], room for `total` events."""
        batch = len(first)
        first_t = tf.constant(first, tf.int32)
        hist = tf.concat([first_t[:, None], tf.fill([batch, total - 1], NO_EVENT)], axis=1)
        key0: KeyState = (tf.fill([batch], -1), tf.zeros([batch], tf.bool), tf.zeros([batch]),
                          tf.fill([batch, 3], -1), tf.zeros([batch, 12]))
        return self.model.zero_state(batch), hist, self._update_key(key0, first_t)

    def _update_key(self, key: KeyState, e: tf.Tensor) -> KeyState:
        """The KeyMelody running features after event e [B] (Magenta's walk over the melody, one step)."""
        current, attack, direction, last3, counts = key
        note = e >= 0
        attack = tf.where(e == NO_EVENT, False, attack | note)  # a note off leaves it as it was
        current = tf.where(note, e, tf.where(e == NOTE_OFF, -1, current))
        newest = last3[:, 2]
        had = note & (newest >= 0)
        direction = tf.where(had & (e > newest), 1.0, tf.where(had & (e < newest), -1.0, direction))
        # Move e to the newest slot: unchanged if it is the newest, the middle one drops out if it was e, else
        # the oldest falls off the end.
        keep_oldest = tf.stack([last3[:, 0], newest, e], axis=1)
        drop_oldest = tf.stack([last3[:, 1], newest, e], axis=1)
        moved = tf.where((newest == e)[:, None], last3, tf.where((last3[:, 1] == e)[:, None], keep_oldest,
                                                                 drop_oldest))
        last3 = tf.where(note[:, None], moved, last3)
        counts += tf.one_hot(tf.math.floormod(e, 12), 12) * tf.cast(note, tf.float32)[:, None]
        return current, attack, direction, last3, counts

    # --- one step's input -----------------------------------------------------------------------------------------
    def _one_hot(self, e: tf.Tensor) -> tf.Tensor:
        c = self.config
        return tf.one_hot(tf.where(e >= 0, e - c.min_note + 2, e + 2), c.one_hot_size)

    def _counters(self, t: tf.Tensor, bits: int, batch: tf.Tensor) -> tf.Tensor:
        n = t + 1  # the step being predicted
        row = tf.where(tf.bitwise.bitwise_and(tf.bitwise.right_shift(n, tf.range(bits)), 1) > 0, 1.0, -1.0)
        return tf.tile(row[None, :], [batch, 1])

    def _best_keys(self, counts: tf.Tensor) -> tf.Tensor:
        fit = tf.matmul(counts, self.keys)
        return tf.cast(fit == tf.reduce_max(fit, axis=1, keepdims=True), tf.float32)

    def row(self, hist: tf.Tensor, key: KeyState, t: tf.Tensor) -> tf.Tensor:
        """The input rows [B, input_size] describing events 0..t (t a scalar)."""
        c = self.config
        batch = tf.shape(hist)[0]
        now = hist[:, t]
        repeats = []
        for distance in LOOKBACK_DISTANCES:
            back = tf.maximum(t - distance, 0)
            repeats.append(tf.cast((t >= distance) & (now == hist[:, back]), tf.float32))
        if c.encoding == "onehot":
            return self._one_hot(now)
        if c.encoding == "lookback":
            parts = [self._one_hot(now)]
            for distance in LOOKBACK_DISTANCES:
                back = t - distance + 1
                ahead = tf.where(back >= 0, hist[:, tf.maximum(back, 0)], NO_EVENT)
                parts.append(self._one_hot(ahead))
            parts.append(self._counters(t, LOOKBACK_COUNTER_BITS, batch))
            return tf.concat(parts + [tf.stack(repeats, axis=1)], axis=1)
        current, attack, direction, last3, counts = key
        playing = current >= 0
        recent = tf.reduce_sum(tf.one_hot(tf.math.floormod(last3, 12), 12)
                               * tf.cast(last3 >= 0, tf.float32)[:, :, None], axis=1)
        bar = tf.cast(tf.math.floormod(t + 1, STEPS_PER_BAR) == 0, tf.float32)
        return tf.concat([
            tf.one_hot(tf.where(playing, current - c.min_note, -1), c.note_range),
            tf.cast(tf.stack([playing, ~playing, attack], axis=1), tf.float32),
            direction[:, None],
            tf.stack(repeats, axis=1),
            self._counters(t, KEY_COUNTER_BITS, batch),
            tf.fill([batch, 1], bar),
            self._best_keys(counts),
            self._best_keys(recent),
        ], axis=1)

    # --- classes <-> events at step t + 1 ------------------------------------------------------------------------
    def _repeat_of(self, hist: tf.Tensor, p: tf.Tensor, distance: int) -> tf.Tensor:
        """The event `distance` steps before position p (a hold before the melody began)."""
        return tf.where(p >= distance, hist[:, tf.maximum(p - distance, 0)], NO_EVENT)

    def _decode(self, cls: tf.Tensor, hist: tf.Tensor, p: tf.Tensor) -> tf.Tensor:
        c = self.config
        if c.encoding == "key":
            base = tf.where(cls < c.note_range, cls + c.min_note, tf.where(cls == c.note_range, NO_EVENT, NOTE_OFF))
        else:
            base = tf.where(cls < 2, cls - 2, cls - 2 + c.min_note)
        for i, distance in enumerate(LOOKBACK_DISTANCES):
            if c.encoding != "onehot":
                base = tf.where(cls == c.one_hot_size + i, self._repeat_of(hist, p, distance), base)
        return base

    def _label(self, e: tf.Tensor, hist: tf.Tensor, p: tf.Tensor) -> tf.Tensor:
        """The class Magenta labels event e [B] with at position p (encoding.labels, in the graph)."""
        c = self.config
        if c.encoding == "key":
            label = tf.where(e >= 0, e - c.min_note, tf.where(e == NO_EVENT, c.note_range, c.note_range + 1))
        else:
            label = tf.where(e >= 0, e - c.min_note + 2, e + 2)
        if c.encoding == "onehot":
            return label
        for i, distance in enumerate(LOOKBACK_DISTANCES):  # the farther repeat wins, so it is applied last
            label = tf.where((p >= distance) & (e == hist[:, tf.maximum(p - distance, 0)]), c.one_hot_size + i,
                             label)
        early_hold = (p < LOOKBACK_DISTANCES[-1]) & (e == NO_EVENT)
        return tf.where(early_hold, c.one_hot_size + len(LOOKBACK_DISTANCES) - 1, label)

    # --- the step -------------------------------------------------------------------------------------------------
    def log_probs(self, carry: Any, inputs: Any, s: tf.Tensor, temperature: tf.Tensor) -> tuple[tf.Tensor, Any]:
        state, hist, key = carry
        logits, state = self.model.step(self.row(hist, key, s), state)
        return tf.nn.log_softmax(logits / temperature), state

    def take(self, carry: Any, pending: Any, inputs: Any, s: tf.Tensor, drawn: tf.Tensor,
             log_probs: tf.Tensor) -> tuple[Any, tf.Tensor, tf.Tensor]:
        _, hist, key = carry
        forced = inputs[s + 1]
        decoded = self._decode(drawn, hist, s + 1)
        take = tf.where(forced != FREE, tf.zeros_like(decoded) + forced, decoded)
        label = tf.where(forced != FREE, self._label(take, hist, s + 1), drawn)
        hist = tf.where(tf.range(tf.shape(hist)[1])[None, :] == s + 1, take[:, None], hist)
        if self.config.encoding == "key":
            key = self._update_key(key, take)
        return (pending, hist, key), take, tf.gather(log_probs, label, batch_dims=1)


def sample_melodies(sampler: MelodySampler, forced: np.ndarray, num_outputs: int, settings: SearchSettings,
                    seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Melodies [num_outputs, len(forced)] of events (forced[0], the primer's first event, must be given) and
    their log-probabilities. The leading given events are the primer: fed, not searched."""
    if forced[0] == FREE:
        raise ValueError("the first event must be given")
    free = np.flatnonzero(forced == FREE)
    first = np.full(num_outputs, forced[0], np.int32)
    rows, logp = sample(sampler, sampler.start(first, len(forced)), tf.constant(forced, tf.int32),
                        steps=len(forced) - 1, primer_steps=int(free[0]) - 1 if len(free) else len(forced) - 1,
                        settings=settings, seed=seed)
    return np.concatenate([first[:, None], rows], axis=1), logp


def log_likelihood(sampler: MelodySampler, events: np.ndarray) -> float:
    """ln p(events[1:] | events[0]) under the model at temperature 1 (the first event is not scored, as Magenta)."""
    _, logp = sample_melodies(sampler, events, 1, SearchSettings(), seed=0)
    return float(logp[0])
