"""Melody RNN generation: a primer -> melodies on the shared driver (engine/sampling.py), Magenta's bundles too."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from generation.engine.bundle import Bundle, load_bundle
from generation.engine.rnn import EventRnn
from generation.engine.sampling import SearchSettings
from generation.errors import InputError
from generation.families.melody.config import CONFIGS, MAX_TOTAL_STEPS, MelodyConfig, installed_model
from generation.families.melody.encoding import melody_events, squash, transpose
from generation.families.melody.sampler import FREE, MelodySampler, log_likelihood, sample_melodies

FAMILY = "melody"
DEFAULT_PRIMER = (60,)  # Magenta's: a single middle C


class MelodyGenerator:
    """A loaded Melody RNN, ready to generate.

    Args:
        bundle: a trained bundle of the melody family (ours or read from a Magenta .mag).
    """

    def __init__(self, bundle: Bundle) -> None:
        if bundle.family != FAMILY or bundle.config not in CONFIGS:
            raise InputError(f"bundle is a {bundle.family}/{bundle.config} model, not a Melody RNN "
                             f"({', '.join(CONFIGS)}).")
        self.bundle = bundle
        self.config: MelodyConfig = CONFIGS[bundle.config]
        self.model = EventRnn(self.config.input_size, self.config.num_classes, bundle.layer_sizes,
                              bundle.attn_length, weights=bundle.weights)
        self.sampler = MelodySampler(self.model, self.config)

    @classmethod
    def load(cls, config: str, bundle_file: Path | None = None) -> MelodyGenerator:
        """Our installed model for `config`, or the given bundle (our folder, its bundle.json, or a Magenta .mag).

        Raises:
            InputError: unknown config, no model installed for it, or a bundle we cannot read as a Melody RNN.
        """
        if config not in CONFIGS:
            raise InputError(f"unknown config {config!r}; choose one of {', '.join(CONFIGS)}.")
        if bundle_file is None:
            return cls(Bundle.load(installed_model(config)))
        from generation.engine.magenta_bundle import read_mag  # protobuf reading only for a .mag

        return cls(load_bundle(config, bundle_file, lambda path: read_mag(path, {name: FAMILY for name in CONFIGS})))

    @property
    def pitch_range(self) -> tuple[int, int]:
        return self.config.min_note, self.config.max_note - 1

    def generate(
        self,
        primer: Sequence[int],
        num_steps: int,
        num_outputs: int,
        search: SearchSettings,
        seed: int,
    ) -> list[list[int]]:
        """Melodies of `num_steps` 16th-note steps (the primer's included), each starting with the primer.

        As in Magenta, the primer is moved into the config's key and range for the model (basic, lookback and
        attention see C major, MIDI 48-83) and the melodies are moved back, so they continue in the primer's key
        and register. Generation starts on the step right after the primer's last event.

        Raises:
            InputError: a primer that is not melody events, or as long as the melody or longer.
        """
        primer = melody_events(primer or DEFAULT_PRIMER)
        if not 1 <= num_steps <= MAX_TOTAL_STEPS:
            raise InputError(f"{num_steps} steps asked; a melody may last 1 to {MAX_TOTAL_STEPS} steps (256 bars).")
        if len(primer) >= num_steps:
            raise InputError(f"the primer is {len(primer)} steps long, so a {num_steps}-step melody leaves nothing "
                             "to generate: raise the number of steps or shorten the primer.")
        bad = [e for e in primer if not -2 <= e <= 127]
        if bad:
            raise InputError(f"primer: {bad[0]} is not a melody event (-2 hold, -1 note off, 0-127 note on).")
        moved, amount = squash(primer, self.config)
        forced = np.array(moved + [FREE] * (num_steps - len(moved)), np.int32)
        rows, _ = sample_melodies(self.sampler, forced, num_outputs, search, seed)
        return [primer + transpose(row[len(primer):].tolist(), -amount) for row in rows]

    def log_likelihood(self, events: Sequence[int]) -> float:
        """ln p of a melody's events after the first (moved as for generation), as Magenta scores melodies."""
        moved, _ = squash(melody_events(events), self.config)
        return log_likelihood(self.sampler, np.array(moved, np.int32))
