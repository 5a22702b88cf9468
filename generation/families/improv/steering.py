"""Note-density steering for the Improv RNN: keep each melody's notes per bar near a target while sampling.

Why: the model takes its density from the melody it has played, not from the chords. Teacher-forced on held-out
lead sheets it expects each corpus's own density (OpenEWLD 3.49 note-ons per bar, actual 3.48), and primed with
two human bars it goes on near it (3.35, human 3.61); but from a one-note primer it settles on the folk tunes'
busy rhythm (about 5 notes per bar) over songbook progressions too, where human melodies play 3.6. So at every
free step the note-on logits (all pitches alike: which pitch, hence the chord tones, stays the model's choice)
move by
    -GAIN x log(recent rate / target) - TOTAL_GAIN x (notes ahead of the target so far, in bars' worth),
the recent rate an exponential average over WINDOW_STEPS; no-event (hold) and note-off keep their logits. The
bias is weighted by the note's place in the 4/4 bar (16-step bars from step 0): a melody is thinned on its
weak 16ths first and its downbeats last, and filled on weak steps only, never by forcing a note on beat 1 or 3
(a uniform weight cost about 0.01 of the chord-tone ratio; this one costs none measurable).

The default target is the human figure of the lead sheets the progression resembles (`default_notes_per_bar`),
each output's drawn around it with the human pieces' spread (`output_targets`): one output a busy tune, the next
a slow one, as lead sheets are, rather than every output at the same density.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generation.engine.sampling import OneHotStepper, SearchSettings, sample
from generation.engine.tf_runtime import tf
from generation.music.chords import Chord

STEPS_PER_BAR = 16  # 16th notes in a 4/4 bar
# Human notes per bar, from the improv trainer's training split (improv/dataset.is_validation false) of
# Nottingham and OpenEWLD, whole 4/4 pieces, mean over pieces: those whose chords are all major or minor triads
# or dominant 7ths ("folk": 467 Nottingham + 86 OpenEWLD pieces) play 5.09 +- 0.07; those with any other chord
# (maj7, m7, 6, 9, m7b5, dim, sus...: "songbook": 253 OpenEWLD + 21 Nottingham) play 3.30 +- 0.06. Piece to
# piece, log(notes per bar) varies with a standard deviation of 0.37 (folk) and 0.30 (songbook).
FOLK_NOTES_PER_BAR = 5.1
SONGBOOK_NOTES_PER_BAR = 3.3
HUMAN_LOG_SPREAD = 0.3
_FOLK_SHAPES = (frozenset({0, 4, 7}), frozenset({0, 3, 7}), frozenset({0, 4, 7, 10}))

GAIN = 1.0  # note-on logit per unit of log(recent rate / target)
TOTAL_GAIN = 1.0  # note-on logit per bar's worth of notes ahead of the target over the whole output so far
WINDOW_STEPS = 32.0  # time constant of the recent rate: two bars
MAX_BIAS = 6.0


def _by_position(downbeat: float, beat: float, eighth: float, sixteenth: float) -> np.ndarray:
    """A weight per 16th of a 4/4 bar: beats 1 and 3, beats 2 and 4, the other 8ths, the other 16ths."""
    w = np.full(STEPS_PER_BAR, sixteenth, np.float32)
    w[::2], w[::4], w[::8] = eighth, beat, downbeat
    return w


THIN_WEIGHT = _by_position(0.25, 0.5, 1.0, 1.0)  # share of a negative bias (too many notes) each step takes
FILL_WEIGHT = _by_position(0.0, 0.5, 1.0, 1.0)  # share of a positive bias (too few)


def is_songbook(chords: Sequence[Chord]) -> bool:
    """Whether any chord is beyond the folk tunes' major/minor triads and dominant 7ths (slash basses aside)."""
    for chord in set(chords):
        if chord.is_no_chord or chord.root is None:
            continue
        if frozenset((p - chord.root) % 12 for p in chord.pitch_classes) not in _FOLK_SHAPES:
            return True
    return False


def default_notes_per_bar(chords: Sequence[Chord]) -> float:
    """The human notes per bar of lead sheets with chords like these (see FOLK_NOTES_PER_BAR)."""
    return SONGBOOK_NOTES_PER_BAR if is_songbook(chords) else FOLK_NOTES_PER_BAR


def output_targets(chords: Sequence[Chord], num_outputs: int, seed: int, notes_per_bar: float | None,
                   low: float, high: float) -> np.ndarray:
    """[num_outputs] notes per bar to steer each output toward: the requested figure for all, or by default
    draws (seeded, the same for an output whatever the batch size) whose mean is the human figure for these
    chords and whose log-spread is HUMAN_LOG_SPREAD, kept within [low, high]."""
    if notes_per_bar is not None:
        return np.full(num_outputs, notes_per_bar, np.float32)
    z = np.random.default_rng([seed, 11]).standard_normal(num_outputs)
    drawn = default_notes_per_bar(chords) * np.exp(HUMAN_LOG_SPREAD * z - HUMAN_LOG_SPREAD**2 / 2)
    return np.clip(drawn, low, high).astype(np.float32)


def density_bias(recent: tf.Tensor, notes: tf.Tensor, elapsed: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """[B] note-on logit bias: positive when a row plays sparser than `target` notes per bar.

    recent: decayed note-on count (time constant WINDOW_STEPS); notes / elapsed: note-ons and steps generated;
    target [B].
    """
    rate = recent / WINDOW_STEPS * STEPS_PER_BAR
    surplus = (notes - target * elapsed / STEPS_PER_BAR) / target  # bars' worth of notes ahead
    bias = -GAIN * tf.math.log((rate + 0.1) / (target + 0.1)) - TOTAL_GAIN * surplus
    return tf.clip_by_value(bias, -MAX_BIAS, MAX_BIAS)


class DensityStepper(OneHotStepper):
    """OneHotStepper with the density steer. Carry: (RNN state, last class [B], target notes per bar [B],
    recent [B], notes [B], elapsed [B]), the target in the carry so that a beam's rows keep their output's;
    inputs: (controls [T + 1, C], forced [T]). Forced steps (the primer) are fed as they are and not counted;
    the draw is scored under the steered distribution (for beam search)."""

    def log_probs(self, carry: Any, inputs: Any, s: tf.Tensor, temperature: tf.Tensor) -> tuple[tf.Tensor, Any]:
        state, last, target, recent, notes, elapsed = carry
        logits, state = self.model.step(self.model_input(last, inputs[0], s), state)
        bias = density_bias(recent, notes, elapsed, target)
        position = (s + 1) % STEPS_PER_BAR  # of the step being drawn
        bias = bias * tf.where(bias < 0, tf.gather(THIN_WEIGHT, position), tf.gather(FILL_WEIGHT, position))
        # classes 0 (no event) and 1 (note off) keep their logits; every note-on moves alike
        note_on = tf.constant([0.0, 0.0] + [1.0] * (self.num_classes - 2))
        return tf.nn.log_softmax(logits / temperature + bias[:, None] * note_on), state

    def take(self, carry: Any, pending: Any, inputs: Any, s: tf.Tensor, drawn: tf.Tensor,
             log_probs: tf.Tensor) -> tuple[Any, tf.Tensor, tf.Tensor]:
        _, _, target, recent, notes, elapsed = carry
        _, forced = inputs
        free = forced[s + 1] < 0
        take = tf.where(free, drawn, tf.zeros_like(drawn) + forced[s + 1])
        on = tf.cast((take >= 2) & free, tf.float32)
        decay = tf.where(free, float(np.exp(-1.0 / WINDOW_STEPS)), 1.0)
        carry = (pending, take, target, recent * decay + on, notes + on, elapsed + tf.cast(free, tf.float32))
        return carry, take, tf.gather(log_probs, take, batch_dims=1)

    def sample_steered(self, controls: np.ndarray, forced: np.ndarray, targets: np.ndarray,
                       settings: SearchSettings, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """As OneHotStepper.sample, output i steered toward targets[i] notes per bar."""
        num_outputs = len(targets)
        if forced[0] < 0:
            raise ValueError("the first event must be given")
        free = np.flatnonzero(forced < 0)
        first = np.full(num_outputs, forced[0], np.int32)
        # The recent rate starts on target, so the first bar is neither pushed nor held back.
        target = tf.constant(targets, tf.float32)
        zeros = tf.zeros([num_outputs])
        carry = (self.model.zero_state(num_outputs), tf.constant(first), target,
                 target * (WINDOW_STEPS / STEPS_PER_BAR), zeros, zeros)
        inputs = (tf.constant(controls, tf.float32), tf.constant(forced, tf.int32))
        rows, logp = sample(self, carry, inputs, steps=len(forced) - 1,
                            primer_steps=int(free[0]) - 1 if len(free) else len(forced) - 1,
                            settings=settings, seed=seed)
        return np.concatenate([first[:, None], rows], axis=1), logp
