"""Improv encodings, as Magenta's: chords (triad one-hot or root/pitches/bass) + one-hot melody events.

Pure numpy, no TensorFlow, so they are tested on their own. Input row t is
[chord(t + 1), melody(t)]: the model sees the chord of the step it predicts (Magenta's
ConditionalEventSequenceEncoderDecoder).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from generation.data.leadsheet import NO_EVENT, NOTE_OFF
from generation.families.improv.config import ImprovConfig
from generation.music.chords import Chord, ChordError, Quality

_TRIAD_OFFSET = {Quality.MAJOR: 0, Quality.MINOR: 12, Quality.AUGMENTED: 24, Quality.DIMINISHED: 36}


def encode_chord(chord: Chord, config: ImprovConfig) -> np.ndarray:
    """One chord as the model's chord input vector.

    Raises:
        ChordError: a triad config was given a chord with no triad (sus, power chords).
    """
    vec = np.zeros(config.chord_input_size, np.float32)
    if chord.is_no_chord:
        vec[0] = 1.0
        return vec
    assert chord.root is not None and chord.bass is not None and chord.quality is not None
    if config.chord_encoding == "triad":
        if chord.quality not in _TRIAD_OFFSET:
            raise ChordError(
                chord.figure or "",
                f"{config.name} sees chords as triads and this chord has no third",
                "major, minor, augmented or diminished chords (with any 7ths, tensions or bass); "
                "use --config=chord_pitches_improv for sus and power chords",
            )
        vec[1 + _TRIAD_OFFSET[chord.quality] + chord.root] = 1.0
    else:
        vec[1 + chord.root] = 1.0
        vec[13 + np.array(chord.pitch_classes, int)] = 1.0
        vec[25 + chord.bass] = 1.0
    return vec


def encode_chords(chords: Sequence[Chord], config: ImprovConfig) -> np.ndarray:
    """A chord per step -> [steps, chord_input_size]; each distinct chord is encoded once."""
    cache: dict[Chord, np.ndarray] = {}
    rows = [cache.setdefault(c, encode_chord(c, config)) if c not in cache else cache[c] for c in chords]
    return np.stack(rows) if rows else np.zeros((0, config.chord_input_size), np.float32)


def event_to_class(event: int, config: ImprovConfig) -> int:
    """Melody event -> class index: 0 no event, 1 note off, 2.. pitches from min_note.

    Raises:
        ValueError: a pitch outside the model's range.
    """
    if event in (NO_EVENT, NOTE_OFF):
        return event + 2
    if not config.min_note <= event < config.max_note:
        raise ValueError(f"pitch {event} is outside the model's range {config.min_note}-{config.max_note - 1}")
    return event - config.min_note + 2


def class_to_event(index: int, config: ImprovConfig) -> int:
    """Inverse of `event_to_class`."""
    return index - 2 if index < 2 else index - 2 + config.min_note


def classes_to_events(indices: np.ndarray, config: ImprovConfig) -> np.ndarray:
    """Vectorised `class_to_event`."""
    indices = np.asarray(indices)
    return np.where(indices < 2, indices - 2, indices - 2 + config.min_note)


def events_to_classes(events: Sequence[int], config: ImprovConfig) -> np.ndarray:
    """Vectorised `event_to_class`."""
    return np.array([event_to_class(e, config) for e in events], np.int32)


def model_inputs(classes: np.ndarray, chord_rows: np.ndarray, config: ImprovConfig) -> np.ndarray:
    """Teacher-forced inputs for a melody of T classes: [T - 1, input_size], row t = [chord(t+1), melody(t)]."""
    melody = np.eye(config.num_classes, dtype=np.float32)[classes[:-1]]
    return np.concatenate([chord_rows[1:], melody], axis=1)
