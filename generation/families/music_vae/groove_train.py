"""Train a GrooVAE config with the shared loop (engine/training.py) on Groove's 2-bar windows as played.

The loss (groove_network.py) is taken with z drawn from q(z | groove) by the reparameterisation, the noise drawn
with the batch by the loop's seeded generator; validation scores every held-out window teacher-forced with z the
posterior mean, and the loop keeps the best weights. The stored weights are then scored again, and the held-out
windows played from their own inputs for the card (groove_card.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from generation.engine.bundle import Bundle
from generation.engine.tf_runtime import tf
from generation.engine.training import Task
from generation.errors import InputError
from generation.families.music_vae.groove_config import GrooveConfig
from generation.families.music_vae.groove_data import GrooveSet
from generation.families.music_vae.groove_encoding import N, control
from generation.families.music_vae.groove_figures import MS_PER_STEP_AT_120
from generation.families.music_vae.groove_network import GrooVae

EVAL_BATCH = 512


def scores(model: GrooVae, grooves: np.ndarray) -> dict[str, float]:
    """Teacher-forced figures of held-out grooves [W, T, 27] with z the posterior mean: the loss as trained (per
    step), the hits' cross-entropy (nats/step), velocity RMSE (MIDI units) and offset RMSE (ms at 120 qpm) over
    the struck cells, and the mean KL (nats per window)."""
    parts: list[list[np.ndarray]] = [[], [], [], []]
    controls = control(grooves, model.config)
    for k in range(0, len(grooves), EVAL_BATCH):
        out = model.evaluate(tf.constant(controls[k:k + EVAL_BATCH]), tf.constant(grooves[k:k + EVAL_BATCH]))
        for store, value in zip(parts, out, strict=True):
            store.append(value.numpy())
    ce, velocity_se, offset_se, kl = (np.concatenate(p) for p in parts)
    steps, struck = model.config.steps, max(float(grooves[..., :N].sum()), 1.0)
    recon = velocity_se + offset_se + (ce if model.config.mode == "tap" else 0.0)
    cost = recon + model.config.beta * np.maximum(kl - model.free_nats, 0.0)
    return {"valid_nll": float(cost.mean() / steps), "valid_hits_nll": float(ce.mean() / steps),
            "valid_velocity_rmse": float(np.sqrt(velocity_se.sum() / struck) * 127),
            "valid_offset_rmse_ms": float(np.sqrt(offset_se.sum() / struck) / 2 * MS_PER_STEP_AT_120),
            "valid_kl": float(kl.mean())}


class GrooveTrainer:
    """A GrooVAE config's side of a training run (see engine/training.Recipe)."""

    family = "music_vae"
    attn_length = 0

    def __init__(self, config: GrooveConfig, data: GrooveSet, batch_size: int) -> None:
        if len(data.train) == 0 or len(data.valid) == 0:
            raise InputError(f"{len(data.train)} training and {len(data.valid)} held-out windows: both sides of the "
                             "split need some")
        self.cfg, self.data, self.batch_size = config, data, batch_size
        self.data_info = dict(data.info)
        self._sizes()

    def _sizes(self) -> None:
        c = self.cfg
        self.config = c.name
        self.layer_sizes = c.decoder_sizes
        self.bundle_info: dict[str, Any] = {"z_size": c.z_size, "encoder_sizes": list(c.encoder_sizes),
                                            "beta": c.beta, "free_bits": c.free_bits, "kind": "groove",
                                            "mode": c.mode, "steps": c.steps}
        self.settings = {"batch_size": self.batch_size, "z_size": c.z_size, "encoder_sizes": list(c.encoder_sizes),
                         "layer_sizes": list(c.decoder_sizes), "beta": c.beta, "free_bits": c.free_bits}

    def task(self, start: Bundle | None, seed: int) -> Task:
        from generation.families.music_vae.groove_generator import groove_config_of

        if start is not None:
            if start.family != self.family or start.config != self.cfg.name:
                raise InputError(f"--init_from takes a {self.cfg.name} model, not {start.family}/{start.config}")
            self.cfg = groove_config_of(start)  # carrying on: the bundle's sizes win
            self._sizes()
        self.data = dataclasses.replace(self.data, config=self.cfg)
        model = GrooVae(self.cfg, weights=start.weights if start is not None else None, seed=seed)
        size, z_size = self.batch_size, self.cfg.z_size

        def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            controls, grooves = self.data.batch(rng, size)
            return controls, grooves, rng.standard_normal((size, z_size)).astype(np.float32)

        valid = self.data.valid
        return Task(model.vars, batch, model.loss, lambda: scores(model, valid), started_from_weights=start is not None)

    def score(self, bundle: Bundle) -> dict[str, Any]:
        from generation.families.music_vae.groove_card import quality_figures
        from generation.families.music_vae.groove_generator import GrooveGenerator

        generator = GrooveGenerator(bundle)
        self.cfg = generator.config
        valid = self.data.valid
        s = scores(generator.model, valid)
        return {"stored_weights_validation": {"windows": len(valid), "loss": s["valid_nll"],
                                              "hits_nll": s["valid_hits_nll"],
                                              "velocity_rmse": s["valid_velocity_rmse"],
                                              "offset_rmse_ms": s["valid_offset_rmse_ms"], "kl": s["valid_kl"]},
                "quality": quality_figures(generator, valid)}

    def write_card(self, folder: Path, info: dict[str, Any]) -> None:
        from generation.engine.model_card import write_card
        from generation.families.music_vae.groove_card import card

        write_card(folder, card(self.cfg, info), info)
