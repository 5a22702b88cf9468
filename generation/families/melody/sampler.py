"""Melody RNN's step for the shared driver (engine/sampling.py): each step's input is built from the melody so far.

The lookback and KeyMelody inputs depend on the history (the events 1 and 2 bars back, the notes played, the
key they suggest), so the carry holds the last 2 bars of events and a few running features beside the RNN
state, and a drawn "repeat" class is decoded into the event it repeats before the next step. The features are the same
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
from generation.families.melody.encoding import (
    KEY_COUNTER_BITS,
    KEYS,
    LOOKBACK_COUNTER_BITS,
    _counters,
    base_class,
    class_to_event,
    one_hot_index,
)

FREE = -3  # in `forced`: the model chooses this step's event
WINDOW = max(LOOKBACK_DISTANCES) + 1  # the events the features look at: t - 32 .. t (column WINDOW - 1 - k: t - k)

# (current pitch or -1, attack, direction, last 3 distinct pitches (-1 empty, newest last), pitch-class counts)
KeyState = tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
Carry = tuple[State, tf.Tensor, KeyState]  # RNN state, the last WINDOW events [B, WINDOW], KeyMelody features


class MelodySampler(Stepper):
    """Runs `model` over melodies of `config`'s encoding, choosing or taking one event per step.

    Inputs: forced [T], the event to take at each position or FREE. Step s makes event s + 1 and scores it,
    forced or not, so a beam's totals include the primer as Magenta's do.

    The loop runs a few hundred small ops per step, each costing about a microsecond whatever its size, so the
    features are built with as few as give the same numbers: a window of the last events (holds before the
    melody began) instead of the whole history, one gather for the events 1 and 2 bars back, tables for the
    class <-> event maps and the step counters.
    """

    def __init__(self, model: EventRnn, config: MelodyConfig) -> None:
        super().__init__(name="melody_sampler")
        self.model = model
        self.config = config
        self.keys = tf.constant(KEYS)
        # Tables indexed by event + 2 (NO_EVENT first); events outside the range never reach them.
        events = [e if e < 0 or config.min_note <= e < config.max_note else None for e in range(NO_EVENT, 128)]
        self.hot_index = tf.constant([0 if e is None else one_hot_index(e, config) for e in events])
        self.class_of = tf.constant([0 if e is None else base_class(e, config) for e in events])
        # The event of each class that is not a repeat (a repeat's entry is replaced in `take`).
        self.event_of = tf.constant([class_to_event(c, [], config) if c < config.one_hot_size else NO_EVENT
                                     for c in range(config.num_classes)], tf.int32)
        # Row t's step counters (of step t + 1) and, for KeyMelody, its bar-end flag: they repeat every `period`.
        bits = KEY_COUNTER_BITS if config.encoding == "key" else LOOKBACK_COUNTER_BITS
        self.period = 2**bits
        n = np.arange(1, self.period + 1)
        clock = _counters(n, bits)
        if config.encoding == "key":
            clock = np.concatenate([clock, (n % STEPS_PER_BAR == 0)[:, None]], axis=1)
        self.clock = tf.constant(clock, tf.float32)
        distances = np.array(LOOKBACK_DISTANCES)
        self.distances = tf.constant(distances, tf.int32)
        self.seen = tf.constant(np.concatenate([[WINDOW - 1], WINDOW - distances]), tf.int32)  # now, then p - d
        self.back = tf.constant(WINDOW - 1 - distances, tf.int32)  # t - d

    # --- the carry ------------------------------------------------------------------------------------------------
    def start(self, first: np.ndarray) -> Carry:
        """Rows that have played only their first event, first [B] (made in numpy: eager ops cost ~20 us each)."""
        batch = len(first)
        window = np.full((batch, WINDOW), NO_EVENT, np.int32)
        window[:, -1] = first
        note = first >= 0
        last3 = np.full((batch, 3), -1, np.int32)
        last3[:, 2] = np.where(note, first, -1)
        counts = np.zeros((batch, 12), np.float32)
        counts[note, first[note] % 12] = 1.0
        key0 = (np.where(note, first, -1).astype(np.int32), note, np.zeros(batch, np.float32), last3, counts)
        return self.model.zero_state(batch), tf.constant(window), tuple(tf.constant(v) for v in key0)

    def update_key(self, key: KeyState, e: tf.Tensor) -> KeyState:
        """The KeyMelody running features after event e [B] (Magenta's walk over the melody, one step)."""
        current, attack, direction, last3, counts = key
        note = e >= 0
        attack = tf.where(e == NO_EVENT, False, attack | note)  # a note off leaves it as it was
        current = tf.where(note, e, tf.where(e == NOTE_OFF, -1, current))
        newest, middle = last3[:, 2], last3[:, 1]
        had = note & (newest >= 0)
        direction = tf.where(had & (e > newest), 1.0, tf.where(had & (e < newest), -1.0, direction))
        # A new pitch goes to the newest slot; the oldest falls off unless the middle one was this pitch.
        moved = tf.stack([tf.where(middle == e, last3[:, 0], middle), newest, e], axis=1)
        last3 = tf.where((note & (newest != e))[:, None], moved, last3)
        counts += tf.one_hot(tf.where(note, tf.math.floormod(e, 12), -1), 12)
        return current, attack, direction, last3, counts

    # --- one step's input -----------------------------------------------------------------------------------------
    def _best_keys(self, counts: tf.Tensor) -> tf.Tensor:
        """[B, k, 12] pitch-class counts -> [B, k * 12]: 1 for each major key holding the most of them."""
        fit = tf.matmul(counts, self.keys)  # whole numbers: exact in any order
        return tf.reshape(tf.cast(fit == tf.reduce_max(fit, axis=2, keepdims=True), tf.float32),
                          [-1, counts.shape[1] * 12])

    def row(self, window: tf.Tensor, key: KeyState, t: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The input rows [B, input_size] describing events 0..t (t a scalar; `window` ends with event t), and the
        events a repeat class would play at t + 1 [B, lookbacks] (holds before the melody began)."""
        c = self.config
        seen = tf.gather(window, self.seen, axis=1)  # [B, 1 + lookbacks]: event t, then t + 1 - d
        ahead = seen[:, 1:]
        if c.encoding == "onehot":
            return tf.one_hot(tf.gather(self.hot_index, seen[:, 0] + 2), c.one_hot_size), ahead
        repeats = tf.cast((t >= self.distances) & (window[:, -1:] == tf.gather(window, self.back, axis=1)),
                          tf.float32)
        clock = tf.gather(self.clock, tf.fill(tf.shape(window)[:1], t % self.period))
        if c.encoding == "lookback":
            hot = tf.one_hot(tf.gather(self.hot_index, seen + 2), c.one_hot_size)
            return tf.concat([tf.reshape(hot, [-1, seen.shape[1] * c.one_hot_size]), clock, repeats], axis=1), ahead
        current, attack, direction, last3, counts = key
        playing = current >= 0
        recent = tf.reduce_sum(tf.one_hot(tf.where(last3 >= 0, tf.math.floormod(last3, 12), -1), 12), axis=1)
        return tf.concat([
            tf.one_hot(current - c.min_note, c.note_range),  # a silent row's -1 - min_note gives no one
            tf.cast(tf.stack([playing, ~playing, attack], axis=1), tf.float32),
            direction[:, None],
            repeats,
            clock,
            self._best_keys(tf.stack([counts, recent], axis=1)),
        ], axis=1), ahead

    # --- the step -------------------------------------------------------------------------------------------------
    def log_probs(self, carry: Any, inputs: Any, s: tf.Tensor, temperature: tf.Tensor) -> tuple[tf.Tensor, Any]:
        state, window, key = carry
        x, ahead = self.row(window, key, s)
        logits, state = self.model.step(x, state)
        return tf.nn.log_softmax(logits / temperature), (state, ahead)

    def take(self, carry: Any, pending: Any, inputs: Any, s: tf.Tensor, drawn: tf.Tensor,
             log_probs: tf.Tensor) -> tuple[Any, tf.Tensor, tf.Tensor]:
        state, ahead = pending
        _, window, key = carry
        c = self.config
        forced = tf.gather(inputs, s + 1)
        given = forced != FREE
        decoded = tf.gather(self.event_of, drawn)
        repeats = [ahead[:, i] for i in range(len(LOOKBACK_DISTANCES))] if c.encoding != "onehot" else []
        for i, earlier in enumerate(repeats):
            decoded = tf.where(drawn == c.one_hot_size + i, earlier, decoded)
        take = tf.where(given, forced, decoded)
        # Magenta's label of a forced event: the farthest repeat it equals wins; `ahead` holds a hold before the
        # melody began, which makes a hold in the first 2 bars "repeat 2 bars", as Magenta labels it.
        label = tf.gather(self.class_of, take + 2)
        for i, earlier in enumerate(repeats):
            label = tf.where(take == earlier, c.one_hot_size + i, label)
        label = tf.where(given, label, drawn)
        window = tf.concat([window[:, 1:], take[:, None]], axis=1)
        if c.encoding == "key":
            key = self.update_key(key, take)
        return (state, window, key), take, tf.gather(log_probs, label, batch_dims=1)


def sample_melodies(sampler: MelodySampler, forced: np.ndarray, num_outputs: int, settings: SearchSettings,
                    seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Melodies [num_outputs, len(forced)] of events (forced[0], the primer's first event, must be given) and
    their log-probabilities. The leading given events are the primer: fed, not searched."""
    if forced[0] == FREE:
        raise ValueError("the first event must be given")
    free = np.flatnonzero(forced == FREE)
    first = np.full(num_outputs, forced[0], np.int32)
    rows, logp = sample(sampler, sampler.start(first), tf.constant(forced, tf.int32),
                        steps=len(forced) - 1, primer_steps=int(free[0]) - 1 if len(free) else len(forced) - 1,
                        settings=settings, seed=seed)
    return np.concatenate([first[:, None], rows], axis=1), logp


def log_likelihood(sampler: MelodySampler, events: np.ndarray) -> float:
    """ln p(events[1:] | events[0]) under the model at temperature 1 (the first event is not scored, as Magenta)."""
    _, logp = sample_melodies(sampler, events, 1, SearchSettings(), seed=0)
    return float(logp[0])
