"""Pianoroll RNN-NADE generation: primer frames -> polyphonic rolls, batched and compiled (see sampler.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from generation.engine.bundle import Bundle, load_bundle
from generation.engine.sampling import SearchSettings
from generation.errors import InputError
from generation.families.pianoroll.config import CONFIGS, MAX_PITCH, MIN_PITCH, PianorollConfig
from generation.families.pianoroll.dataset import frames_to_roll, roll_to_frames
from generation.families.pianoroll.network import RnnNade
from generation.families.pianoroll.sampler import PianorollStepper, VoiceLeading, sample_rolls

FAMILY = "pianoroll"
MAX_STEPS = 4096
MAX_OUTPUTS = 100


class PianorollGenerator:
    """A loaded RNN-NADE, ready to generate.

    Args:
        bundle: a trained bundle of the pianoroll family (info holds nade_hidden and steps_per_quarter).
    """

    def __init__(self, bundle: Bundle) -> None:
        if bundle.family != FAMILY:
            raise InputError(f"bundle is a {bundle.family}/{bundle.config} model, not a Pianoroll RNN-NADE "
                             f"({', '.join(CONFIGS)}).")
        self.bundle = bundle
        self.config: PianorollConfig | None = CONFIGS.get(bundle.config)
        self.steps_per_quarter: int = int(bundle.info.get(
            "steps_per_quarter", self.config.steps_per_quarter if self.config else 4))
        hidden = int(bundle.info.get("nade_hidden") or len(bundle.weights["nade/w_enc"][0, 0]))
        self.model = RnnNade(bundle.layer_sizes, hidden, weights=bundle.weights)
        self.stepper = PianorollStepper(self.model)
        # Voice leading is the config's default (on for rnn-nade-bach); a bundle of an unknown config samples
        # as Magenta does.
        self.voice_leading: bool = bool(self.config and self.config.voice_leading)

    @classmethod
    def load(cls, config: str, bundle_file: Path | None = None) -> PianorollGenerator:
        """Our shipped model for `config`, or the given bundle (our model folder or its bundle.json)."""
        if config not in CONFIGS:
            raise InputError(f"unknown config {config!r}; choose one of {', '.join(CONFIGS)}.")
        from generation.families.pianoroll.magenta import read_pianoroll_mag

        return cls(load_bundle(config, bundle_file, read_pianoroll_mag))

    def generate(self, primer: Sequence[frozenset[int]], num_steps: int, num_outputs: int,
                 search: SearchSettings, seed: int, voice_leading: bool | None = None) -> list[list[frozenset[int]]]:
        """Rolls of exactly num_steps frames each, the primer's frames first; drawing starts right after them.

        voice_leading: draw several frames per step and keep one without parallel 5ths/octaves, leaning towards
        the key so far (sampler.py); False is Magenta's sampling; None: the config's default.

        Raises:
            InputError: pitches outside 21-108, a primer longer than num_steps, num_steps or num_outputs
                out of range.
        """
        if not 1 <= num_steps <= MAX_STEPS:
            raise InputError(f"num_steps={num_steps} is out of range; allowed: 1 to {MAX_STEPS}.")
        if not 1 <= num_outputs <= MAX_OUTPUTS:
            raise InputError(f"num_outputs={num_outputs} is out of range; allowed: 1 to {MAX_OUTPUTS}.")
        if len(primer) > num_steps:
            raise InputError(f"the primer is {len(primer)} steps long but num_steps is {num_steps}: the output "
                             "length includes the primer, so raise num_steps or shorten the primer.")
        outside = sorted({p for frame in primer for p in frame if not MIN_PITCH <= p <= MAX_PITCH})
        if outside:
            raise InputError(f"primer pitch {outside[0]} is outside the piano's 88 keys; the model plays MIDI "
                             f"pitches {MIN_PITCH}-{MAX_PITCH} (A0-C8).")
        lead = self.voice_leading if voice_leading is None else voice_leading
        rolls = sample_rolls(self.stepper, frames_to_roll(primer), num_steps, num_outputs, search, seed,
                             VoiceLeading() if lead else None)
        return [roll_to_frames(np.asarray(r)) for r in rolls]
