"""The one training loop every family trains with, and the run around it that writes the bundle and its card.

A family supplies a `Task` (its model's variables, a batch drawn from its training data, a loss, a validation
score) and, for a whole run, a `Recipe` (how to build the task, possibly from a bundle, and how to score the
stored weights and describe them in the card). The loop is the same for all: Keras Adam, gradients clipped by
their global norm, a cosine learning-rate schedule after an optional linear warm-up, validation every N steps
on held-out data keeping the best weights, a time limit, a seed. It stops cleanly at the time limit or on
Ctrl-C / SIGTERM, and the run still writes the best weights and the card.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import signal
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from generation.engine.bundle import Bundle
from generation.engine.tf_runtime import tf

log = logging.getLogger(__name__)
Weights = dict[str, np.ndarray]


@dataclass(frozen=True)
class LoopSettings:
    """How the loop trains.

    Attributes:
        steps: most Adam updates.
        learning_rate: the peak rate, reached after `warmup_steps`, then cosine-decayed to `final_learning_rate`
            over whichever ends first: the steps or `max_minutes`.
        clip_norm: gradients are scaled down together when their global norm exceeds this.
        eval_every: validation every this many steps (and at the last step).
        max_minutes: stop after this much training time (0 = no limit); the run still writes bundle and card.
        patience: stop after this many validations without a better NLL (0 = never).
        seed: for batches, dropout and fresh weights.
    """

    steps: int = 3000
    learning_rate: float = 0.001
    final_learning_rate: float = 0.0001
    warmup_steps: int = 0
    clip_norm: float = 5.0
    eval_every: int = 100
    max_minutes: float = 0.0
    patience: int = 0
    seed: int = 1

    def __post_init__(self) -> None:
        if self.steps < 1 or self.eval_every < 1 or self.warmup_steps < 0:
            raise ValueError("steps and eval_every must be at least 1, warmup_steps at least 0")
        if not (self.learning_rate > 0 and self.final_learning_rate >= 0 and self.clip_norm > 0):
            raise ValueError("learning rates and clip_norm must be positive")
        if self.max_minutes < 0 or self.patience < 0:
            raise ValueError("max_minutes and patience cannot be negative")

    def rate_at(self, step: int, time_fraction: float = 0.0) -> float:
        """The learning rate of step (1-based): linear warm-up, then cosine decay.

        `time_fraction` is the share of max_minutes already spent: the decay follows the steps or the clock,
        whichever is further along, so a run cut by the time limit still ends at the low rate.
        """
        if step <= self.warmup_steps:
            return self.learning_rate * step / self.warmup_steps
        span = max(1, self.steps - self.warmup_steps - 1)
        progress = min(1.0, max((step - self.warmup_steps - 1) / span, time_fraction))
        return self.final_learning_rate + 0.5 * (self.learning_rate - self.final_learning_rate) * (
            1 + math.cos(math.pi * progress))


@dataclass
class Task:
    """What a family gives the loop.

    Attributes:
        variables: the model's variables by (Magenta) name; all are kept, and all but `frozen` are trained.
        batch: draws one training batch (numpy arrays) with the loop's generator.
        loss: the training loss of a batch (tensors in the batch's order); traced once into a graph.
        validate: scores the current weights on held-out data: {"valid_nll": ..., and any other figure}.
        signature: the batch's TensorSpecs; by default every dimension but the feature one of 3-D arrays
            is left open, so batches of another length do not retrace.
        started_from_weights: the model began from a trained bundle (the loop then scores it at step 0).
        select: the validation figure (lower is better) whose best picks the weights kept, and its name in words
            for the card.
        frozen: names of variables kept as they start (no updates); they are stored with the rest.
    """

    variables: Mapping[str, tf.Variable]
    batch: Callable[[np.random.Generator], Sequence[np.ndarray]]
    loss: Callable[..., tf.Tensor]
    validate: Callable[[], dict[str, float]]
    signature: Sequence[tf.TensorSpec] | None = None
    started_from_weights: bool = False
    select: tuple[str, str] = ("valid_nll", "validation NLL")
    frozen: frozenset[str] = frozenset()


@dataclass
class LoopResult:
    """The best weights by the task's `select` figure (validation NLL unless it says otherwise), and how the run
    went."""

    weights: Weights
    best_step: int
    steps_run: int
    seconds: float
    stopped: str  # "steps", "time limit", "patience", "interrupted", "diverged"
    history: list[dict[str, float]]  # one row per validation: step, train_nll, valid_nll (+ the task's), ...


Checkpoint = Callable[[Weights, list[dict[str, float]], int], None]  # best weights, history, best step

_stop_requested = threading.Event()


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside, Ctrl-C or SIGTERM ends the loop at the next step instead of killing the run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _stop_requested.clear()

    def ask_to_stop(signum: int, frame: Any) -> None:
        log.warning("stop requested (signal %d): finishing this step, then writing the best weights", signum)
        _stop_requested.set()

    previous = {s: signal.signal(s, ask_to_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _stop_requested.clear()


MAX_FAILING_STEPS = 5  # non-finite steps in a row (each skipped) before a run counts as diverged


def request_stop() -> None:
    """End the running loop at its next step (what SIGTERM does; tests use it)."""
    _stop_requested.set()


def fit(task: Task, settings: LoopSettings, on_checkpoint: Checkpoint | None = None,
        name: str = "model") -> LoopResult:
    """Train `task` and return its best weights; the task's variables hold them afterwards."""
    rng = np.random.default_rng(settings.seed)
    tf.random.set_seed(settings.seed)
    names = list(task.variables)
    variables = [task.variables[k] for k in names]
    trained = [task.variables[k] for k in names if k not in task.frozen]
    optimizer = tf.keras.optimizers.Adam(learning_rate=settings.learning_rate)
    optimizer.build(trained)

    def snapshot() -> Weights:
        return {k: v.numpy() for k, v in zip(names, variables, strict=True)}

    first = [np.asarray(a) for a in task.batch(rng)]
    signature = task.signature or [
        tf.TensorSpec([None] * (a.ndim - 1) + [a.shape[-1]] if a.ndim >= 3 else [None] * a.ndim,
                      tf.as_dtype(a.dtype)) for a in first]

    @tf.function(input_signature=list(signature))
    def train_step(*batch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            loss = task.loss(*batch)
        grads = tape.gradient(loss, trained)
        clipped, norm = tf.clip_by_global_norm(grads, settings.clip_norm)

        def apply() -> tf.Tensor:
            optimizer.apply_gradients(zip(clipped, trained, strict=True))
            return tf.constant(True)

        # A batch whose loss or gradients overflow is skipped, not applied: one bad step must not turn every
        # weight into NaN (the loop stops only when steps keep failing).
        tf.cond(tf.math.is_finite(loss) & tf.math.is_finite(norm), apply, lambda: tf.constant(False))
        return loss, norm

    history: list[dict[str, float]] = []
    key = task.select[0]
    best_nll, best_step, best = math.inf, 0, snapshot()  # best_nll: the best `key` figure
    if task.started_from_weights:  # the starting point is a candidate too: training must beat it
        row = {"step": 0, "train_nll": float("nan"), **task.validate(), "seconds": 0.0, "learning_rate": 0.0}
        history.append(row)
        best_nll = row[key]
        log.info("%s at the start: valid %.4f, %s %.4f", name, row["valid_nll"], key, best_nll)
    limit_s = settings.max_minutes * 60
    start = time.monotonic()
    recent: list[float] = []
    step, stopped, batch, failing = 0, "steps", first, 0
    while step < settings.steps:
        step += 1
        elapsed = time.monotonic() - start
        rate = settings.rate_at(step, elapsed / limit_s if limit_s else 0.0)
        optimizer.learning_rate = rate
        loss, norm = train_step(*batch)
        if math.isfinite(float(loss)) and math.isfinite(float(norm)):
            recent.append(float(loss))
            failing = 0
        else:
            failing += 1
            log.warning("%s: loss %s, gradient norm %s at step %d: step skipped", name, float(loss), float(norm),
                        step)
            if failing >= MAX_FAILING_STEPS:
                stopped = "diverged"
                log.error("%s: %d steps in a row failed; keeping the best weights so far", name, failing)
                break
        out_of_time = bool(limit_s) and time.monotonic() - start >= limit_s
        stop_now = _stop_requested.is_set()
        if step % settings.eval_every == 0 or step == settings.steps or out_of_time or stop_now:
            row = {"step": step, "train_nll": float(np.mean(recent)), **task.validate(),
                   "seconds": time.monotonic() - start, "learning_rate": rate}
            history.append(row)
            recent = []
            if row[key] < best_nll:
                best_nll, best_step, best = row[key], step, snapshot()
            log.info("%s step %d: train %.4f, valid %.4f, %s %.4f (best %.4f at step %d), lr %.2e, %.0f s", name,
                     step, row["train_nll"], row["valid_nll"], key, row[key], best_nll, best_step, rate,
                     row["seconds"])
            if on_checkpoint:
                on_checkpoint(best, history, best_step)
            since_best = sum(1 for h in history if h["step"] > best_step)
            if settings.patience and since_best >= settings.patience:
                stopped = "patience"
                log.info("no better %s in %d validations: stopping", task.select[1], settings.patience)
                break
        if out_of_time:
            stopped = "time limit"
            log.info("time limit of %g min reached at step %d", settings.max_minutes, step)
            break
        if stop_now:
            stopped = "interrupted"
            _stop_requested.clear()  # a request ends one loop, not the next one too
            break
        batch = [np.asarray(a) for a in task.batch(rng)]
    for k, v in zip(names, variables, strict=True):
        v.assign(best[k])
    return LoopResult(best, best_step, step, time.monotonic() - start, stopped, history)


# --- helpers for the event RNNs (improv, polyphony, performance, melody, drums) --------------------------------
def masked_nll(logits: tf.Tensor, labels: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Mean cross-entropy (nats) over the unmasked steps of a batch: logits [B, T, C], labels and mask [B, T]."""
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_sum(nll * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


_compiled: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _sequence_logits(model: Any, inputs: tf.Tensor) -> tf.Tensor:
    """The model's teacher-forced logits, compiled once per model (one function for all would retrace)."""
    if model not in _compiled:
        size = getattr(model, "input_size", None)
        _compiled[model] = tf.function(model.sequence_logits, reduce_retracing=True, input_signature=None if size
                                       is None else [tf.TensorSpec([None, None, size], tf.float32)])
    return _compiled[model](inputs)


def nll_and_accuracy(model: Any, batches: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]
                     ) -> tuple[float, float, int]:
    """Mean NLL per step (nats), next-step accuracy and the number of steps scored, teacher-forced.

    `model` has `sequence_logits(inputs [B, T, D]) -> [B, T, C]`; each batch is (inputs, labels, mask).
    """
    total_nll = total_correct = total = 0.0
    for inputs, labels, mask in batches:
        logp = tf.nn.log_softmax(_sequence_logits(model, tf.constant(inputs, tf.float32))).numpy()
        picked = np.take_along_axis(logp, np.asarray(labels)[..., None].astype(np.int64), axis=2)[..., 0]
        total_nll -= float((picked * mask).sum())
        total_correct += float(((logp.argmax(-1) == labels) * mask).sum())
        total += float(mask.sum())
    return total_nll / max(total, 1.0), total_correct / max(total, 1.0), int(total)


def event_rnn_task(model: Any, batch: Callable[[np.random.Generator], Sequence[np.ndarray]],
                   valid_batches: Callable[[], Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]],
                   dropout: float = 0.0, started_from_weights: bool = False) -> Task:
    """The task of an event RNN (engine/rnn.EventRnn): teacher-forced cross-entropy on (inputs, labels, mask)."""

    def loss(inputs: tf.Tensor, labels: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        return masked_nll(model.sequence_logits(inputs, dropout=dropout), labels, mask)

    def validate() -> dict[str, float]:
        nll, acc, _ = nll_and_accuracy(model, valid_batches())
        return {"valid_nll": nll, "valid_accuracy": acc}

    return Task(model.vars, batch, loss, validate, started_from_weights=started_from_weights)


# --- a whole run: the loop, checkpoints as bundles, the stored weights scored, the card ---------------------------
class Recipe(Protocol):
    """A family's side of one training run (its train.py builds one from the command's flags and data).

    Attributes:
        family, config: the bundle's family and config id.
        layer_sizes, attn_length: the network's shape as the bundle records it.
        bundle_info: further keys the family's loader reads from bundle.json (e.g. nade_hidden).
        data_info: what the card's data section says (datasets, licences, split, sizes, augmentation).
        settings: the family's own training settings (batch size, window, dropout...), recorded for the card.
    """

    family: str
    config: str
    layer_sizes: tuple[int, ...]
    attn_length: int
    bundle_info: dict[str, Any]
    data_info: dict[str, Any]
    settings: dict[str, Any]

    def task(self, start: Bundle | None, seed: int) -> Task:
        """The model (fresh, or from `start`'s weights mapped as the family allows) and its task."""

    def score(self, bundle: Bundle) -> dict[str, Any]:
        """Figures of the stored (float16) weights: held-out NLL, quality beside human; merged into info."""

    def write_card(self, folder: Path, info: dict[str, Any]) -> None:
        """MODEL_CARD.md from the recorded info (through engine/model_card.write_card)."""


def earlier_run(bundle: Bundle, path: Path) -> dict[str, Any]:
    """What a bundle a run starts from went through: its settings, curve, and the runs before it."""
    training = bundle.info.get("training", {})
    history = training.get("history", [])
    earlier = training.get("initialised_from") or bundle.info.get("data", {}).get("initialised_from")
    return {"bundle": str(path), "config": bundle.config,
            "steps_run": training.get("steps_run", history[-1]["step"] if history else 0),
            "best_step": training.get("best_step", history[-1]["step"] if history else 0),
            "settings": {k: v for k, v in training.items() if k not in ("history", "initialised_from")},
            "history": history, "earlier": earlier}


def run(recipe: Recipe, settings: LoopSettings, out: Path, init_from: Path | None = None,
        card_only: bool = False) -> dict[str, Any]:
    """Train (unless card_only), keep the best weights in `out` at every validation, then score what was
    stored and write bundle.json and MODEL_CARD.md. Returns the bundle's info."""
    if not card_only:
        start = Bundle.load(init_from) if init_from else None
        task = recipe.task(start, settings.seed)
        training: dict[str, Any] = {"optimizer": "Adam (Keras)", **dataclasses.asdict(settings), **recipe.settings,
                                    "selected_by": task.select[1]}
        if start is not None and init_from is not None:
            training["initialised_from"] = earlier_run(start, init_from)

        def save(weights: Weights, history: list[dict[str, float]], best_step: int, result: LoopResult | None = None
                 ) -> None:
            record = {**training, "history": history, "best_step": best_step,  # the weights saved are the best
                      "steps_run": result.steps_run if result else (history[-1]["step"] if history else 0),
                      "minutes": (result.seconds if result else history[-1]["seconds"] if history else 0.0) / 60,
                      "stopped": result.stopped if result else "", "finished": result is not None}
            info = {**recipe.bundle_info, "data": recipe.data_info, "training": record}
            Bundle(recipe.family, recipe.config, recipe.layer_sizes, recipe.attn_length, weights, info).save(out)

        with stop_on_signals():
            result = fit(task, settings, on_checkpoint=save, name=recipe.config)
        save(result.weights, result.history, result.best_step, result)
        log.info("%s: %d steps in %.0f s (%s); best validation at step %d", recipe.config, result.steps_run,
                 result.seconds, result.stopped, result.best_step)
    bundle = Bundle.load(out)
    info = {**bundle.info, "parameters": int(sum(w.size for w in bundle.weights.values()))}
    info.update(recipe.score(bundle))
    # The weights stored are those scored: only bundle.json is rewritten (the same weights.npz, byte for byte).
    Bundle(bundle.family, bundle.config, bundle.layer_sizes, bundle.attn_length, bundle.weights, info).save_info(out)
    recipe.write_card(out, info)
    log.info("wrote %s", out / "MODEL_CARD.md")
    return info
