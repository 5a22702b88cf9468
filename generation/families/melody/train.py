"""Train a Melody RNN config with the shared loop (engine/training.py) on the melodies of dataset.py.

Each melody is encoded once, whole, as Magenta encodes it (so the lookback inputs and the step counters are
those of its own positions); training draws windows of it that start on bar lines. Held-out melodies are
scored whole from their first event, as generation runs. Nothing here is run at import by the bot.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.engine.bundle import Bundle
from generation.engine.rnn import EventRnn
from generation.engine.training import Task, event_rnn_task, nll_and_accuracy
from generation.errors import InputError
from generation.families.melody.config import STEPS_PER_BAR, MelodyConfig
from generation.families.melody.dataset import SOURCES, Melody, for_config, held_out
from generation.families.melody.encoding import encode
from generation.families.melody.encoding import labels as label_classes


@dataclass(frozen=True)
class MelodySettings:
    """Batches and the card's sample.

    Attributes:
        layer_sizes, batch_size, dropout: Magenta's hparams (rnn_layer_sizes, batch_size, 1 - dropout_keep_prob).
        window: steps per training example, from a bar line of a melody (its encoding is the whole melody's).
        eval_outputs: melodies generated for each of the card's figures.
    """

    layer_sizes: tuple[int, ...] = (128, 128)
    batch_size: int = 128
    window: int = 128
    dropout: float = 0.5
    eval_outputs: int = 100


@dataclass
class Encoded:
    """Melodies of one config, encoded: inputs (int8 rows, or one-hot indices for the one-hot encoding), labels."""

    config: MelodyConfig
    inputs: list[np.ndarray]
    labels: list[np.ndarray]
    sources: list[str]

    @classmethod
    def of(cls, sequences: Sequence[tuple[np.ndarray, str]], config: MelodyConfig) -> Encoded:
        inputs, labels = [], []
        for events, _ in sequences:
            if config.encoding == "onehot":  # 130-wide rows for 15M mono steps would not fit: keep indices
                ev = np.asarray(events[:-1], np.int64)
                inputs.append(np.where(ev >= 0, ev - config.min_note + 2, ev + 2).astype(np.int16))
                classes = label_classes([int(e) for e in events], config)
            else:
                rows, classes = encode([int(e) for e in events], config)
                inputs.append(rows.astype(np.int8))  # every value is -1, 0 or 1
            labels.append(classes.astype(np.int16))
        return cls(config, inputs, labels, [source for _, source in sequences])

    @property
    def num_steps(self) -> int:
        return sum(len(labels) for labels in self.labels)

    def rows(self, i: int, start: int, stop: int) -> np.ndarray:
        part = self.inputs[i][start:stop]
        if self.config.encoding == "onehot":
            return np.eye(self.config.input_size, dtype=np.float32)[part]
        return part.astype(np.float32)

    def batch(self, picks: Sequence[tuple[int, int]], window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(melody, start) picks -> inputs [B, W, D], labels [B, W], mask [B, W] (0 past a melody's end)."""
        width = min(window, max(len(self.labels[i]) - s for i, s in picks))
        inputs = np.zeros((len(picks), width, self.config.input_size), np.float32)
        labels = np.zeros((len(picks), width), np.int32)
        mask = np.zeros((len(picks), width), np.float32)
        for b, (i, s) in enumerate(picks):
            n = min(width, len(self.labels[i]) - s)
            inputs[b, :n] = self.rows(i, s, s + n)
            labels[b, :n] = self.labels[i][s:s + n]
            mask[b, :n] = 1.0
        return inputs, labels, mask

    def whole(self, which: Sequence[int] | None = None, batch_size: int = 32
              ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Every chosen melody whole, from its first event, similar lengths together."""
        order = sorted(which if which is not None else range(len(self.labels)), key=lambda i: len(self.labels[i]))
        for k in range(0, len(order), batch_size):
            yield self.batch([(i, 0) for i in order[k:k + batch_size]], 10**9)


def split(melodies: Sequence[Melody]) -> tuple[list[Melody], list[Melody]]:
    """(training, held-out) melodies, by piece."""
    return [m for m in melodies if not held_out(m.piece)], [m for m in melodies if held_out(m.piece)]


class MelodyTrainer:
    """A Melody RNN config's side of a training run (see engine/training.Recipe)."""

    family = "melody"

    def __init__(self, config: MelodyConfig, melodies: Sequence[Melody], settings: MelodySettings,
                 sources: dict[str, int]) -> None:
        self.cfg = config
        self.config = config.name
        self.attn_length = config.attn_length
        self.layer_sizes = settings.layer_sizes
        self.options = settings
        self.settings = dataclasses.asdict(settings)
        self.bundle_info: dict[str, Any] = {}
        self.train_melodies, self.valid_melodies = split(melodies)
        if not self.train_melodies or not self.valid_melodies:
            raise InputError(f"{len(self.train_melodies)} training and {len(self.valid_melodies)} held-out "
                             "melodies: both sides of the split need some (add data or sources)")
        stats: Counter[str] = Counter()
        # mono_rnn trains on 12 transpositions; it is scored, like every config, on each held-out melody once.
        valid = [(seq, m.source) for m in self.valid_melodies for seq in for_config([m], config, stats)[:1]] \
            if config.transpose_to_key is not None else \
            [(np.array(m.events, np.int16), m.source) for m in self.valid_melodies]
        self.valid = Encoded.of(valid, config)
        self.data_info: dict[str, Any] = {
            "sources": {name: {"pieces": pieces, "licence": SOURCES[name],
                               "melodies": sum(m.source == name for m in melodies)}
                        for name, pieces in sources.items()},
            "melodies": len(melodies), "train_melodies": len(self.train_melodies),
            "validation_melodies": len(self.valid_melodies), "validation_steps": self.valid.num_steps,
            "split": "10% of pieces held out by a hash of the piece name (every melody of a piece on one side)",
            "augmentation": "none: each melody moved to C major and folded into MIDI 48-83, as Magenta's pipeline"
                            if config.transpose_to_key is not None else
                            "all 12 transpositions (-5..+6 semitones) that stay within MIDI 0-127",
        }

    def task(self, start: Bundle | None, seed: int) -> Task:
        config = self.cfg
        if start is not None:
            if start.family != self.family or start.config != config.name:
                raise InputError(f"--init_from takes a {config.name} model, not {start.family}/{start.config}")
            self.layer_sizes = tuple(start.layer_sizes)  # carrying on: the bundle's sizes win
            self.settings["layer_sizes"] = self.layer_sizes
        model = EventRnn(config.input_size, config.num_classes, self.layer_sizes, config.attn_length, seed=seed,
                         weights=start.weights if start is not None else None)
        stats: Counter[str] = Counter()
        train = Encoded.of([(seq, m.source) for m in self.train_melodies for seq in for_config([m], config, stats)],
                           config)
        self.data_info.update(train_sequences=len(train.labels), train_steps=train.num_steps,
                              notes=dict(stats))
        # Every bar line of every melody is a window start (at least one step left to predict).
        starts = [(i, s) for i, labels in enumerate(train.labels) for s in range(0, len(labels), STEPS_PER_BAR)]
        s = self.options

        def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return train.batch([starts[k] for k in rng.integers(0, len(starts), s.batch_size)], s.window)

        return event_rnn_task(model, batch, lambda: self.valid.whole(), dropout=s.dropout,
                              started_from_weights=start is not None)

    def score(self, bundle: Bundle) -> dict[str, Any]:
        from generation.families.melody.card import quality_figures
        from generation.families.melody.generator import MelodyGenerator

        generator = MelodyGenerator(bundle)
        per_source: dict[str, Any] = {}
        for source in [*sorted(set(self.valid.sources)), "all"]:
            which = [i for i, s in enumerate(self.valid.sources) if source in (s, "all")]
            nll, acc, steps = nll_and_accuracy(generator.model, self.valid.whole(which))
            per_source[source] = {"nll": nll, "accuracy": acc, "steps": steps, "melodies": len(which)}
        return {"stored_weights_validation": per_source,
                "quality": quality_figures(generator, self.valid_melodies, self.options.eval_outputs)}

    def write_card(self, folder: Path, info: dict[str, Any]) -> None:
        from generation.engine.model_card import write_card
        from generation.families.melody.card import card

        write_card(folder, card(self.cfg, info), info)
