"""Transposing a finished piece: every pitched note moved by N semitones; drums stay (their keys are instruments)."""

from __future__ import annotations

from typing import Any

MAX_SEMITONES = 12  # an octave up or down


def transpose_midi(midi: Any, semitones: int) -> Any:
    """Move the pitched notes of a pretty_midi.PrettyMIDI by `semitones` in place (and return it); a note pushed past
    the MIDI range (0-127) is moved back by octaves, so no note is lost."""
    if not semitones:
        return midi
    for instrument in midi.instruments:
        if instrument.is_drum:
            continue
        for note in instrument.notes:
            pitch = note.pitch + semitones
            while pitch > 127:
                pitch -= 12
            while pitch < 0:
                pitch += 12
            note.pitch = pitch
    return midi
