"""Train a Drums RNN config with the shared loop (engine/training.py) on the Groove MIDI Dataset's train split.

Each take is read once as 4/4 bars of drum-class events (groove.py). Training draws windows of a take that start
on bar lines, encoded as generation encodes a track (step counters from the window's first step; for
drum_kit_style the take's style beside them). Validation scores Groove's validation takes in windows of the
same length; the card's figures compare generated bars with Groove's held-out bars (validation + test).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.engine.bundle import Bundle
from generation.engine.rnn import EventRnn
from generation.engine.training import Task, event_rnn_task, nll_and_accuracy
from generation.errors import InputError
from generation.families.drums.config import STEPS_PER_BAR, DrumsConfig
from generation.families.drums.encoding import model_inputs
from generation.families.drums.groove import LICENCE, GrooveTake, take_bars
from generation.families.drums.style_figures import DrumBar


@dataclass(frozen=True)
class DrumsSettings:
    """Magenta's drum_kit hparams (rnn_layer_sizes, batch_size, 1 - dropout_keep_prob) and our windows.

    Attributes:
        window: steps predicted per training example (from a bar line of a take).
        eval_outputs: generated tracks per style (or in all, without styles) for the card's figures.
    """

    layer_sizes: tuple[int, ...] = (256, 256, 256)
    batch_size: int = 128
    window: int = 128
    dropout: float = 0.5
    eval_outputs: int = 50


@dataclass(frozen=True)
class Track:
    """One take as events on the 16th grid (every bar up to its last hit), with its style and split."""

    take: GrooveTake
    bars: tuple[DrumBar, ...]

    @property
    def events(self) -> np.ndarray:
        return np.array([e for bar in self.bars for e in bar.events], np.int64)


def read_tracks(takes: Sequence[GrooveTake]) -> list[Track]:
    """Every take with at least one hit, read once."""
    tracks = [Track(take, tuple(take_bars(take))) for take in takes]
    return [t for t in tracks if any(any(bar.events) for bar in t.bars)]


class DrumsTrainer:
    """A Drums RNN config's side of a training run (see engine/training.Recipe)."""

    family = "drums"

    def __init__(self, config: DrumsConfig, tracks: Sequence[Track], settings: DrumsSettings) -> None:
        self.cfg = config
        self.config = config.name
        self.attn_length = config.attn_length
        self.layer_sizes = settings.layer_sizes
        self.options = settings
        self.settings = dataclasses.asdict(settings)
        self.bundle_info: dict[str, Any] = {}
        # A styled config learns only the styles it can be told; drum_kit learns every 4/4 take.
        usable = [t for t in tracks if not config.styles or t.take.style in config.styles]
        self.train = [t for t in usable if t.take.split == "train"]
        self.valid = [t for t in usable if t.take.split == "validation"]
        self.held_out = [t for t in usable if t.take.split != "train"]
        if not self.train or not self.valid:
            raise InputError(f"{len(self.train)} training and {len(self.valid)} validation takes of Groove: both "
                             "are needed (is the Groove MIDI Dataset complete?)")
        bars = {split: sum(len(t.bars) for t in usable if t.take.split == split)
                for split in ("train", "validation", "test")}
        self.data_info: dict[str, Any] = {
            "dataset": "Groove MIDI Dataset (magenta/groove), 4/4 takes, beats and fills", "licence": LICENCE,
            "takes": {split: sum(t.take.split == split for t in usable) for split in ("train", "validation", "test")},
            "bars": bars, "drummers": len({t.take.drummer for t in self.train}),
            "styles": {s: sum(len(t.bars) for t in self.train if t.take.style == s)
                       for s in sorted({t.take.style for t in self.train})},
            "split": "Groove's own (info.csv): train for training, validation for model selection, validation + "
                     "test bars as the human reference of the card's figures",
            "augmentation": "none (drums have no key)",
            "tempo": {s: float(np.median([t.take.bpm for t in self.train if t.take.style == s]))
                      for s in config.styles},  # each style's median training tempo: where the card plays it
        }

    def _style(self, track: Track) -> str | None:
        return track.take.style if self.cfg.styles else None

    def _batch(self, picks: Sequence[tuple[Track, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(track, start step) -> inputs [B, W, D], labels [B, W], mask [B, W] (0 past the take's end)."""
        w = self.options.window
        parts = [t.events[s:s + w + 1] for t, s in picks]
        width = max(len(p) for p in parts) - 1
        inputs = np.zeros((len(picks), width, self.cfg.input_size), np.float32)
        labels = np.zeros((len(picks), width), np.int32)
        mask = np.zeros((len(picks), width), np.float32)
        for b, ((track, _), part) in enumerate(zip(picks, parts, strict=True)):
            n = len(part) - 1
            inputs[b, :n] = model_inputs(part, self.cfg, self._style(track), track.take.bpm)
            labels[b, :n] = part[1:]
            mask[b, :n] = 1.0
        return inputs, labels, mask

    def _valid_batches(self, batch_size: int = 32) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        w = self.options.window
        picks = [(t, s) for t in self.valid for s in range(0, len(t.bars) * STEPS_PER_BAR - 1, w)]
        for k in range(0, len(picks), batch_size):
            yield self._batch(picks[k:k + batch_size])

    def task(self, start: Bundle | None, seed: int) -> Task:
        config = self.cfg
        if start is not None:
            if start.family != self.family or start.config != config.name:
                raise InputError(f"--init_from takes a {config.name} model, not {start.family}/{start.config}")
            self.layer_sizes = tuple(start.layer_sizes)  # carrying on: the bundle's sizes win
            self.settings["layer_sizes"] = self.layer_sizes
        model = EventRnn(config.input_size, config.num_classes, self.layer_sizes, config.attn_length, seed=seed,
                         weights=start.weights if start is not None else None)
        starts = [(t, b * STEPS_PER_BAR) for t in self.train for b in range(len(t.bars))]
        self.data_info.update(train_steps=sum(len(t.bars) for t in self.train) * STEPS_PER_BAR,
                              train_windows=len(starts))
        s = self.options

        def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return self._batch([starts[k] for k in rng.integers(0, len(starts), s.batch_size)])

        return event_rnn_task(model, batch, self._valid_batches, dropout=s.dropout,
                              started_from_weights=start is not None)

    def score(self, bundle: Bundle) -> dict[str, Any]:
        from generation.families.drums.card import quality_figures
        from generation.families.drums.generator import DrumsGenerator

        generator = DrumsGenerator(bundle)
        # The generator reorders the first layer's input rows for its sampler; score the bundle's own order.
        model = EventRnn(self.cfg.input_size, self.cfg.num_classes, bundle.layer_sizes, bundle.attn_length,
                         weights=bundle.weights)
        nll, acc, steps = nll_and_accuracy(model, self._valid_batches())
        return {"stored_weights_validation": {"nll": nll, "accuracy": acc, "steps": steps,
                                              "takes": len(self.valid)},
                "quality": quality_figures(generator, self.held_out, self.train, self.options.eval_outputs)}

    def write_card(self, folder: Path, info: dict[str, Any]) -> None:
        from generation.engine.model_card import write_card
        from generation.families.drums.card import card

        write_card(folder, card(self.cfg, info), info)
