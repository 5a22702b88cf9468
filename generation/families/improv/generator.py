"""Improv RNN generation: chords + primer -> melodies, batched and compiled (the shared driver, engine/sampling.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from generation.data.leadsheet import NO_EVENT
from generation.engine.bundle import Bundle, load_bundle
from generation.engine.rnn import EventRnn
from generation.engine.sampling import FREE, OneHotStepper, SearchSettings
from generation.errors import InputError
from generation.families.improv.config import (
    CONFIGS,
    MAX_NOTES_PER_BAR,
    MAX_TOTAL_STEPS,
    MIN_NOTES_PER_BAR,
    ImprovConfig,
)
from generation.families.improv.encoding import classes_to_events, encode_chords, event_to_class
from generation.families.improv.steering import DensityStepper, output_targets
from generation.music.chords import Chord


class ImprovGenerator:
    """A loaded Improv RNN, ready to generate.

    Args:
        bundle: a trained bundle of the improv family.
    """

    def __init__(self, bundle: Bundle) -> None:
        if bundle.family != "improv" or bundle.config not in CONFIGS:
            raise InputError(f"bundle is a {bundle.family}/{bundle.config} model, not an Improv RNN "
                             f"({', '.join(CONFIGS)}).")
        self.bundle = bundle
        self.config: ImprovConfig = CONFIGS[bundle.config]
        self.model = EventRnn(self.config.input_size, self.config.num_classes, bundle.layer_sizes,
                              bundle.attn_length, weights=bundle.weights)
        self.stepper = OneHotStepper(self.model, self.config.num_classes)  # Magenta's sampling
        self.steered = DensityStepper(self.model, self.config.num_classes)

    @classmethod
    def load(cls, config: str, bundle_file: Path | None = None) -> ImprovGenerator:
        """Our shipped model for `config`, or the given bundle (our folder, its bundle.json, or a Magenta .mag)."""
        if config not in CONFIGS:
            raise InputError(f"unknown config {config!r}; choose one of {', '.join(CONFIGS)}.")
        from generation.engine.magenta_bundle import read_mag  # protobuf reading only for a .mag

        return cls(load_bundle(config, bundle_file, read_mag))

    def generate(
        self,
        chords: Sequence[Chord],
        steps_per_chord: int,
        primer: Sequence[int],
        num_outputs: int,
        search: SearchSettings,
        seed: int,
        *,
        notes_per_bar: float | None = None,
        steer: bool = True,
    ) -> list[list[int]]:
        """Melodies over `chords`, each len(chords) * steps_per_chord steps, starting with the primer.

        Generation starts on the step right after the primer's last event. With `steer`, note-ons are steered
        toward `notes_per_bar` (default: each output's own draw around the human figure for chords like these,
        steering.output_targets); without, the draw is Magenta's.

        Raises:
            InputError: a chord this config cannot encode, a primer outside the model's range or longer
                than the progression, a notes_per_bar out of range.
        """
        if notes_per_bar is not None and not MIN_NOTES_PER_BAR <= notes_per_bar <= MAX_NOTES_PER_BAR:
            raise InputError(f"notes per bar {notes_per_bar:g} is out of range; allowed: {MIN_NOTES_PER_BAR:g} "
                             f"to {MAX_NOTES_PER_BAR:g}.")
        total = len(chords) * steps_per_chord
        if total > MAX_TOTAL_STEPS:
            raise InputError(f"{len(chords)} chords x {steps_per_chord} steps = {total} steps; at most "
                             f"{MAX_TOTAL_STEPS} (256 bars) are allowed.")
        primer = list(primer) or [60]
        if len(primer) >= total:
            raise InputError(f"the primer is {len(primer)} steps long but the chords last only {total} steps: "
                             "add chords, raise steps_per_chord or shorten the primer.")
        if primer[0] == NO_EVENT:
            primer[0] = -1  # a rest at the start; "hold" has nothing to hold yet
        try:
            forced = [event_to_class(e, self.config) for e in primer] + [FREE] * (total - len(primer))
        except ValueError as e:
            raise InputError(f"primer: {e}; the model plays MIDI pitches {self.config.min_note}-"
                             f"{self.config.max_note - 1} (transpose the primer by octaves).") from e
        steps = [c for c in chords for _ in range(steps_per_chord)]
        controls = encode_chords([*steps, steps[-1]], self.config)  # one spare row: inputs look one step ahead
        if steer:
            targets = output_targets(chords, num_outputs, seed, notes_per_bar, MIN_NOTES_PER_BAR, MAX_NOTES_PER_BAR)
            classes, _ = self.steered.sample_steered(controls, np.array(forced, np.int32), targets, search, seed)
        else:
            classes, _ = self.stepper.sample(controls, np.array(forced, np.int32), num_outputs, search, seed)
        return [classes_to_events(row, self.config).tolist() for row in classes]

    @property
    def pitch_range(self) -> tuple[int, int]:
        return self.config.min_note, self.config.max_note - 1
