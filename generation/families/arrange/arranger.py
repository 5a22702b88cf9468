"""The arranger: our lead-sheet harmoniser for the chords and bass, GrooVAE's drumify for the drums, and the style
pulses arrange_train learnt from the Groove MIDI Dataset (models/arrange). Every model is a shipped, trained one.

An output's chords are the harmoniser's (output 1 its most likely path, the others drawn at the temperature);
its drums are GrooVAE playing the melody's onsets and the style's pulse, 2 bars at a time, each output with its
own draws. The melody is kept note for note on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from generation.engine.bundle import Bundle, default_bundle_dir
from generation.errors import InputError
from generation.families.arrange.band import Band, band_parts, taps
from generation.families.arrange.chat import CONFIG, FAMILY, TRAIN_COMMAND
from generation.families.arrange.styles import STYLES, Style
from generation.families.music_vae.groove_chat import DRUMIFY
from generation.families.music_vae.groove_generator import GrooveGenerator
from generation.families.music_vae.groove_inputs import join_windows, output_seed, windows
from generation.families.polyphony.harmonizer import LeadSheetHarmonizer
from generation.music.notes import melody_events_notes

BAR = 16


class Arranger:
    """The three models an arrangement takes.

    Args:
        bundle: models/arrange: per Groove style, how often its drummers strike at each 16th of the bar, and how
            much of their time-keeping is on the ride; with the threshold that makes a position the style's pulse.
    """

    def __init__(self, bundle: Bundle, harmonizer: LeadSheetHarmonizer, drummer: GrooveGenerator) -> None:
        if (bundle.family, bundle.config) != (FAMILY, CONFIG):
            raise InputError(f"bundle is a {bundle.family}/{bundle.config} model, not the {CONFIG} styles.")
        self.bundle, self.harmonizer, self.drummer = bundle, harmonizer, drummer
        styles = list(bundle.info["styles"])
        threshold = float(bundle.info["pulse_threshold"])
        hits = bundle.weights["hit_probability"]
        ride = bundle.weights["ride_share"]
        self.pulses = {s: tuple(bool(p >= threshold) for p in hits[i]) for i, s in enumerate(styles)}
        self.rides = {s: bool(ride[i] > 0.5) for i, s in enumerate(styles)}

    @classmethod
    def load(cls, folder: Path | None = None) -> Arranger:
        """Our shipped models (models/arrange, models/leadsheet_harmonizer, models/groovae_2bar_tap_fixed_velocity).

        Raises:
            InputError: one of them is not there (naming the command that makes it).
        """
        folder = default_bundle_dir(CONFIG) if folder is None else folder
        if not (folder / "bundle.json").is_file():
            raise InputError(f"no {CONFIG} styles in {folder}; make them with {TRAIN_COMMAND} (seconds).")
        return cls(Bundle.load(folder), LeadSheetHarmonizer.load(), GrooveGenerator.load(DRUMIFY))

    def pulse(self, style: Style) -> tuple[bool, ...]:
        """The 16 positions of the bar where the style's drummers strike (none for a style without Groove data)."""
        return self.pulses.get(style.groove, (False,) * BAR)

    def arrange(self, melody: Sequence[int], num_steps: int, style_name: str, drums: bool, *, num_outputs: int = 1,
                temperature: float = 0.5, seed: int = 0) -> list[Band]:
        """Arrangements of a melody (events, one per 16th) lasting num_steps 16ths.

        Raises:
            InputError: an unknown style, a melody longer than num_steps, or settings out of range.
        """
        style = STYLES.get(style_name)
        if style is None:
            raise InputError(f"unknown style {style_name!r}; the styles: {', '.join(STYLES)}.")
        notes = melody_events_notes(melody)
        made = self.harmonizer.harmonize(notes, num_steps, num_outputs=num_outputs, temperature=temperature,
                                         seed=seed)
        rhythm = taps(notes, self.pulse(style), num_steps)
        bars = -(-num_steps // BAR)
        window = self.drummer.config.steps
        out = []
        for i, h in enumerate(made):
            hits = []
            if drums and any(rhythm):
                parts = windows(rhythm, 0, bars, window, False)
                played = self.drummer.drumify(parts, temperature, output_seed(seed, i))
                hits = join_windows(played, window, num_steps)
            out.append(band_parts(style, h.melody, h.harmony, h.chords, hits, self.rides.get(style.groove, False)))
        return out


def pulse_table(bundle: Bundle) -> dict[str, list[float]]:
    """Per style, the probability of a hit at each 16th of the bar (for cards and checks)."""
    hits = np.asarray(bundle.weights["hit_probability"], np.float64)
    return {s: [round(float(p), 3) for p in hits[i]] for i, s in enumerate(bundle.info["styles"])}
