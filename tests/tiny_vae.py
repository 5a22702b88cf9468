"""Small MusicVAE networks for tests of the 16-bar configs: the config's layout at tiny sizes, weights moved off
their first draw, and saved as a bundle the generators load."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from generation.families.music_vae.config import MusicVaeConfig

if TYPE_CHECKING:
    from generation.families.music_vae.network import MusicVae


def busy_network(config: MusicVaeConfig, seed: int = 0) -> MusicVae:
    """A network with every weight moved off its first draw (biases too), so no path through it is zero."""
    from generation.families.music_vae.network import MusicVae

    model = MusicVae(config, seed=seed)
    rng = np.random.default_rng(seed)
    for v in model.vars.values():
        v.assign(v.numpy() + rng.normal(0.0, 0.3, v.shape).astype(np.float32))
    return model


def save_tiny(folder: Path, config: MusicVaeConfig) -> Path:
    """`busy_network(config)` saved as a bundle folder, as music_vae_train writes one."""
    from generation.engine.bundle import Bundle

    info = {"z_size": config.z_size, "encoder_sizes": list(config.encoder_sizes), "beta": config.beta,
            "free_bits": config.free_bits, "kind": config.kind, "conductor_sizes": list(config.conductor_sizes),
            "bar_encoder_sizes": list(config.bar_encoder_sizes)}
    Bundle("music_vae", config.name, config.decoder_sizes, 0, busy_network(config).numpy_weights(), info).save(folder)
    return folder
