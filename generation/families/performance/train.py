"""Train a Performance RNN with the shared loop: teacher-forced event windows (transposed, controls sometimes
off), validation NLL per event and accuracy; the card's control figures beside held-out performances."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.engine.bundle import Bundle
from generation.engine.rnn import LSTM, EventRnn
from generation.engine.training import Task, event_rnn_task, nll_and_accuracy
from generation.errors import InputError
from generation.families.performance.config import CONFIGS, STEPS_PER_SECOND, PerformanceConfig
from generation.families.performance.dataset import Corpus
from generation.families.performance.encoding import NOTE_OFF0, SHIFT0, VELOCITY0, event_input_table


@dataclass(frozen=True)
class PerformanceSettings:
    batch_size: int = 32
    window: int = 200  # events; about 5-8 s of piano music
    transpose: int = 3  # +-3 semitones, as Magenta's pipeline
    disable_prob: float = 0.25  # optional conditioning: share of windows trained with controls off
    valid_windows: int = 160
    eval_outputs: int = 4  # outputs per control request for the card
    quality_outputs: int = 32  # outputs of 30 s for the card's quality report rows (the report's own count)


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


def evaluate(model: EventRnn, corpus: Corpus, windows: list[tuple[int, int]], window: int,
             batch_size: int = 64) -> tuple[float, float]:
    """Mean NLL per event (nats) and next-event accuracy over the given windows (controls on, no transposing)."""
    nll, acc, _ = nll_and_accuracy(model, _windows(corpus, windows, window, batch_size))
    return nll, acc


def _windows(corpus: Corpus, windows: list[tuple[int, int]], window: int, batch_size: int = 64
             ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    for i in range(0, len(windows), batch_size):
        yield corpus.batch(windows[i : i + batch_size], window)


def density_of(classes: np.ndarray) -> float:
    """Note-ons per second of a performance's event classes (the figure the density control asks for)."""
    shifts = classes[(classes >= SHIFT0) & (classes < VELOCITY0)]
    seconds = float((shifts - SHIFT0 + 1).sum()) / STEPS_PER_SECOND
    return float((classes < NOTE_OFF0).sum()) / max(seconds, 1e-9)


class PerformanceTrainer:
    """The Performance RNN's side of a training run (see engine/training.Recipe)."""

    family = "performance"
    attn_length = 0

    def __init__(self, config: PerformanceConfig, train_corpus: Corpus, valid_corpus: Corpus,
                 data_info: dict[str, Any], settings: PerformanceSettings, asap: Path | None = None) -> None:
        self.cfg = config
        self.config = config.name
        self.layer_sizes = config.layer_sizes
        self.train_corpus, self.valid_corpus = train_corpus, valid_corpus
        self.options = settings
        self.settings = dataclasses.asdict(settings)
        self.bundle_info: dict[str, Any] = {}
        self.data_info = data_info
        self.valid = valid_corpus.fixed_windows(settings.window, settings.valid_windows)
        self.asap = asap  # the ASAP folder, read (pedal applied) for the human side of the quality rows

    def task(self, start: Bundle | None, seed: int) -> Task:
        init = None
        if start is not None:
            if start.family != self.family or start.config not in CONFIGS:
                raise InputError(f"--init_from takes a performance model, not {start.family}/{start.config}")
            if tuple(start.layer_sizes) != self.cfg.layer_sizes:  # the bundle's sizes win
                self.cfg = dataclasses.replace(self.cfg, layer_sizes=tuple(start.layer_sizes))
                self.layer_sizes = self.cfg.layer_sizes
                self.train_corpus.config = self.valid_corpus.config = self.cfg
            init = initial_weights(self.cfg, CONFIGS[start.config], start.weights)
        model = EventRnn(self.cfg.input_size, self.cfg.num_classes, self.cfg.layer_sizes, weights=init, seed=seed)
        s, corpus = self.options, self.train_corpus

        def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            picks = corpus.random_windows(rng, s.batch_size, s.window)
            return corpus.batch(picks, s.window, rng, s.transpose, s.disable_prob)

        return event_rnn_task(model, batch, lambda: _windows(self.valid_corpus, self.valid, s.window),
                              started_from_weights=start is not None)

    def score(self, bundle: Bundle) -> dict[str, Any]:
        from generation.families.performance.generator import PerformanceGenerator
        from generation.quality.common import rows_to_json
        from generation.quality.performance_controls import control_figures
        from generation.quality.texture_rows import human_performance, performance_config_rows

        self.cfg = dataclasses.replace(self.cfg, layer_sizes=tuple(bundle.layer_sizes))  # the card says what ships
        generator = PerformanceGenerator(bundle)
        human, source = human_performance(self.asap) if self.asap else human_performance()
        nll, acc, _ = nll_and_accuracy(generator.model, _windows(self.valid_corpus, self.valid, self.options.window))
        held_out = [density_of(np.asarray(s)) for s in self.valid_corpus.sequences]
        return {"stored_weights_validation": {"nll": nll, "accuracy": acc, "windows": len(self.valid),
                                              "window": self.options.window},
                "controls": control_figures(generator, outputs=self.options.eval_outputs),
                "human_density": {"performances": len(held_out), "mean": float(np.mean(held_out)),
                                  "standard_error": float(np.std(held_out, ddof=1) / np.sqrt(len(held_out)))
                                  if len(held_out) > 1 else float("nan")},
                "quality_rows": rows_to_json(performance_config_rows(
                    generator, self.config, self.options.quality_outputs, human, source))}

    def write_card(self, folder: Path, info: dict[str, Any]) -> None:
        from generation.engine.model_card import write_card
        from generation.families.performance.model_card import card

        write_card(folder, card(self.cfg, info), info)
