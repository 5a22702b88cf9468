"""MusicVAE generation: encode tracks to z, decode z to tracks, sample from the prior, interpolate by slerp.

Every draw is seeded: z from the prior and the per-step Gumbel noise of decoding come from
`numpy.random.default_rng(seed)`, so the same seed gives the same tracks. Decoding runs every step of all rows
(32, or the 16 bars of 16 of a hierarchical config) in one compiled function (rows = outputs); temperature 0 or
below decodes by argmax.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from generation.engine.bundle import Bundle, load_bundle
from generation.engine.tf_runtime import tf
from generation.errors import InputError
from generation.families.music_vae.config import MusicVaeConfig, installed_model, resolve
from generation.families.music_vae.encoding import Track, class_tracks, track_classes
from generation.families.music_vae.network import MusicVae

FAMILY = "music_vae"
MAX_OUTPUTS = 512  # rows decoded in one call


def config_of(bundle: Bundle) -> MusicVaeConfig:
    """The bundle's config with the sizes it was trained with."""
    info, config = bundle.info, resolve(bundle.config)
    return dataclasses.replace(config, z_size=int(info["z_size"]),
                               encoder_sizes=tuple(int(u) for u in info["encoder_sizes"]),
                               bar_encoder_sizes=tuple(int(u) for u in info.get("bar_encoder_sizes", ())),
                               decoder_sizes=tuple(int(u) for u in bundle.layer_sizes),
                               conductor_sizes=tuple(int(u) for u in info.get("conductor_sizes",
                                                                              config.conductor_sizes)),
                               beta=float(info.get("beta", 0.0)), free_bits=float(info.get("free_bits", 0.0)))


def slerp(a: np.ndarray, b: np.ndarray, num: int) -> np.ndarray:
    """`num` points from a to b (both included) by spherical interpolation of the vectors themselves, as Magenta's
    `_slerp`; straight interpolation where a and b point the same way (the sine of their angle is 0)."""
    out = slerp_at(a, b, np.linspace(0.0, 1.0, num))
    out[0], out[-1] = a, b  # exactly the encodings at the ends
    return out


def slerp_at(a: np.ndarray, b: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """The points [len(fractions), dims] at those fractions of the way from a to b, spherically."""
    t = np.asarray(fractions, np.float64)[:, None]
    cos = float(np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        out = (1 - t) * a + t * b
    else:
        out = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    out = np.where(t == 0, a, np.where(t == 1, b, out))  # the ends exactly
    return out.astype(np.float32)


class MusicVaeGenerator:
    """A loaded MusicVAE.

    Args:
        bundle: a trained bundle of the music_vae family.
    """

    def __init__(self, bundle: Bundle) -> None:
        if bundle.family != FAMILY:
            raise InputError(f"bundle is a {bundle.family}/{bundle.config} model, not a MusicVAE.")
        self.bundle = bundle
        self.config: MusicVaeConfig = config_of(bundle)
        self.model = MusicVae(self.config, weights=bundle.weights)

    @classmethod
    def load(cls, config: str, bundle_file: Path | None = None) -> MusicVaeGenerator:
        """Our installed model for `config` (Magenta's `_small`/`_big` spellings too), or the given bundle folder.

        Raises:
            InputError: unknown config, no model installed (naming the command that trains one), or a bundle
                that is not a MusicVAE of this config.
        """
        name = resolve(config).name
        if bundle_file is None:
            return cls(Bundle.load(installed_model(name)))

        def no_mag(path: Path) -> Bundle:
            raise InputError(f"{path.name}: Magenta's MusicVAE checkpoints are not .mag bundles; pass a model "
                             "folder written by music_vae_train.")

        bundle = load_bundle(name, bundle_file, no_mag)
        if bundle.family != FAMILY or resolve(bundle.config).name != name:
            raise InputError(f"bundle {str(bundle_file)!r} is a {bundle.family}/{bundle.config} model, not {name}.")
        return cls(bundle)

    def encode(self, tracks: Sequence[Track], refine_steps: int | None = None) -> np.ndarray:
        """The tracks' z, [n, z_size]: the posterior means, refined for `refine_steps` (the config's by default;
        network.MusicVae.refine) so that decoding z gives back more of each track.

        Raises:
            InputError: no tracks, too many, or a track the config cannot encode (length, pitch range).
        """
        _check_count(len(tracks))
        classes = track_classes(tracks, self.config)
        mu, _ = self.model.posterior(tf.constant(classes))
        steps = self.config.refine_steps if refine_steps is None else refine_steps
        if steps <= 0:
            return mu.numpy()
        return self.model.refine(tf.constant(classes), mu, steps).numpy()

    def decode(self, z: np.ndarray, temperature: float, seed: int) -> list[Track]:
        """One track per row of z [n, z_size]; temperature 0 or below takes the most likely class at each step."""
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.config.z_size:
            raise InputError(f"z must be [n, {self.config.z_size}], not {list(z.shape)}.")
        _check_count(len(z))
        return self._decode(z, temperature, np.random.default_rng(seed))

    def sample(self, n: int, temperature: float, seed: int) -> list[Track]:
        """n tracks decoded from z ~ N(0, I)."""
        _check_count(n)
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((n, self.config.z_size)).astype(np.float32)
        return self._decode(z, temperature, rng)

    def interpolate(self, a: Track, b: Track, num_outputs: int, temperature: float, seed: int,
                    refine_steps: int | None = None) -> list[Track]:
        """num_outputs tracks decoded along the slerp from z(a) to z(b), both ends included (z: `encode`)."""
        if num_outputs < 2:
            raise InputError(f"an interpolation has at least 2 outputs (its two ends), not {num_outputs}.")
        _check_count(num_outputs)
        za, zb = self.encode([a, b], refine_steps)
        return self._decode(slerp(za, zb, num_outputs), temperature, np.random.default_rng(seed))

    def vary(self, track: Track, n: int, change: float, temperature: float, seed: int) -> list[Track]:
        """n tracks decoded from the points `change` (0-1) of the way from z(track) toward n draws from the prior,
        by slerp: 0 decodes the track's own encoding n times, 1 samples afresh."""
        _check_count(n)
        if not 0.0 <= change <= 1.0:
            raise InputError(f"change must be between 0 and 1, not {change:g}.")
        (z,) = self.encode([track])
        rng = np.random.default_rng(seed)
        prior = rng.standard_normal((n, self.config.z_size)).astype(np.float32)
        points = np.stack([slerp_at(z, other, np.array([change]))[0] for other in prior])
        return self._decode(points, temperature, rng)

    def _decode(self, z: np.ndarray, temperature: float, rng: np.random.Generator) -> list[Track]:
        shape = (len(z), self.config.steps, self.config.num_classes)
        if temperature > 0:
            noise, inv_temperature = rng.gumbel(size=shape).astype(np.float32), 1.0 / temperature
        else:
            noise, inv_temperature = np.zeros(shape, np.float32), 1.0
        classes = self.model.decode(tf.constant(z), tf.constant(noise), tf.constant(inv_temperature, tf.float32))
        return class_tracks(classes.numpy(), self.config)


def _check_count(n: int) -> None:
    if not 1 <= n <= MAX_OUTPUTS:
        raise InputError(f"{n} tracks asked; MusicVAE takes 1 to {MAX_OUTPUTS} at a time.")
