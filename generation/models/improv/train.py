"""Train an Improv RNN: Adam on teacher-forced cross-entropy, validation NLL/accuracy on held-out pieces."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from generation.models.improv.config import ImprovConfig
from generation.models.improv.dataset import Corpus
from generation.models.rnn import EventRnn, attention_from_plain
from generation.models.tf_runtime import tf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 3000
    batch_size: int = 64
    window: int = 128  # 8 bars of 4/4 in 16th notes
    learning_rate: float = 0.005
    final_learning_rate: float = 0.0005
    clip_norm: float = 5.0
    eval_every: int = 250
    seed: int = 1


@dataclass
class TrainResult:
    model: EventRnn
    steps: int
    seconds: float
    history: list[dict[str, float]]  # one row per evaluation: step, train_nll, valid_nll, valid_accuracy


def train(
    config: ImprovConfig,
    train_corpus: Corpus,
    valid_corpus: Corpus,
    settings: TrainSettings,
    on_checkpoint: Callable[[EventRnn, list[dict[str, float]]], None] | None = None,
    init_from: dict[str, np.ndarray] | None = None,
) -> TrainResult:
    """Train (from scratch, or for an attention config from a trained plain model) and return the curve."""
    rng = np.random.default_rng(settings.seed)
    model = EventRnn(config.input_size, config.num_classes, config.layer_sizes, config.attn_length,
                     seed=settings.seed)
    if init_from is not None and set(init_from) == set(model.vars):  # the same network: carry on training it
        for name, value in init_from.items():
            model.vars[name].assign(value)
    elif init_from is not None:
        if not config.attn_length:
            raise ValueError("init_from takes the same config's model, or a plain model for an attention config")
        attention_from_plain(init_from, model)
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

    windows = train_corpus.windows(settings.window)
    valid_windows = valid_corpus.windows(settings.window)
    history: list[dict[str, float]] = []
    recent: list[float] = []
    start = time.monotonic()
    for step in range(1, settings.steps + 1):
        # Cosine decay from learning_rate to final_learning_rate.
        frac = (step - 1) / max(1, settings.steps - 1)
        lr.assign(settings.final_learning_rate + 0.5 * (settings.learning_rate - settings.final_learning_rate)
                  * (1 + math.cos(math.pi * frac)))
        picks = [windows[i] for i in rng.integers(0, len(windows), settings.batch_size)]
        inputs, labels, mask = train_corpus.batch(picks, settings.window)
        recent.append(float(train_step(inputs, labels, mask)))
        if step % settings.eval_every == 0 or step == settings.steps:
            nll, acc = evaluate(model, valid_corpus, valid_windows, settings.window)
            row = {"step": step, "train_nll": float(np.mean(recent)), "valid_nll": nll, "valid_accuracy": acc,
                   "seconds": time.monotonic() - start}
            history.append(row)
            recent = []
            log.info("%s step %d: train %.4f, valid %.4f nats/step, accuracy %.3f (%.0f s)", config.name,
                     step, row["train_nll"], nll, acc, row["seconds"])
            if on_checkpoint:
                on_checkpoint(model, history)
    return TrainResult(model, settings.steps, time.monotonic() - start, history)


def evaluate(model: EventRnn, corpus: Corpus, windows: list[tuple[int, int]], window: int,
             batch_size: int = 128) -> tuple[float, float]:
    """Mean NLL per step (nats) and next-event accuracy over every given window."""
    total_nll = total_correct = total_steps = 0.0
    for i in range(0, len(windows), batch_size):
        inputs, labels, mask = corpus.batch(windows[i : i + batch_size], window)
        logits = _logits(model, inputs)
        logp = tf.nn.log_softmax(logits).numpy()
        picked = np.take_along_axis(logp, labels[..., None], axis=2)[..., 0]
        total_nll -= float((picked * mask).sum())
        total_correct += float(((logp.argmax(-1) == labels) * mask).sum())
        total_steps += float(mask.sum())
    return total_nll / total_steps, total_correct / total_steps


@tf.function(reduce_retracing=True)
def _logits(model: EventRnn, inputs: tf.Tensor) -> tf.Tensor:
    return model.sequence_logits(inputs)


def _masked_nll(logits: tf.Tensor, labels: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_sum(nll * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
