"""The one request type every front end builds (chat commands, HTTP API, CLIs) and every worker takes.

JSON in, JSON out: workers get `to_json()` text, never pickles, and never chat tokens.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

Family = Literal["improv", "polyphony", "pianoroll", "performance"]


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate; validated by whoever builds it (bot/commands.py, the CLIs).

    Attributes:
        family: model family: improv (melody over chords), polyphony (chorales, harmonisation), pianoroll.
        config: config id within the family.
        chords: improv: one figure per chord ("N.C." for none), in order.
        steps_per_chord: improv: 16th-note steps each chord lasts.
        primer: melody events the output starts with (-2 hold, -1 off, 0-127 on); for polyphony with
            `inject_primer`, the melody kept as the top voice.
        num_steps: polyphony, pianoroll: length in the model's steps, primer included.
        primer_pitches: polyphony: pitches sounding together for one quarter note at the start.
        primer_pianoroll: pianoroll: the pitches sounding at each of the first steps.
        condition_on_primer, inject_primer: polyphony, as Magenta's flags (inject_primer_during_generation).
        notes_per_second: performance: the density to aim at (0 = no request).
        pitch_class_histogram: performance: 12 weights, C to B, to aim at (empty = no request).
        qpm: tempo.
        temperature, beam_size, branch_factor, steps_per_iteration: sampling, as in Magenta.
        num_outputs: how many pieces.
        seed: fixes every random draw.
        render_chords: also play the chords.
    """

    family: Family
    config: str
    chords: tuple[str, ...] = ()
    steps_per_chord: int = 16
    primer: tuple[int, ...] = (60,)
    qpm: float = 120.0
    temperature: float = 1.0
    num_outputs: int = 1
    seed: int = 0
    render_chords: bool = True
    beam_size: int = 1
    branch_factor: int = 1
    steps_per_iteration: int = 1
    num_steps: int = 0
    primer_pitches: tuple[int, ...] = ()
    primer_pianoroll: tuple[tuple[int, ...], ...] = ()
    condition_on_primer: bool = False
    inject_primer: bool = True
    notes_per_second: float = 0.0
    pitch_class_histogram: tuple[float, ...] = ()

    def search(self) -> Any:
        """The sampling settings (SearchSettings; imported here, so the bot never loads the model layer)."""
        from generation.models.sampling import SearchSettings

        return SearchSettings(self.temperature, self.beam_size, self.branch_factor, self.steps_per_iteration)

    @property
    def total_steps(self) -> int:
        return len(self.chords) * self.steps_per_chord if self.family == "improv" else self.num_steps

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GenerationRequest:
        data: dict[str, Any] = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a generation request is a JSON object")
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["chords"] = tuple(data.get("chords", ()))
        data["primer"] = tuple(data.get("primer", (60,)))
        data["primer_pitches"] = tuple(data.get("primer_pitches", ()))
        data["primer_pianoroll"] = tuple(tuple(step) for step in data.get("primer_pianoroll", ()))
        data["pitch_class_histogram"] = tuple(data.get("pitch_class_histogram", ()))
        return cls(**data)
