"""Train an Improv RNN with the shared loop: teacher-forced cross-entropy on lead-sheet windows, every
transposition; validation NLL/accuracy on held-out pieces; the card's chord-tone figures beside human ones."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.data.leadsheet import LeadSheet
from generation.engine.bundle import Bundle
from generation.engine.rnn import EventRnn, attention_from_plain
from generation.engine.training import Task, event_rnn_task, nll_and_accuracy
from generation.errors import InputError
from generation.families.improv.config import ImprovConfig
from generation.families.improv.dataset import Corpus, build_corpus, is_validation

LICENCES = {
    "nottingham": "Nottingham Music Database (jukedeck/nottingham-dataset, cleaned ABC): GPL-3.0",
    "openewld": "OpenEWLD (00sapo/OpenEWLD, public-domain subset of Wikifonia): MIT licence, public-domain songs",
}
TRANSPOSITIONS = range(-5, 7)


@dataclass(frozen=True)
class ImprovSettings:
    batch_size: int = 64
    window: int = 128  # 8 bars of 4/4 in 16th notes
    eval_outputs: int = 100  # melodies per progression for the card (5 progressions)
    quality_samples: int = 100  # held-out openings per corpus at most, for the card's quality report rows


def evaluate(model: EventRnn, corpus: Corpus, windows: list[tuple[int, int]], window: int,
             batch_size: int = 128) -> tuple[float, float]:
    """Mean NLL per step (nats) and next-event accuracy over every given window."""
    batches = (corpus.batch(windows[i:i + batch_size], window) for i in range(0, len(windows), batch_size))
    nll, acc, _ = nll_and_accuracy(model, batches)
    return nll, acc


class ImprovTrainer:
    """The Improv RNN's side of a training run (see engine/training.Recipe)."""

    family = "improv"
    attn_length: int

    def __init__(self, config: ImprovConfig, sheets: dict[str, list[LeadSheet]], settings: ImprovSettings) -> None:
        self.cfg = config
        self.config = config.name
        self.layer_sizes = config.layer_sizes
        self.attn_length = config.attn_length
        self.sheets = sheets
        self.bundle_info: dict[str, Any] = {}
        self.settings = dataclasses.asdict(settings)
        self.options = settings
        everything = [s for group in sheets.values() for s in group]
        self.train_sheets = [s for s in everything if not is_validation(s.name)]
        self.valid_sheets = [s for s in everything if is_validation(s.name)]
        self.valid_corpus = build_corpus(self.valid_sheets, config)
        self.data_info: dict[str, Any] = {
            "datasets": {k: {"pieces": len(v), "licence": LICENCES[k]} for k, v in sheets.items()},
            "train_pieces": len(self.train_sheets),
            "validation_pieces": len(self.valid_sheets),
            "split": "10% of pieces held out by a hash of the piece name",
            "augmentation": "all 12 transpositions (-5..+6 semitones), octave-fitted into the model's range",
            "validation_steps": self.valid_corpus.num_steps,
        }

    def _valid_batches(self, batch_size: int = 128) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        windows = self.valid_corpus.windows(self.options.window)
        for i in range(0, len(windows), batch_size):
            yield self.valid_corpus.batch(windows[i:i + batch_size], self.options.window)

    def task(self, start: Bundle | None, seed: int) -> Task:
        config, window = self.cfg, self.options.window
        model = EventRnn(config.input_size, config.num_classes, config.layer_sizes, config.attn_length, seed=seed)
        if start is not None:
            if set(start.weights) == set(model.vars):  # the same network: carry on training it
                for name, value in start.weights.items():
                    model.vars[name].assign(value)
            elif config.attn_length and start.attn_length == 0 and start.layer_sizes == config.layer_sizes:
                attention_from_plain(start.weights, model)  # starts computing exactly what the plain model did
            else:
                raise InputError(f"--init_from takes a {config.name} model, or for an attention config a "
                                 f"plain one of the same sizes; {start.config} {start.layer_sizes} is neither")
        corpus = build_corpus(self.train_sheets, config, transpositions=TRANSPOSITIONS)
        self.data_info.update(train_steps=corpus.num_steps, corpus_notes=dict(corpus.stats))
        windows = corpus.windows(window)

        def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return corpus.batch([windows[i] for i in rng.integers(0, len(windows), self.options.batch_size)], window)

        return event_rnn_task(model, batch, self._valid_batches, started_from_weights=start is not None)

    def score(self, bundle: Bundle) -> dict[str, Any]:
        from generation.families.improv.generator import ImprovGenerator
        from generation.quality.common import rows_to_json
        from generation.quality.improv_report import evaluate_generator, human_reference
        from generation.quality.leadsheet_rows import improv_config_rows, improv_openings

        generator = ImprovGenerator(bundle)
        rows = improv_config_rows(generator, self.config, self.options.quality_samples, improv_openings(self.sheets))
        nll, acc, _ = nll_and_accuracy(generator.model, self._valid_batches())
        steps = self.valid_corpus.num_steps
        outputs = self.options.eval_outputs
        return {
            "stored_weights_validation": {"nll": nll, "accuracy": acc, "steps": steps},
            "quality": {f"temperature_{t}": evaluate_generator(generator, outputs, t, seed=7) for t in (1.0, 0.8)},
            "human": {"nottingham": human_reference(self.sheets["nottingham"]),
                      "openewld_4_4": human_reference(self.sheets["openewld"], four_four_only=True),
                      "validation_pieces": human_reference(self.valid_sheets)},
            "quality_rows": rows_to_json(rows),
        }

    def write_card(self, folder: Path, info: dict[str, Any]) -> None:
        from generation.engine.model_card import write_card
        from generation.families.improv.model_card import card

        write_card(folder, card(self.cfg, info), info)
