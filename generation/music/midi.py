"""Lead sheet -> MIDI: a melody track and, if asked, a chord track, at a given tempo."""

from __future__ import annotations

from collections.abc import Sequence

import pretty_midi

from generation.music.chords import Chord
from generation.music.notes import melody_events_notes

STEPS_PER_QUARTER = 4
MELODY_PROGRAM = 0  # acoustic grand piano, as Magenta writes
CHORD_PROGRAM = 0


def melody_notes(events: Sequence[int], step_s: float, velocity: int = 100) -> list[pretty_midi.Note]:
    """Melody events (one per step) -> notes; a note lasts until the next onset, note-off or the end."""
    return [pretty_midi.Note(n.velocity, n.pitch, n.start * step_s, n.end * step_s)
            for n in melody_events_notes(events, velocity)]


def chord_notes(chords: Sequence[Chord], step_s: float, velocity: int = 70) -> list[pretty_midi.Note]:
    """Block chords under the melody: bass in octave 2-3, chord tones in the octave from C3."""
    notes = []
    step = 0
    while step < len(chords):
        end = step
        while end < len(chords) and chords[end] == chords[step]:
            end += 1
        chord = chords[step]
        if chord.bass is not None:
            start_s, end_s = step * step_s, end * step_s
            notes.append(pretty_midi.Note(velocity, 36 + chord.bass, start_s, end_s))
            for pc in sorted(set(chord.pitch_classes)):
                notes.append(pretty_midi.Note(velocity, 48 + pc, start_s, end_s))
        step = end
    return notes


def leadsheet_midi(
    melody: Sequence[int], chords: Sequence[Chord], qpm: float, render_chords: bool
) -> pretty_midi.PrettyMIDI:
    """A MIDI file of the melody (track "Melody") and optionally the chords (track "Chords")."""
    step_s = 60.0 / qpm / STEPS_PER_QUARTER
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    lead = pretty_midi.Instrument(MELODY_PROGRAM, name="Melody")
    lead.notes = melody_notes(melody, step_s)
    midi.instruments.append(lead)
    if render_chords:
        backing = pretty_midi.Instrument(CHORD_PROGRAM, name="Chords")
        backing.notes = chord_notes(chords, step_s)
        midi.instruments.append(backing)
    # Chord symbols as lyric-style text events, so the figures travel with the file.
    last = None
    for step, chord in enumerate(chords):
        if chord != last:
            midi.lyrics.append(pretty_midi.Lyric(chord.figure or "N.C.", step * step_s))
            last = chord
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    # A text event at the very end, so the file lasts len(melody) steps even if the melody ends in silence.
    midi.text_events.append(pretty_midi.Text("end", len(melody) * step_s))
    return midi
