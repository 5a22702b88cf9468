"""Train an RNN-NADE: Adam on the exact teacher-forced NLL, transposition augmentation, early stopping on validation."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from generation.models.pianoroll.config import NUM_KEYS
from generation.models.pianoroll.dataset import Roll, batch, eval_picks, shifts_in_range
from generation.models.pianoroll.network import RnnNade
from generation.models.tf_runtime import tf

log = logging.getLogger(__name__)
FRAMES = tf.TensorSpec([None, None, NUM_KEYS], tf.float32)
MASK = tf.TensorSpec([None, None], tf.float32)


@dataclass(frozen=True)
class TrainSettings:
    """How a run trains.

    Attributes:
        steps: most Adam updates (the run may stop earlier, see patience).
        window: frames per training sequence; pieces shorter than this are taken whole from their start.
        dropout: rate on every LSTM layer's output while training.
        max_shift: transposition augmentation, +-semitones (only shifts that keep the piece on 88 keys).
        patience: stop after this many evaluations without a better validation NLL (0 = never).
    """

    steps: int = 3000
    batch_size: int = 32
    window: int = 128
    learning_rate: float = 0.002
    final_learning_rate: float = 0.0002
    dropout: float = 0.3
    clip_norm: float = 5.0
    max_shift: int = 6
    eval_every: int = 100
    patience: int = 0
    max_minutes: float = 0.0  # stop after this much training time (0 = no limit)
    seed: int = 1


@dataclass
class TrainResult:
    model: RnnNade  # holding the best weights by validation NLL
    best_step: int
    seconds: float
    history: list[dict[str, float]]  # one row per evaluation: step, train_nll, valid_nll, seconds


def train(layer_sizes: Sequence[int], nade_hidden: int, train_rolls: Sequence[Roll], valid_rolls: Sequence[Roll],
          settings: TrainSettings, eval_window: int = 4096, eval_chunks: int = 10**9,
          on_checkpoint: Callable[[RnnNade, list[dict[str, float]]], None] | None = None,
          init_from: dict[str, np.ndarray] | None = None) -> TrainResult:
    """Train from scratch (or carry on from `init_from` weights of the same sizes).

    The returned model holds the weights of the best validation evaluation.
    """
    rng = np.random.default_rng(settings.seed)
    model = RnnNade(layer_sizes, nade_hidden, weights=init_from, seed=settings.seed)
    variables = list(model.vars.values())
    lr = tf.Variable(settings.learning_rate, trainable=False, dtype=tf.float32)
    optimizer = tf.keras.optimizers.Adam(learning_rate=lambda: lr)

    @tf.function(input_signature=[FRAMES, MASK])
    def train_step(frames: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            b_enc, b_dec = model.sequence_biases(frames, settings.dropout)
            nll = -model.frame_log_prob(frames, b_enc, b_dec)
            loss = tf.reduce_sum(nll * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
        grads = tape.gradient(loss, variables)
        grads, _ = tf.clip_by_global_norm(grads, settings.clip_norm)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss

    shifts = [shifts_in_range(r, settings.max_shift) for r in train_rolls]
    weights = np.array([len(r) for r in train_rolls], np.float64)  # pick pieces by their frame count
    weights /= weights.sum()
    whole_pieces = settings.window >= max(len(r) for r in train_rolls)
    by_length = [int(i) for i in np.argsort([len(r) for r in train_rolls], kind="stable")]
    valid = eval_picks(valid_rolls, eval_window, eval_chunks)
    history: list[dict[str, float]] = []
    best = (math.inf, 0, model.numpy_weights())
    recent: list[float] = []
    start = time.monotonic()
    for step in range(1, settings.steps + 1):
        frac = (step - 1) / max(1, settings.steps - 1)  # cosine decay to final_learning_rate
        lr.assign(settings.final_learning_rate + 0.5 * (settings.learning_rate - settings.final_learning_rate)
                  * (1 + math.cos(math.pi * frac)))
        picks = []
        if whole_pieces:  # pieces of similar length together: little padding
            anchor = int(rng.integers(0, len(by_length)))
            chosen = [by_length[(anchor + k) % len(by_length)] for k in range(settings.batch_size)]
        else:
            chosen = list(rng.choice(len(train_rolls), settings.batch_size, p=weights))
        for i in chosen:
            room = len(train_rolls[i]) - settings.window
            picks.append((int(i), int(rng.integers(0, room + 1)) if room > 0 else 0, int(rng.choice(shifts[i]))))
        frames, mask = batch(train_rolls, picks, settings.window)
        recent.append(float(train_step(tf.constant(frames), tf.constant(mask))))
        if step % settings.eval_every == 0 or step == settings.steps:
            nll = evaluate(model, valid_rolls, valid, eval_window)
            row = {"step": step, "train_nll": float(np.mean(recent)), "valid_nll": nll,
                   "seconds": time.monotonic() - start}
            history.append(row)
            recent = []
            if nll < best[0]:
                best = (nll, step, model.numpy_weights())
            log.info("step %d: train %.4f, valid %.4f nats/frame (best %.4f at %d) %.0f s", step,
                     row["train_nll"], nll, best[0], best[1], row["seconds"])
            if on_checkpoint:
                on_checkpoint(_with(model, best[2]), history)
            if settings.patience and len(history) - 1 - [h["step"] for h in history].index(best[1]) \
                    >= settings.patience:
                log.info("no better validation NLL in %d evaluations: stopping", settings.patience)
                break
            if settings.max_minutes and row["seconds"] > 60 * settings.max_minutes:
                log.info("time limit of %g min reached: stopping", settings.max_minutes)
                break
    return TrainResult(_with(model, best[2]), best[1], time.monotonic() - start, history)


def _with(model: RnnNade, weights: dict[str, np.ndarray]) -> RnnNade:
    return RnnNade(model.layer_sizes, model.nade_hidden, weights=weights)


def piece_log_probs(model: RnnNade, frames: np.ndarray) -> np.ndarray:
    """log p(frame t | frames < t) for frames [B, T, 88] from the zero state -> [B, T] (float64)."""
    return np.asarray(model.sequence_log_probs(tf.constant(frames, tf.float32)), np.float64)


def evaluate(model: RnnNade, rolls: Sequence[Roll], picks: Sequence[tuple[int, int, int]] | None = None,
             window: int = 4096, batch_size: int = 32) -> float:
    """Mean NLL per frame (nats, summed over 88 keys) over every frame of the picks (default: whole pieces)."""
    picks = list(picks) if picks is not None else eval_picks(rolls, window)
    picks.sort(key=lambda p: len(rolls[p[0]]) - p[1])  # similar lengths together: less padding
    total = frames_seen = 0.0
    for i in range(0, len(picks), batch_size):
        frames, mask = batch(rolls, picks[i : i + batch_size], window)
        total -= float((piece_log_probs(model, frames) * mask).sum())
        frames_seen += float(mask.sum())
    return total / frames_seen
