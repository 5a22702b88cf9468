"""Melody -> MIDI: one piano track named "Melody", in 4/4 at the given tempo, lasting exactly the melody's steps."""

from __future__ import annotations

from collections.abc import Sequence

import pretty_midi

from generation.families.melody.config import STEPS_PER_QUARTER
from generation.music.notes import melody_events_notes

PROGRAM = 0  # acoustic grand piano, as Magenta writes melodies
VELOCITY = 100  # Magenta's Melody.to_sequence default


def melody_midi(events: Sequence[int], qpm: float, velocity: int = VELOCITY) -> pretty_midi.PrettyMIDI:
    """A MIDI file of the melody events (one per 16th note: -2 hold, -1 note off, 0-127 note on)."""
    step_s = 60.0 / qpm / STEPS_PER_QUARTER
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    lead = pretty_midi.Instrument(PROGRAM, name="Melody")
    lead.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start * step_s, n.end * step_s)
                  for n in melody_events_notes(events, velocity)]
    midi.instruments.append(lead)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    # A text event at the very end, so the file lasts len(events) steps even if the melody ends in a rest.
    midi.text_events.append(pretty_midi.Text("end", len(events) * step_s))
    return midi
