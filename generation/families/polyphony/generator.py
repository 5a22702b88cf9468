"""Polyphony RNN generation: a primer (chord, melody or MIDI notes) -> polyphonic pieces of exactly num_steps steps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from generation.engine.bundle import Bundle, load_bundle
from generation.engine.rnn import EventRnn
from generation.engine.sampling import SearchSettings
from generation.errors import InputError
from generation.families.polyphony.encoding import NUM_CLASSES, events_to_notes, notes_to_events
from generation.families.polyphony.sampler import PolyphonyStepper, Schedule, sample_events
from generation.families.polyphony.steering import VoiceLeading
from generation.music.notes import Note

CONFIG = "polyphony"
MAX_STEPS = 2048  # 128 bars of 4/4 in 16th notes
MAX_PRIMER_STEPS = 1024


class PolyphonyGenerator:
    """A loaded Polyphony RNN, ready to generate.

    Args:
        bundle: a trained bundle of the polyphony family.
    """

    def __init__(self, bundle: Bundle) -> None:
        if bundle.family != "polyphony":
            raise InputError(f"bundle is a {bundle.family}/{bundle.config} model, not a Polyphony RNN.")
        if not bundle.layer_sizes:  # the leadsheet_harmonizer's tables share the family, not the network
            raise InputError(f"bundle is the {bundle.config} (chord tables), not a Polyphony RNN; run it with "
                             f"--config={bundle.config}.")
        self.bundle = bundle
        self.model = EventRnn(NUM_CLASSES, NUM_CLASSES, bundle.layer_sizes, bundle.attn_length,
                              weights=bundle.weights)
        self.stepper = PolyphonyStepper(self.model)

    @classmethod
    def load(cls, bundle_file: Path | None = None) -> PolyphonyGenerator:
        """Our shipped model (models/polyphony), or the given bundle: our folder, its bundle.json, or a .mag.

        Raises:
            InputError: no readable Polyphony RNN bundle there.
        """
        from generation.families.polyphony.magenta import read_polyphony_mag

        return cls(load_bundle(CONFIG, bundle_file, read_polyphony_mag))

    def generate(
        self,
        primer: Sequence[Note],
        num_steps: int,
        *,
        condition_on_primer: bool,
        inject_primer: bool,
        num_outputs: int,
        search: SearchSettings,
        seed: int,
        voice_leading: bool = True,
    ) -> list[list[Note]]:
        """Pieces of exactly `num_steps` 16th-note steps, one list of notes per output.

        - inject_primer: the primer's notes are in each output at their steps. Without conditioning the
          model adds notes under them as it goes (nothing above an injected note: a melody stays the top
          voice); with conditioning the primer steps are the primer alone. Generation continues right
          where the primer ends; the primer must fit in num_steps.
        - no injection, conditioning: the model hears the primer, then writes num_steps new steps (the
          output starts where the primer ends and holds none of its notes).
        - neither: the primer is not used; the model starts from nothing.

        voice_leading: lean each new note towards the key so far and away from clashes and parallel 5ths/octaves
        with the notes above it (steering.py); forced notes are kept as given. False samples as Magenta does.

        Raises:
            InputError: num_steps, num_outputs or the search settings out of range, or a primer that does
                not fit.
        """
        _check_request(primer, num_steps, num_outputs, search)
        primer_steps = max((n.end for n in primer), default=0)
        if inject_primer and primer_steps > num_steps:
            raise InputError(f"the primer lasts {primer_steps} steps but num_steps is {num_steps}: with the primer "
                             f"in the output, num_steps must be at least {primer_steps}.")
        if not inject_primer and not condition_on_primer:
            primer, primer_steps = [], 0
        lead = 0 if inject_primer else primer_steps  # steps before the output begins
        total = lead + num_steps
        per_step: list[list[int]] = [[] for _ in range(total)]
        step = 0
        for cls in notes_to_events(primer, primer_steps, start=False):
            if cls == 2:  # STEP_END
                step += 1
            else:
                per_step[step].append(cls)
        width = max(1, *(len(p) for p in per_step))
        forced = np.full((total, width), -1, np.int32)
        for s, classes in enumerate(per_step):
            forced[s, : len(classes)] = classes
        free = np.ones(total, bool)
        if condition_on_primer:
            free[:primer_steps] = False  # the primer steps are the primer alone
        fresh = np.zeros(total, bool)
        if lead:
            fresh[lead] = True  # the output starts with new notes, none carried over from the primer
        rows = sample_events(self.stepper, Schedule(forced, free, fresh), num_outputs, search, seed,
                             VoiceLeading() if voice_leading else None)
        pieces = []
        for row in rows:
            notes, steps = events_to_notes(row)
            if steps != total:
                raise RuntimeError(f"sampler returned {steps} steps, expected {total}")
            pieces.append([Note(n.start - lead, n.end - lead, n.pitch, n.velocity) for n in notes if n.start >= lead])
        return pieces


LIMITS = {"num_steps": (1, MAX_STEPS), "num_outputs": (1, 100), "temperature": (0.01, 10.0),
          "beam_size": (1, 64), "branch_factor": (1, 64), "steps_per_iteration": (1, 4096)}


def _check_request(primer: Sequence[Note], num_steps: int, num_outputs: int, search: SearchSettings) -> None:
    values = {"num_steps": num_steps, "num_outputs": num_outputs, "temperature": search.temperature,
              "beam_size": search.beam_size, "branch_factor": search.branch_factor,
              "steps_per_iteration": search.steps_per_iteration}
    for name, value in values.items():
        lo, hi = LIMITS[name]
        if not lo <= value <= hi:
            raise InputError(f"{name}={value} is out of range; allowed: {lo} to {hi}.")
    if search.beam_size * search.branch_factor * num_outputs > 1024:
        raise InputError(f"beam_size x branch_factor x num_outputs = "
                         f"{search.beam_size * search.branch_factor * num_outputs}; at most 1024 rows are allowed.")
    for n in primer:
        if not (0 <= n.start < n.end and 0 <= n.pitch <= 127):
            raise InputError(f"primer note {n} is not a note: steps must satisfy 0 <= start < end and pitch 0-127.")
    primer_steps = max((n.end for n in primer), default=0)
    if primer_steps > MAX_PRIMER_STEPS:
        raise InputError(f"the primer lasts {primer_steps} steps; at most {MAX_PRIMER_STEPS} are allowed.")
