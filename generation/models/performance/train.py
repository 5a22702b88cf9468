"""Train a Performance RNN: Adam on teacher-forced windows, validation NLL per event and accuracy."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from generation.models.performance.config import PerformanceConfig
from generation.models.performance.dataset import Corpus
from generation.models.performance.encoding import event_input_table
from generation.models.rnn import LSTM, EventRnn
from generation.models.tf_runtime import tf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 1000
    batch_size: int = 32
    window: int = 200  # events; about 5-8 s of piano music
    learning_rate: float = 0.003
    final_learning_rate: float = 0.0003
    clip_norm: float = 3.0  # Magenta's for performance models
    eval_every: int = 100
    transpose: int = 3  # +-3 semitones, as Magenta's pipeline
    disable_prob: float = 0.25  # optional conditioning: share of windows trained with controls off
    valid_windows: int = 160
    time_limit_s: float = 0.0  # stop early (at an evaluation) after this long; 0 = no limit
    seed: int = 1


@dataclass
class TrainResult:
    model: EventRnn
    steps: int
    seconds: float
    history: list[dict[str, float]]


def initial_weights(config: PerformanceConfig, base_config: PerformanceConfig,
                    base: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map a trained model of another config onto this one, so the new network starts as the base did.

    Control input rows start at zero (the network ignores controls until it learns them); a vocabulary
    without velocity keeps the shared classes (note-on/off and time shift come first in both); modulo
    inputs get the least-squares kernel rows that best reproduce the base's one-hot rows.
    """
    out = dict(base)
    kernel0 = base[LSTM.format(0) + "kernel"]
    units0 = kernel0.shape[1] // 4
    size_in = kernel0.shape[0] - units0
    event_rows = kernel0[base_config.control_size:size_in]  # [base event input, 4U]
    base_table = event_input_table(base_config)
    keep = min(config.num_classes, base_config.num_classes)
    per_class = base_table[:keep] @ event_rows  # each class's contribution to the gates
    table = event_input_table(config)[:keep]
    new_rows, *_ = np.linalg.lstsq(table, per_class, rcond=None)
    if not config.modulo and table.shape[1] > keep:  # not reached: vocabularies only shrink here
        raise ValueError("cannot map a smaller vocabulary to a larger one")
    controls = np.zeros((config.control_size, kernel0.shape[1]), np.float32)
    out[LSTM.format(0) + "kernel"] = np.vstack([controls, new_rows, kernel0[size_in:]]).astype(np.float32)
    out["fully_connected/weights"] = base["fully_connected/weights"][:, : config.num_classes]
    out["fully_connected/biases"] = base["fully_connected/biases"][: config.num_classes]
    return out


def train(config: PerformanceConfig, train_corpus: Corpus, valid_corpus: Corpus, settings: TrainSettings,
          on_checkpoint: Callable[[EventRnn, list[dict[str, float]]], None] | None = None,
          init_from: Mapping[str, np.ndarray] | None = None) -> TrainResult:
    """Train from scratch or from mapped weights (see initial_weights) and return the validation curve."""
    rng = np.random.default_rng(settings.seed)
    model = EventRnn(config.input_size, config.num_classes, config.layer_sizes, weights=init_from,
                     seed=settings.seed)
    variables = list(model.vars.values())
    lr = tf.Variable(settings.learning_rate, trainable=False, dtype=tf.float32)
    optimizer = tf.compat.v1.train.AdamOptimizer(learning_rate=lambda: lr)

    @tf.function(reduce_retracing=True)
    def train_step(inputs: tf.Tensor, labels: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = _masked_nll(model.sequence_logits(inputs), labels, mask)
        grads = tape.gradient(loss, variables)
        grads, _ = tf.clip_by_global_norm(grads, settings.clip_norm)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss

    valid = valid_corpus.fixed_windows(settings.window, settings.valid_windows)
    history: list[dict[str, float]] = []
    recent: list[float] = []
    start = time.monotonic()
    step = 0
    for step in range(1, settings.steps + 1):
        frac = (step - 1) / max(1, settings.steps - 1)
        lr.assign(settings.final_learning_rate + 0.5 * (settings.learning_rate - settings.final_learning_rate)
                  * (1 + math.cos(math.pi * frac)))
        picks = train_corpus.random_windows(rng, settings.batch_size, settings.window)
        batch = train_corpus.batch(picks, settings.window, rng, settings.transpose, settings.disable_prob)
        recent.append(float(train_step(*batch)))
        out_of_time = settings.time_limit_s and time.monotonic() - start > settings.time_limit_s
        if step % settings.eval_every == 0 or step == settings.steps or out_of_time:
            nll, acc = evaluate(model, valid_corpus, valid, settings.window)
            row = {"step": step, "train_nll": float(np.mean(recent)), "valid_nll": nll, "valid_accuracy": acc,
                   "seconds": time.monotonic() - start}
            history.append(row)
            recent = []
            log.info("%s step %d: train %.4f, valid %.4f nats/event, accuracy %.3f (%.0f s)", config.name, step,
                     row["train_nll"], nll, acc, row["seconds"])
            if on_checkpoint:
                on_checkpoint(model, history)
            if out_of_time:
                break
    return TrainResult(model, step, time.monotonic() - start, history)


def evaluate(model: EventRnn, corpus: Corpus, windows: list[tuple[int, int]], window: int,
             batch_size: int = 64) -> tuple[float, float]:
    """Mean NLL per event (nats) and next-event accuracy over the given windows (controls on, no transposing)."""
    total_nll = total_correct = total = 0.0
    for i in range(0, len(windows), batch_size):
        inputs, labels, mask = corpus.batch(windows[i : i + batch_size], window)
        logp = tf.nn.log_softmax(_logits(model, tf.constant(inputs))).numpy()
        picked = np.take_along_axis(logp, labels[..., None], axis=2)[..., 0]
        total_nll -= float((picked * mask).sum())
        total_correct += float(((logp.argmax(-1) == labels) * mask).sum())
        total += float(mask.sum())
    return total_nll / max(total, 1.0), total_correct / max(total, 1.0)


@tf.function(reduce_retracing=True)
def _logits(model: EventRnn, inputs: tf.Tensor) -> tf.Tensor:
    return model.sequence_logits(inputs)


def _masked_nll(logits: tf.Tensor, labels: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_sum(nll * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
