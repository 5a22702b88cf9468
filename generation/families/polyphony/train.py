"""Train a Polyphony RNN with the shared loop: teacher-forced event cross-entropy on transposed 4-bar windows
of the JSB chorales; validation NLL per event on whole held-out chorales; texture figures beside Bach's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.engine.bundle import Bundle
from generation.engine.rnn import EventRnn
from generation.engine.training import Task, event_rnn_task, nll_and_accuracy
from generation.errors import InputError
from generation.families.polyphony.dataset import Windows, build_windows, whole_pieces
from generation.families.polyphony.encoding import NUM_CLASSES
from generation.music.notes import Note

CONFIG = "polyphony"
LICENCE = ("no licence file in the source repository (czhuang/JSB-Chorales-dataset); the music is "
           "J.S. Bach's and in the public domain")
SPLIT = "train/valid/test as in Boulanger-Lewandowski et al. (2012): 229/76/77 chorales"


@dataclass(frozen=True)
class PolyphonySettings:
    layer_sizes: tuple[int, ...] = (256, 256)
    batch_size: int = 32
    window_steps: int = 64  # 4 bars of 16th notes
    window_events: int = 320
    transpose: tuple[int, int] = (-5, 6)  # semitones, inclusive
    card_outputs: int = 20
    quality_samples: int = 100  # chorales and tunes for the card's quality report rows (the report's own count)


def evaluate(model: EventRnn, data: Windows, batch_size: int = 16) -> tuple[float, float]:
    """Mean NLL per event (nats) and next-event accuracy over every row of `data`."""
    nll, acc, _ = nll_and_accuracy(model, _rows(data, batch_size))
    return nll, acc


def _rows(data: Windows, batch_size: int = 16) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    for i in range(0, len(data.events), batch_size):
        yield data.batch(np.arange(i, min(i + batch_size, len(data.events))))


class PolyphonyTrainer:
    """The Polyphony RNN's side of a training run (see engine/training.Recipe)."""

    family = "polyphony"
    config = CONFIG
    attn_length = 0

    def __init__(self, pieces: dict[str, list[list[Note]]], settings: PolyphonySettings,
                 datasets: Path | None = None) -> None:
        self.pieces = pieces
        self.datasets = datasets  # holds nottingham/: the held-out tunes the Magenta /harmonize path is scored on
        self.options = settings
        self.layer_sizes = settings.layer_sizes
        self.settings = dataclasses.asdict(settings)
        self.bundle_info: dict[str, Any] = {}
        self.valid = whole_pieces(pieces["valid"])
        self.data_info: dict[str, Any] = {
            "dataset": "JSB chorales, 16th-note grid, four voices (Jsb16thSeparated.json)",
            "licence": LICENCE, "split": SPLIT, "pieces": {k: len(v) for k, v in pieces.items()},
            "validation_events": self.valid.num_events,
            "augmentation": f"a random transposition in {settings.transpose[0]}..+{settings.transpose[1]} "
                            "semitones per window (kept within the data's keyboard)",
            "windows": f"{settings.window_steps} steps (4 bars) from every bar line, re-encoded from START, at most "
                       f"{settings.window_events} events",
        }

    def task(self, start: Bundle | None, seed: int) -> Task:
        s = self.options
        if start is not None and tuple(start.layer_sizes) != s.layer_sizes:
            if start.family != self.family:
                raise InputError(f"--init_from takes a polyphony model, not {start.family}/{start.config}")
            self.layer_sizes = tuple(start.layer_sizes)  # carrying on: the bundle's sizes win
            self.settings["layer_sizes"] = self.layer_sizes
        model = EventRnn(NUM_CLASSES, NUM_CLASSES, self.layer_sizes, seed=seed,
                         weights=start.weights if start is not None else None)
        windows = build_windows(self.pieces["train"], s.window_steps, 16, s.window_events)
        self.data_info.update(train_windows=len(windows.events), train_events=windows.num_events)
        # Keep every transposed pitch on the keyboard the data lives on (MIDI 0-127 at the very least).
        lo = max(s.transpose[0], -windows.pitch_range[0])
        hi = min(s.transpose[1], 127 - windows.pitch_range[1])

        def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            rows = rng.integers(0, len(windows.events), s.batch_size)
            return windows.batch(rows, rng.integers(lo, hi + 1, s.batch_size))

        return event_rnn_task(model, batch, lambda: _rows(self.valid), started_from_weights=start is not None)

    def score(self, bundle: Bundle) -> dict[str, Any]:
        from generation.families.polyphony.generator import PolyphonyGenerator
        from generation.families.polyphony.model_card import quality_figures
        from generation.quality.common import rows_to_json
        from generation.quality.leadsheet_rows import by_polyphony, harmonize_rows, nottingham_openings
        from generation.quality.texture_rows import polyphony_rows

        generator = PolyphonyGenerator(bundle)
        nll, acc, events = nll_and_accuracy(generator.model, _rows(self.valid))
        samples = self.options.quality_samples
        tunes = nottingham_openings(self.datasets) if self.datasets else nottingham_openings()
        rows = (polyphony_rows(samples, generator, self.pieces.get("test", []))
                + harmonize_rows(samples, {CONFIG: by_polyphony(generator)}, tunes))
        return {"stored_weights_validation": {"nll": nll, "accuracy": acc, "events": events},
                "quality": quality_figures(generator, self.options.card_outputs, self.pieces["valid"]),
                "quality_rows": rows_to_json(rows)}

    def write_card(self, folder: Path, info: dict[str, Any]) -> None:
        from generation.engine.model_card import write_card
        from generation.families.polyphony.model_card import card

        write_card(folder, card(info), info)
