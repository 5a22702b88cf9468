"""Train an RNN-NADE with the shared loop: the exact teacher-forced NLL, dropout on the LSTM outputs, transposition
augmentation; validation NLL per frame; the card's figures of generated rolls beside the held-out data."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.engine.bundle import Bundle
from generation.engine.tf_runtime import tf
from generation.engine.training import Task
from generation.errors import InputError
from generation.families.pianoroll.config import NUM_KEYS, PianorollConfig
from generation.families.pianoroll.dataset import Roll, batch, eval_picks, shifts_in_range
from generation.families.pianoroll.network import RnnNade

SIGNATURE = (tf.TensorSpec([None, None, NUM_KEYS], tf.float32), tf.TensorSpec([None, None], tf.float32))


@dataclass(frozen=True)
class PianorollSettings:
    """What the RNN-NADE's batches and loss are made of.

    Attributes:
        window: frames per training sequence; pieces shorter than this are taken whole from their start.
        dropout: rate on every LSTM layer's output while training.
        max_shift: transposition augmentation, +-semitones (only shifts that keep the piece on 88 keys).
        eval_window, eval_chunks: validation scores chunks of this many frames, at most this many per piece.
        quality_samples: outputs for the card's quality report rows (JSB-trained configs: 8-bar chorales).
    """

    batch_size: int = 16
    window: int = 128
    dropout: float = 0.3
    max_shift: int = 6
    eval_window: int = 4096
    eval_chunks: int = 10**9
    quality_samples: int = 100  # chorales for the card's quality report rows (the report's own count)


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


class PianorollTrainer:
    """The RNN-NADE's side of a training run (see engine/training.Recipe)."""

    family = "pianoroll"
    attn_length = 0

    def __init__(self, config: PianorollConfig, splits: dict[str, list[Roll]], data_info: dict[str, Any],
                 settings: PianorollSettings) -> None:
        self.cfg = config
        self.config = config.name
        self.layer_sizes = config.layer_sizes
        self.splits = splits
        self.options = settings
        self.settings = dataclasses.asdict(settings)
        self.data_info = data_info
        self.bundle_info: dict[str, Any] = {"nade_hidden": config.nade_hidden,
                                            "steps_per_quarter": config.steps_per_quarter}

    def task(self, start: Bundle | None, seed: int) -> Task:
        s, rolls = self.options, self.splits["train"]
        if start is not None:
            if start.family != self.family:
                raise InputError(f"--init_from takes a pianoroll model, not {start.family}/{start.config}")
            self.cfg = dataclasses.replace(self.cfg, layer_sizes=tuple(start.layer_sizes),
                                           nade_hidden=int(start.info["nade_hidden"]))
            self.layer_sizes = self.cfg.layer_sizes
            self.bundle_info["nade_hidden"] = self.cfg.nade_hidden
        model = RnnNade(self.cfg.layer_sizes, self.cfg.nade_hidden, seed=seed,
                        weights=start.weights if start is not None else None)
        shifts = [shifts_in_range(r, s.max_shift) for r in rolls]
        weights = np.array([len(r) for r in rolls], np.float64)  # pick pieces by their frame count
        weights /= weights.sum()
        whole_pieces = s.window >= max(len(r) for r in rolls)
        by_length = [int(i) for i in np.argsort([len(r) for r in rolls], kind="stable")]
        valid = eval_picks(self.splits["valid"], s.eval_window, s.eval_chunks)

        def draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
            if whole_pieces:  # pieces of similar length together: little padding
                anchor = int(rng.integers(0, len(by_length)))
                chosen = [by_length[(anchor + k) % len(by_length)] for k in range(s.batch_size)]
            else:
                chosen = [int(i) for i in rng.choice(len(rolls), s.batch_size, p=weights)]
            picks = []
            for i in chosen:
                room = len(rolls[i]) - s.window
                picks.append((i, int(rng.integers(0, room + 1)) if room > 0 else 0, int(rng.choice(shifts[i]))))
            return batch(rolls, picks, s.window)

        def loss(frames: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
            b_enc, b_dec = model.sequence_biases(frames, s.dropout)
            nll = -model.frame_log_prob(frames, b_enc, b_dec)
            return tf.reduce_sum(nll * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)

        def validate() -> dict[str, float]:
            return {"valid_nll": evaluate(model, self.splits["valid"], valid, s.eval_window)}

        return Task(model.vars, draw, loss, validate, SIGNATURE, started_from_weights=start is not None)

    def score(self, bundle: Bundle) -> dict[str, Any]:
        from generation.families.pianoroll.model_card import score_bundle

        # The card says what ships: a --card_only run has not read the bundle's sizes through task().
        self.cfg = dataclasses.replace(self.cfg, layer_sizes=tuple(bundle.layer_sizes),
                                       nade_hidden=int(bundle.info.get("nade_hidden", self.cfg.nade_hidden)))
        chorales = "jsb_chorales" in self.data_info.get("datasets", {})
        return score_bundle(bundle, self.splits, self.options.eval_window, self.options.eval_chunks,
                            self.options.quality_samples if chorales else 0)

    def write_card(self, folder: Path, info: dict[str, Any]) -> None:
        from generation.engine.model_card import write_card
        from generation.families.pianoroll.model_card import card

        write_card(folder, card(self.cfg, info), info)
