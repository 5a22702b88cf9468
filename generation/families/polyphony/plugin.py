"""The polyphony family as a plug-in: chorales (Polyphony RNN), and harmony under a given melody (the lead-sheet
harmoniser by default, or the Polyphony RNN with the melody injected, as Magenta does)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generation.errors import InputError
from generation.families.plugin import FamilyPlugin, Made
from generation.families.polyphony import chat
from generation.request import GenerationRequest

CONFIG = "polyphony"
HARMONIZER = "leadsheet_harmonizer"  # harmonizer.CONFIG, named here so reading the registry imports no model code


@dataclass(frozen=True)
class PolyphonyParams:
    """num_steps: 16th notes, primer included; primer: melody events (with inject_primer: the melody kept as
    the top voice); primer_pitches: sounding together for one quarter note at the start; condition_on_primer,
    inject_primer: as Magenta's flags (inject_primer_during_generation); chords: the melody's own chord symbols,
    spread evenly over num_steps (the leadsheet_harmonizer voices them instead of picking its own)."""

    num_steps: int
    primer: tuple[int, ...] = ()
    primer_pitches: tuple[int, ...] = ()
    condition_on_primer: bool = False
    inject_primer: bool = True
    chords: tuple[str, ...] = ()

    @property
    def total_steps(self) -> int:
        return self.num_steps


def _load(config: str) -> Any:
    if config == HARMONIZER:
        from generation.families.polyphony.harmonizer import LeadSheetHarmonizer

        return LeadSheetHarmonizer.load()
    from generation.families.polyphony.generator import PolyphonyGenerator

    return PolyphonyGenerator.load()


def _pitch_primer(pitches: Any) -> list[Any]:
    """Magenta's --primer_pitches: the pitches held together for one quarter note (4 steps)."""
    from generation.music.notes import Note

    return [Note(0, 4, p) for p in pitches]


def _warm_up(generator: Any) -> None:
    from generation.families.polyphony.harmonizer import LeadSheetHarmonizer

    if isinstance(generator, LeadSheetHarmonizer):
        generator.harmonize(_pitch_primer((67,)), 16)
        return
    from generation.engine.sampling import SearchSettings

    generator.generate(_pitch_primer((67, 64, 60)), 16, condition_on_primer=True, inject_primer=True,
                       num_outputs=1, search=SearchSettings(), seed=0)


def _make(generator: Any, request: GenerationRequest) -> Made:
    from generation.families.polyphony.harmonizer import LeadSheetHarmonizer
    from generation.music.notes import melody_events_notes, notes_midi

    params: PolyphonyParams = request.params
    if isinstance(generator, LeadSheetHarmonizer):
        return _harmonize(generator, request)
    if params.chords:
        raise InputError(f"chords are voiced by the {HARMONIZER} config; {CONFIG} writes its own harmony")
    primer = _pitch_primer(params.primer_pitches) if params.primer_pitches else melody_events_notes(params.primer)
    pieces = generator.generate(
        primer, params.num_steps, condition_on_primer=params.condition_on_primer,
        inject_primer=params.inject_primer, num_outputs=request.num_outputs, search=request.search(),
        seed=request.seed)
    harmonising = params.inject_primer and not params.condition_on_primer and not params.primer_pitches
    kept = {(n.start, n.pitch) for n in primer}
    midis = []
    for notes in pieces:
        if harmonising:  # the given melody on its own track, so it stands out in the piano roll
            tracks = {"Melody": [n for n in notes if (n.start, n.pitch) in kept],
                      "Harmony": [n for n in notes if (n.start, n.pitch) not in kept]}
        else:
            tracks = {"Chorale": notes}
        midis.append(notes_midi(tracks, 4, request.qpm, params.num_steps))
    return Made("harmony" if harmonising else "chorale", midis, 15.0 / request.qpm)


def _harmonize(generator: Any, request: GenerationRequest) -> Made:
    from generation.families.polyphony.harmonizer import harmony_midi, spread_chords
    from generation.music.notes import melody_events_notes

    params: PolyphonyParams = request.params
    if params.primer_pitches or params.condition_on_primer or not params.inject_primer:
        raise InputError(f"the {HARMONIZER} harmonises a melody kept on top: give a melody (primer), without "
                         "primer_pitches or conditioning")
    made = generator.harmonize(melody_events_notes(params.primer), params.num_steps,
                               chords=spread_chords(params.chords, params.num_steps), num_outputs=request.num_outputs,
                               temperature=request.temperature, seed=request.seed)
    midis = [harmony_midi(h, request.qpm, params.num_steps) for h in made]
    return Made("harmony", midis, 15.0 / request.qpm)


PLUGIN = FamilyPlugin(name="polyphony", configs=(HARMONIZER, CONFIG), params=PolyphonyParams,
                      warm_configs=(HARMONIZER, CONFIG),
                      generate_command="polyphony_rnn_generate", train_command="polyphony_rnn_train",
                      commands=chat.COMMANDS, load=_load, warm_up=_warm_up, make=_make)
