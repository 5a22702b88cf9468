"""GrooVAE generation: humanize a quantised drum pattern, drumify a rhythm, each window played from a z of the prior.

z ~ N(0, temperature^2 I) is a drummer's feel (the encoder learnt it from takes as played); temperature 0 plays
the middle feel, z = 0. Drumify's hits are drawn at the temperature as well (logistic noise on the logits), on
the taps only and at least one on each; the velocities and offsets are the network's own. Every draw comes
from `numpy.random.default_rng(seed)`, so the same seed gives the same groove; all windows of a request are
played in one compiled call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from generation.engine.bundle import Bundle, load_bundle
from generation.engine.tf_runtime import tf
from generation.errors import InputError
from generation.families.music_vae.config import NUM_DRUM_CLASSES, STEPS_PER_BAR
from generation.families.music_vae.groove_config import GrooveConfig, installed_groove_model, resolve_groove
from generation.families.music_vae.groove_encoding import Hit, groove_hits, hits_of_steps, tap_rows
from generation.families.music_vae.groove_inputs import fit_bars, join_windows, windows
from generation.families.music_vae.groove_network import GrooVae

FAMILY = "music_vae"
T = TypeVar("T")
CHUNK = 512  # windows decoded in one call (all draws are made first, so the chunking changes nothing)


def groove_config_of(bundle: Bundle) -> GrooveConfig:
    """The bundle's config with the sizes it was trained with."""
    info = bundle.info
    return dataclasses.replace(resolve_groove(bundle.config), z_size=int(info["z_size"]),
                               encoder_sizes=tuple(int(u) for u in info["encoder_sizes"]),
                               decoder_sizes=tuple(int(u) for u in bundle.layer_sizes),
                               beta=float(info.get("beta", 0.0)), free_bits=float(info.get("free_bits", 0.0)))


class GrooveGenerator:
    """A loaded GrooVAE (humanize or tap_fixed_velocity)."""

    def __init__(self, bundle: Bundle) -> None:
        if bundle.family != FAMILY:
            raise InputError(f"bundle is a {bundle.family}/{bundle.config} model, not a GrooVAE.")
        self.bundle = bundle
        self.config = groove_config_of(bundle)
        self.model = GrooVae(self.config, weights=bundle.weights)

    @classmethod
    def load(cls, config: str, bundle_file: Path | None = None) -> GrooveGenerator:
        """Our installed model for `config`, or the given bundle folder.

        Raises:
            InputError: unknown config, none installed (naming the command that trains one), or a bundle that is
                not this config.
        """
        name = resolve_groove(config).name
        if bundle_file is None:
            return cls(Bundle.load(installed_groove_model(name)))

        def no_mag(path: Path) -> Bundle:
            raise InputError(f"{path.name}: Magenta's GrooVAE checkpoints are not .mag bundles; pass a model folder "
                             "written by music_vae_train.")

        bundle = load_bundle(name, bundle_file, no_mag)
        if bundle.family != FAMILY or bundle.config != name:
            raise InputError(f"bundle {str(bundle_file)!r} is a {bundle.family}/{bundle.config} model, not {name}.")
        return cls(bundle)

    # --- whole windows ------------------------------------------------------------------------------------------
    def play(self, controls: np.ndarray, temperature: float, seed: int, z: np.ndarray | None = None) -> np.ndarray:
        """Grooves [n, steps, 27] for input rows [n, steps, control_size]; z drawn from the prior unless given."""
        controls = np.asarray(controls, np.float32)
        c = self.config
        if controls.ndim != 3 or controls.shape[1:] != (c.steps, c.control_size):
            raise InputError(f"{c.name} plays windows of {c.steps} steps x {c.control_size}, not "
                             f"{list(controls.shape[1:])}.")
        if not len(controls):
            raise InputError("no windows to play.")
        rng = np.random.default_rng(seed)
        if z is None:
            z = rng.standard_normal((len(controls), c.z_size)) * max(temperature, 0.0)
        shape = (len(controls), c.steps, NUM_DRUM_CLASSES)
        if temperature > 0:
            u = rng.uniform(1e-6, 1 - 1e-6, shape)
            noise, inv_temperature = np.log(u) - np.log1p(-u), 1.0 / temperature
        else:
            noise, inv_temperature = np.zeros(shape), 1.0
        played = [self.model.decode(tf.constant(z[k:k + CHUNK], tf.float32), tf.constant(controls[k:k + CHUNK]),
                                    tf.constant(noise[k:k + CHUNK], tf.float32),
                                    tf.constant(inv_temperature, tf.float32)).numpy()
                  for k in range(0, len(controls), CHUNK)]
        return np.concatenate(played)

    def reconstruct(self, grooves: np.ndarray, controls: np.ndarray) -> np.ndarray:
        """The grooves played again from z = the posterior mean of the drummer's own take (no draws)."""
        mu, _ = self.model.posterior(tf.constant(np.asarray(grooves, np.float32)))
        return self.play(controls, 0.0, 0, z=mu.numpy())

    def humanize(self, patterns: Sequence[Sequence[Iterable[int]]], temperature: float, seed: int) -> list[list[Hit]]:
        """Each 2-bar pattern (GM drum pitches per 16th step) played: the same hits with velocity and timing.

        Raises:
            InputError: this is not the humanize model, or a pattern is not one window long.
        """
        self._need("humanize")
        steps = [[frozenset(s) for s in p] for p in patterns]
        played = self.play(np.stack([hits_of_steps(self._window(p)) for p in steps]), temperature, seed)
        return [groove_hits(g, p) for g, p in zip(played, steps, strict=True)]

    def drumify(self, rhythms: Sequence[Sequence[bool | int]], temperature: float, seed: int) -> list[list[Hit]]:
        """Each 2-bar rhythm (truthy where a note starts, per 16th step) played as drums.

        Raises:
            InputError: this is not the tap model, or a rhythm is not one window long.
        """
        self._need("tap")
        played = self.play(np.stack([tap_rows(self._window(r)) for r in rhythms]), temperature, seed)
        return [groove_hits(g) for g in played]

    # --- any length ---------------------------------------------------------------------------------------------
    def humanize_track(self, steps: Sequence[Iterable[int]], temperature: float, seed: int, what: str = "the file"
                       ) -> tuple[list[Hit], int, list[str]]:
        """A drum part of any length humanised 2 bars at a time: (hits, steps, notes on how it was fitted)."""
        pattern = [frozenset(s) for s in steps]
        start, bars, notes = fit_bars([bool(s) for s in pattern], what)
        parts = windows(pattern, start, bars, self.config.steps, frozenset())
        played = self.humanize(parts, temperature, seed)
        return join_windows(played, self.config.steps, bars * STEPS_PER_BAR), bars * STEPS_PER_BAR, notes

    def drumify_track(self, onsets: Sequence[bool], temperature: float, seed: int, what: str = "the file"
                      ) -> tuple[list[Hit], int, list[str]]:
        """A rhythm of any length drummed 2 bars at a time: (hits, steps, notes on how it was fitted)."""
        start, bars, notes = fit_bars(onsets, what)
        parts = windows(list(onsets), start, bars, self.config.steps, False)
        played = self.drumify(parts, temperature, seed)
        return join_windows(played, self.config.steps, bars * STEPS_PER_BAR), bars * STEPS_PER_BAR, notes

    def _need(self, mode: str) -> None:
        if self.config.mode != mode:
            other = "humanize" if mode == "humanize" else "drumify"
            raise InputError(f"{self.config.name} does not {other}; use "
                             f"{'groovae_2bar_humanize' if mode == 'humanize' else 'groovae_2bar_tap_fixed_velocity'}.")

    def _window(self, part: Sequence[T]) -> Sequence[T]:
        if len(part) != self.config.steps:
            raise InputError(f"a window has {len(part)} steps; {self.config.name} plays exactly {self.config.steps} "
                             f"(16th notes, {self.config.bars} bars).")
        return part
