"""Train a MusicVAE config with the shared loop (engine/training.py) on 2- or 16-bar windows (data.py; a trio's:
trio_windows.py).

The loss is Magenta's: reconstruction NLL of the window (teacher-forced, z drawn from q(z | x) with the
reparameterisation; the loop's seeded generator draws the noise with the batch) + beta * max(KL - free nats, 0),
here divided by the window's steps (32 or 256) so the curve reads in nats per step (a trio's: the three parts'
NLLs summed, as Magenta's split decoders). Validation scores held-out windows with z the posterior mean; the loop
keeps the weights of the best validation loss. The stored weights are then scored on every held-out window,
teacher-forced and by argmax decoding from the posterior mean (the reconstruction a user gets), each part's for a
trio, and prior samples are measured beside held-out human windows (card.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from generation.engine.bundle import Bundle
from generation.engine.tf_runtime import tf
from generation.engine.training import Task
from generation.errors import InputError
from generation.families.music_vae.config import TRIO_PARTS, MusicVaeConfig
from generation.families.music_vae.data import WindowSet
from generation.families.music_vae.encoding import track_classes
from generation.families.music_vae.network import MusicVae
from generation.families.music_vae.warm_start import transfers

if TYPE_CHECKING:
    from generation.families.music_vae.trio_windows import TrioWindows

EVAL_BATCH = 256
# The loop validates on this many held-out steps' worth of windows (spread evenly): 2,000 2-bar windows, 250
# 16-bar ones; the card on all of them.
LOOP_VALIDATION_STEPS = 2000 * 32
# Their argmax decodings' accuracy (about 4 s for 250 16-bar windows) picks the weights kept: a 16-bar model's
# teacher-forced NLL kept improving while its decodings stayed one note a bar.


@dataclass(frozen=True)
class VaeSettings:
    """Batches and the card's samples (the network's sizes, beta and free bits live in the config).

    Attributes:
        batch_size: windows per Adam update.
        eval_windows: held-out windows reconstructed by argmax decoding for the card.
        prior_samples: tracks sampled from the prior (temperature 1) for the card's figures.
        warm_start: folders of 2-bar models whose decoder (and encoder, same inputs) start a hierarchical
            config's cores (warm_start.py); ignored when carrying on with --init_from.
        freeze: scopes (name prefixes, e.g. "core_decoder/") of variables kept as they start: a warm-started core
            decoder that cannot change cannot learn to ignore the conductor while the conductor is still untrained.
        input_dropout: share of the decoder's teacher-forced inputs replaced by the start row in training (word
            dropout, network.previous_inputs); validation and generation always see every input.
    """

    batch_size: int = 128
    eval_windows: int = 300
    prior_samples: int = 200
    warm_start: tuple[str, ...] = ()
    input_dropout: float = 0.0
    freeze: tuple[str, ...] = ()


def scores(model: MusicVae, classes: np.ndarray) -> dict[str, float]:
    """Figures of windows [N, T] with z the posterior mean: the loss as trained (nats/step), its reconstruction
    part (nats/step), mean KL (nats per window) and teacher-forced accuracy."""
    recon, kl, correct = [], [], []
    for k in range(0, len(classes), EVAL_BATCH):
        r, d, c = model.evaluate(tf.constant(classes[k:k + EVAL_BATCH], tf.int32))
        recon.append(r.numpy())
        kl.append(d.numpy())
        correct.append(c.numpy())
    r, d, c = np.concatenate(recon), np.concatenate(kl), np.concatenate(correct)
    steps = model.config.steps
    cost = r + model.config.beta * np.maximum(d - model.free_nats, 0.0)
    out = {"valid_nll": float(cost.mean() / steps), "valid_recon_nll": float(r.mean() / steps),
           "valid_kl": float(d.mean()), "valid_accuracy": float(c.mean() / steps)}
    if c.ndim == 2:  # a trio: each part's accuracy too (the mean of the three is valid_accuracy)
        out.update({f"valid_accuracy_{part}": float(c[:, k].mean() / steps) for k, part in enumerate(TRIO_PARTS)})
    return out


def decoded_accuracy(model: MusicVae, classes: np.ndarray) -> float:
    """Share of steps (of every part, for a trio) that argmax decoding from the posterior mean gets right."""
    right = []
    for k in range(0, len(classes), EVAL_BATCH):
        rows = tf.constant(classes[k:k + EVAL_BATCH], tf.int32)
        mu, _ = model.posterior(rows)
        zeros = tf.zeros([len(mu), model.config.steps, model.config.num_classes])
        right.append(model.decode(mu, zeros, tf.constant(1.0)).numpy() == classes[k:k + EVAL_BATCH])
    return float(np.concatenate(right).mean())


def decoded_figures(steps_right: np.ndarray) -> dict[str, Any]:
    """Accuracy (mean ± standard error over windows) and the share of windows exactly right, from each window's
    share of steps right [N] (a trio's [N, 3]: also each part's, and exact means all three)."""
    def of(right: np.ndarray) -> dict[str, float]:
        return {"accuracy": float(right.mean()),
                "standard_error": float(right.std(ddof=1) / np.sqrt(len(right))) if len(right) > 1 else float("nan"),
                "exact": float((right == 1).mean())}

    if steps_right.ndim == 1:
        return {"windows": len(steps_right), **of(steps_right)}
    every = of(steps_right.mean(axis=1))
    return {"windows": len(steps_right), **every,
            "parts": {part: of(steps_right[:, k]) for k, part in enumerate(TRIO_PARTS)}}


def spread(n: int, k: int) -> np.ndarray:
    """k indices spread evenly over range(n) (all of them when k >= n)."""
    return np.arange(n) if k >= n else np.linspace(0, n - 1, k).round().astype(np.int64)


class MusicVaeTrainer:
    """A MusicVAE config's side of a training run (see engine/training.Recipe)."""

    family = "music_vae"
    attn_length = 0

    def __init__(self, config: MusicVaeConfig, windows: WindowSet | TrioWindows, data_info: dict[str, Any],
                 settings: VaeSettings) -> None:
        if len(windows.train) == 0 or len(windows.valid) == 0:
            raise InputError(f"{len(windows.train)} training and {len(windows.valid)} held-out windows: both "
                             "sides of the split need some (add data or sources)")
        self.cfg = config
        self.windows = windows
        self.options = settings
        self.data_info = {**data_info, **windows.info}
        self._sizes()

    def _sizes(self) -> None:
        c = self.cfg
        self.config = c.name
        self.layer_sizes = c.decoder_sizes
        self.bundle_info: dict[str, Any] = {"z_size": c.z_size, "encoder_sizes": list(c.encoder_sizes),
                                            "beta": c.beta, "free_bits": c.free_bits, "kind": c.kind,
                                            "steps": c.steps}
        if c.hierarchical:
            self.bundle_info["conductor_sizes"] = list(c.conductor_sizes)
        if c.bar_encoder_sizes:
            self.bundle_info["bar_encoder_sizes"] = list(c.bar_encoder_sizes)
        self.settings = {**dataclasses.asdict(self.options), "z_size": c.z_size,
                         "encoder_sizes": list(c.encoder_sizes), "layer_sizes": list(c.decoder_sizes),
                         "beta": c.beta, "free_bits": c.free_bits,
                         **({"conductor_sizes": list(c.conductor_sizes)} if c.hierarchical else {}),
                         **({"bar_encoder_sizes": list(c.bar_encoder_sizes)} if c.bar_encoder_sizes else {})}

    def task(self, start: Bundle | None, seed: int) -> Task:
        from generation.families.music_vae.generator import config_of

        if start is not None:
            if start.family != self.family or config_of(start).name != self.cfg.name:
                raise InputError(f"--init_from takes a {self.cfg.name} model, not {start.family}/{start.config}")
            self.cfg = config_of(start)  # carrying on: the bundle's sizes, beta and free bits win
            self._sizes()
        model = MusicVae(self.cfg, weights=start.weights if start is not None else None, seed=seed)
        if start is None and self.options.warm_start:
            self.settings["warm_start"] = warm_start(model, self.options.warm_start)
        size, z_size, dropout = self.options.batch_size, self.cfg.z_size, self.options.input_dropout

        def batch(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
            drawn = (self.windows.batch(rng, size), rng.standard_normal((size, z_size)).astype(np.float32))
            return (*drawn, rng.random((size, self.cfg.steps)) >= dropout) if dropout else drawn

        valid = self.windows.valid
        # Every held-out 2-bar melody window takes ~12 s on this CPU; a fixed spread of them ranks weights as well.
        in_loop = valid[spread(len(valid), LOOP_VALIDATION_STEPS // self.cfg.steps)]
        self.data_info["loop_validation_windows"] = len(in_loop)
        frozen = frozenset(name for name in model.vars if name.startswith(self.options.freeze))
        for scope in self.options.freeze:
            if not any(name.startswith(scope) for name in model.vars):
                raise InputError(f"--freeze {scope}: no variable of {self.cfg.name} is under that scope (scopes: "
                                 f"{', '.join(sorted({name.split('/')[0] + '/' for name in model.vars}))})")
        self.settings["frozen_variables"] = len(frozen)

        def validate() -> dict[str, float]:
            accuracy = decoded_accuracy(model, in_loop)
            return {**scores(model, in_loop), "valid_decoded_accuracy": accuracy,
                    "valid_decoded_error": 1.0 - accuracy}

        return Task(model.vars, batch, model.loss, validate, started_from_weights=start is not None, frozen=frozen,
                    select=("valid_decoded_error", "argmax-decoded accuracy from the posterior mean"))

    def score(self, bundle: Bundle) -> dict[str, Any]:
        from generation.families.music_vae.card import quality_figures
        from generation.families.music_vae.generator import MusicVaeGenerator

        generator = MusicVaeGenerator(bundle)
        self.cfg = generator.config  # the card describes the stored network (--card_only may not name its sizes)
        valid = self.windows.valid
        teacher = scores(generator.model, valid)
        picked = valid[spread(len(valid), self.options.eval_windows)]
        mu, _ = generator.model.posterior(tf.constant(picked))
        # Through the generator's own decode (argmax) and back to classes: what a user's reconstruction is.
        decoded = track_classes(generator.decode(mu.numpy(), 0.0, seed=0), generator.config)
        sampled = decoded_figures((decoded == picked).mean(axis=1))
        parts = {part: teacher[f"valid_accuracy_{part}"] for part in TRIO_PARTS if f"valid_accuracy_{part}" in teacher}
        return {"stored_weights_validation": {"windows": len(valid), "loss": teacher["valid_nll"],
                                              "nll": teacher["valid_recon_nll"], "kl": teacher["valid_kl"],
                                              "accuracy": teacher["valid_accuracy"], "argmax_decoded": sampled,
                                              **({"part_accuracy": parts} if parts else {})},
                "quality": quality_figures(generator, valid, self.options.prior_samples)}

    def write_card(self, folder: Path, info: dict[str, Any]) -> None:
        from generation.engine.model_card import write_card
        from generation.families.music_vae.card import card

        write_card(folder, card(self.cfg, info), info)


def warm_start(model: MusicVae, folders: Sequence[str]) -> list[dict[str, Any]]:
    """Copy 2-bar models' weights into `model`'s core decoders and encoder; what was copied from where."""
    sources = []
    for folder in folders:
        bundle = Bundle.load(Path(folder))
        sources.append((str(folder), bundle.info.get("kind", ""), bundle.weights))
    arrays, record = transfers(model.config, {k: tuple(v.shape) for k, v in model.vars.items()}, sources)
    for name, value in arrays.items():
        model.vars[name].assign(value)
    return record
