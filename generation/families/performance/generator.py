"""Performance RNN generation: primer + controls -> expressive piano, on the shared driver (engine/sampling.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pretty_midi

from generation.engine.bundle import Bundle, default_bundle_dir
from generation.engine.rnn import EventRnn
from generation.engine.sampling import SearchSettings
from generation.engine.tf_runtime import tf
from generation.errors import InputError
from generation.families.performance import steering
from generation.families.performance.config import (
    CONFIGS,
    DEFAULT_NOTE_DENSITY,
    DEFAULT_PITCH_HISTOGRAM,
    STEPS_PER_SECOND,
    PerformanceConfig,
    config_taking,
)
from generation.families.performance.encoding import (
    SHIFT0,
    VELOCITY0,
    classes_to_notes,
    control_vector,
    notes_to_classes,
)
from generation.families.performance.stepper import PerformanceStepper, sample_events
from generation.music.notes import Note

MAX_NUM_STEPS = 60 * STEPS_PER_SECOND * 5  # 5 minutes
MAX_DENSITY = 64.0
START_EVENT = SHIFT0  # context for an empty primer (a 10 ms shift); it is not part of the output
KEY_STREAM = 1  # keys are drawn from their own stream of the seed, apart from the sampler's


class PerformanceGenerator:
    """A loaded Performance RNN, ready to generate.

    Args:
        bundle: a trained bundle of the performance family.
    """

    def __init__(self, bundle: Bundle) -> None:
        if bundle.family != "performance" or bundle.config not in CONFIGS:
            raise InputError(f"bundle is a {bundle.family}/{bundle.config} model, not a Performance RNN "
                             f"({', '.join(CONFIGS)}).")
        self.bundle = bundle
        self.config: PerformanceConfig = CONFIGS[bundle.config]
        self.model = EventRnn(self.config.input_size, self.config.num_classes, bundle.layer_sizes,
                              weights=bundle.weights)
        self.stepper = PerformanceStepper(self.model, self.config)
        self.last_event_count = 0  # events the model made in the last call, all outputs (for benchmarks)

    @classmethod
    def load(cls, config: str, bundle_file: Path | None = None) -> PerformanceGenerator:
        """Our shipped model for `config`, or the given bundle (our folder, its bundle.json, or a Magenta .mag)."""
        if config not in CONFIGS:
            raise InputError(f"unknown config {config!r}; choose one of {', '.join(CONFIGS)}.")
        if bundle_file is None:
            folder = default_bundle_dir(config)
            if not (folder / "bundle.json").is_file():
                raise InputError(f"no trained model for {config} here (expected {folder}); train one with "
                                 f"performance_rnn_train --config={config} or pass --bundle_file.")
            return cls(Bundle.load(folder))
        if bundle_file.suffix == ".mag":
            from generation.engine.magenta_bundle import read_mag  # protobuf reading only when needed

            return cls(read_mag(bundle_file, {name: "performance" for name in CONFIGS}))
        folder = bundle_file.parent if bundle_file.name == "bundle.json" else bundle_file
        if not (folder / "bundle.json").is_file():
            raise InputError(f"bundle {str(bundle_file)!r} is not a model folder with bundle.json.")
        return cls(Bundle.load(folder))

    def warm_up(self) -> None:
        """Trace the compiled loop for every steering this config can use (each is its own trace, ~3 s)."""
        search = SearchSettings()
        for density in (None, 4.0) if self.config.density else (None,):
            for histogram in (None, DEFAULT_PITCH_HISTOGRAM) if self.config.pitch else (None,):
                self.generate_notes([], 20, num_outputs=1, search=search, seed=0, notes_per_second=density,
                                    pitch_class_histogram=histogram)

    def unused_controls(self, notes_per_second: float | None, pitch_class_histogram: Sequence[float] | None,
                        disable_conditioning: bool = False) -> list[str]:
        """Warnings for controls this config cannot take, naming the configs that can."""
        out = []
        for flag, given in (("notes_per_second", notes_per_second is not None),
                            ("pitch_class_histogram", pitch_class_histogram is not None)):
            if given and flag not in self.config.controls:
                out.append(f"{self.config.name} cannot take --{flag}; it is ignored (use "
                           f"{' or '.join(config_taking(flag))}).")
        if disable_conditioning and not self.config.optional_conditioning:
            out.append(f"{self.config.name} has no optional conditioning; --disable_conditioning is ignored (only "
                       "Magenta's optional_multiconditioned_performance_with_dynamics takes it; we do not ship it).")
        return out

    def generate_notes(
        self,
        primer: Sequence[Note],
        num_steps: int,
        *,
        num_outputs: int,
        search: SearchSettings,
        seed: int,
        notes_per_second: float | None = None,
        pitch_class_histogram: Sequence[float] | None = None,
        disable_conditioning: bool = False,
        primer_end: int | None = None,
        steer: bool = True,
    ) -> list[list[Note]]:
        """Performances as notes on the 10 ms grid, each lasting `num_steps` steps, primer included.

        Generation starts at the primer's end (`primer_end`, default its last note's end). Controls the
        config cannot take are ignored (see unused_controls); a density config without a request is
        conditioned on Magenta's default (15 notes/s, uniform pitch classes) without density steering.
        Without a pitch request each output is steered toward a key (output_keys). With `steer=False`
        requests reach only the conditioning inputs and no key is steered (for comparison; see steering.py);
        note-offs are handled the same either way (steering.release_logits).

        Raises:
            InputError: values out of range, or a primer as long as the output.
        """
        check_controls(notes_per_second, pitch_class_histogram)
        if not 1 <= num_steps <= MAX_NUM_STEPS:
            raise InputError(f"num_steps={num_steps} is out of range; allowed: 1 to {MAX_NUM_STEPS} (10 ms steps).")
        for n in primer:
            if not (0 <= n.start < n.end and 0 <= n.pitch <= 127 and 1 <= n.velocity <= 127):
                raise InputError(f"primer note {n} is not a note (steps >= 0, start < end, pitch 0-127).")
        end = max([n.end for n in primer], default=0) if primer_end is None else primer_end
        if end >= num_steps:
            raise InputError(f"the primer lasts {end / STEPS_PER_SECOND:g} s but the output only "
                             f"{num_steps / STEPS_PER_SECOND:g} s: raise num_steps.")
        cfg = self.config
        primer_classes = list(notes_to_classes(primer, cfg.num_velocity_bins)) if primer else []
        gap = end - sum(c - SHIFT0 + 1 for c in primer_classes if SHIFT0 <= c < VELOCITY0)
        while gap > 0:
            primer_classes.append(SHIFT0 + min(gap, 100) - 1)
            gap -= min(gap, 100)
        emitted_from = 0 if primer_classes else 1
        forced = np.array(primer_classes or [START_EVENT], np.int32)
        disabled = disable_conditioning and cfg.optional_conditioning
        density = notes_per_second if notes_per_second is not None and cfg.density else None
        histogram = pitch_class_histogram if pitch_class_histogram is not None and cfg.pitch else None
        control = control_vector(cfg, DEFAULT_NOTE_DENSITY if density is None else density,
                                 DEFAULT_PITCH_HISTOGRAM if histogram is None else histogram, disabled)
        target = steering.Steering(
            tf.constant(0.0 if density is None or disabled or not steer else density, tf.float32),
            tf.constant(np.zeros(12) if histogram is None or disabled or not steer else
                        np.asarray(histogram, float) / sum(histogram), tf.float32))
        keys = output_keys(primer, num_outputs, seed) if steer and not disabled and histogram is None else None
        rows = sample_events(self.stepper, forced, bool(primer_classes), control, target, num_steps, num_outputs,
                             search, seed, keys)
        self.last_event_count = int(sum((row >= 0).sum() - len(forced) for row in rows))
        return [[Note(n.start, min(n.end, num_steps), n.pitch, n.velocity)
                 for n in classes_to_notes(row[row >= 0][emitted_from:], cfg.num_velocity_bins, end=num_steps)
                 if n.start < num_steps] for row in rows]

    def generate(
        self,
        primer: Sequence[Note],
        num_steps: int,
        *,
        num_outputs: int,
        search: SearchSettings,
        seed: int,
        notes_per_second: float | None = None,
        pitch_class_histogram: Sequence[float] | None = None,
        disable_conditioning: bool = False,
    ) -> list[pretty_midi.PrettyMIDI]:
        """Like generate_notes, written as MIDI files (one piano track, times in seconds)."""
        performances = self.generate_notes(primer, num_steps, num_outputs=num_outputs, search=search, seed=seed,
                                           notes_per_second=notes_per_second,
                                           pitch_class_histogram=pitch_class_histogram,
                                           disable_conditioning=disable_conditioning)
        return [performance_midi(notes, num_steps) for notes in performances]


def output_keys(primer: Sequence[Note], num_outputs: int, seed: int) -> np.ndarray:
    """[num_outputs, 12] Krumhansl-Kessler key profiles (normalised) to steer toward: the primer's key for
    every output, else a key per output drawn from the seed (the same for output i whatever the batch)."""
    from generation.quality.texture import KK_MAJOR, KK_MINOR, estimate_key

    if primer:
        key = estimate_key(primer)
        keys = [(key.tonic, key.minor)] * num_outputs
    else:
        rng = np.random.default_rng((seed, KEY_STREAM))
        keys = [(int(rng.integers(12)), bool(rng.integers(2))) for _ in range(num_outputs)]
    profiles = np.array([np.roll(KK_MINOR if minor else KK_MAJOR, tonic) for tonic, minor in keys], np.float32)
    return profiles / profiles.sum(axis=1, keepdims=True)


def check_controls(notes_per_second: float | None, pitch_class_histogram: Sequence[float] | None) -> None:
    """Raises InputError for a density outside 0-64 notes/s or a histogram that is not 12 values >= 0."""
    if notes_per_second is not None and not 0 < notes_per_second <= MAX_DENSITY:
        raise InputError(f"notes_per_second={notes_per_second:g} is out of range; allowed: above 0, at most "
                         f"{MAX_DENSITY:g}.")
    if pitch_class_histogram is not None:
        h = list(pitch_class_histogram)
        if len(h) != 12 or any(not np.isfinite(v) or v < 0 for v in h) or sum(h) <= 0:
            raise InputError("pitch_class_histogram needs 12 values >= 0 (C, C#, D ... B), not all zero, e.g. "
                             "[2,0,0,0,1,0,0,1,0,0,0,1].")


def performance_midi(notes: Sequence[Note], num_steps: int) -> pretty_midi.PrettyMIDI:
    """One acoustic-piano track; lasts num_steps x 10 ms (an end marker keeps trailing silence)."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    piano = pretty_midi.Instrument(0, name="piano")
    s = 1.0 / STEPS_PER_SECOND
    piano.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start * s, n.end * s) for n in notes]
    midi.instruments.append(piano)
    midi.text_events.append(pretty_midi.Text("end", num_steps * s))
    return midi
