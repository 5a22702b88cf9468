"""Train a Polyphony RNN: Adam on teacher-forced event cross-entropy, validation NLL per event on whole chorales."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from generation.models.polyphony.dataset import Windows
from generation.models.polyphony.encoding import NUM_CLASSES
from generation.models.rnn import EventRnn
from generation.models.tf_runtime import tf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 3000
    max_minutes: float = 0.0  # stop early when this much time has passed (0 = no limit); the schedule follows
    layer_sizes: tuple[int, ...] = (256, 256)
    batch_size: int = 32
    window_steps: int = 64  # 4 bars of 16th notes
    window_events: int = 320
    transpose: tuple[int, int] = (-5, 6)  # semitones, inclusive
    learning_rate: float = 0.003
    final_learning_rate: float = 0.0003
    clip_norm: float = 5.0
    eval_every: int = 100
    seed: int = 1


@dataclass
class TrainResult:
    model: EventRnn
    steps: int
    seconds: float
    history: list[dict[str, float]]  # one row per evaluation: step, train_nll, valid_nll, valid_accuracy, seconds


def train(
    train_windows: Windows,
    valid: Windows,
    settings: TrainSettings,
    on_checkpoint: Callable[[EventRnn, list[dict[str, float]]], None] | None = None,
    init_from: dict[str, np.ndarray] | None = None,
) -> TrainResult:
    """Train from scratch, or carry on from `init_from` weights; evaluate every `eval_every` steps and at the end."""
    rng = np.random.default_rng(settings.seed)
    model = EventRnn(NUM_CLASSES, NUM_CLASSES, settings.layer_sizes, seed=settings.seed, weights=init_from)
    variables = list(model.vars.values())
    lr = tf.Variable(settings.learning_rate, trainable=False, dtype=tf.float32)
    optimizer = tf.compat.v1.train.AdamOptimizer(learning_rate=lambda: lr)

    @tf.function(reduce_retracing=True)
    def train_step(inputs: tf.Tensor, labels: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = masked_nll(model.sequence_logits(inputs), labels, mask)
        grads = tape.gradient(loss, variables)
        grads, _ = tf.clip_by_global_norm(grads, settings.clip_norm)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss

    lo, hi = settings.transpose
    # Keep every transposed pitch on the keyboard the data lives on (MIDI 0-127 at the very least).
    lo = max(lo, -train_windows.pitch_range[0])
    hi = min(hi, 127 - train_windows.pitch_range[1])
    history: list[dict[str, float]] = []
    recent: list[float] = []
    start = time.monotonic()
    limit_s = settings.max_minutes * 60
    step = 0
    while step < settings.steps:
        step += 1
        elapsed = time.monotonic() - start
        # Cosine decay over whichever runs out first: the steps or the time limit.
        frac = max((step - 1) / max(1, settings.steps - 1), elapsed / limit_s if limit_s else 0.0)
        lr.assign(settings.final_learning_rate + 0.5 * (settings.learning_rate - settings.final_learning_rate)
                  * (1 + math.cos(math.pi * min(frac, 1.0))))
        rows = rng.integers(0, len(train_windows.events), settings.batch_size)
        shifts = rng.integers(lo, hi + 1, settings.batch_size)
        recent.append(float(train_step(*train_windows.batch(rows, shifts))))
        out_of_time = bool(limit_s) and time.monotonic() - start >= limit_s
        if step % settings.eval_every == 0 or step == settings.steps or out_of_time:
            nll, acc = evaluate(model, valid)
            row = {"step": step, "train_nll": float(np.mean(recent)), "valid_nll": nll, "valid_accuracy": acc,
                   "seconds": time.monotonic() - start}
            history.append(row)
            recent = []
            log.info("polyphony step %d: train %.4f, valid %.4f nats/event, accuracy %.3f (%.0f s, lr %.5f)",
                     step, row["train_nll"], nll, acc, row["seconds"], float(lr.numpy()))
            if on_checkpoint:
                on_checkpoint(model, history)
        if out_of_time:
            log.info("time limit of %.0f min reached at step %d", settings.max_minutes, step)
            break
    return TrainResult(model, step, time.monotonic() - start, history)


def evaluate(model: EventRnn, data: Windows, batch_size: int = 16) -> tuple[float, float]:
    """Mean NLL per event (nats) and next-event accuracy over every row of `data`."""
    total_nll = total_correct = total = 0.0
    for i in range(0, len(data.events), batch_size):
        inputs, labels, mask = data.batch(np.arange(i, min(i + batch_size, len(data.events))))
        logp = tf.nn.log_softmax(_logits(model, tf.constant(inputs))).numpy()
        picked = np.take_along_axis(logp, labels[..., None], axis=2)[..., 0]
        total_nll -= float((picked * mask).sum())
        total_correct += float(((logp.argmax(-1) == labels) * mask).sum())
        total += float(mask.sum())
    return total_nll / total, total_correct / total


@tf.function(reduce_retracing=True)
def _logits(model: EventRnn, inputs: tf.Tensor) -> tf.Tensor:
    return model.sequence_logits(inputs)


def masked_nll(logits: tf.Tensor, labels: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_sum(nll * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
