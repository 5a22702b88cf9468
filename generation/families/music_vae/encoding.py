"""MusicVAE's encodings (Magenta's OneHotMelodyConverter and DrumsConverter with roll_input): tracks <-> classes.

Pure numpy, no TensorFlow. A melody track is `steps` melody events (-2 hold, -1 note off, 0-127 note on); its
classes are 0 no event, 1 note off, 2.. MIDI 21-108 (90 classes). A drum track is `steps` DrumSteps (the MIDI
drum pitches struck); its classes are the bit masks of the 9 drum classes struck (512), from drums/encoding.py.
The network sees each class as a row of `input_table`: the one-hot for melodies, the 9-bit roll for drums.
A trio track is (melody events, bass events, DrumSteps), each `steps` long; its classes are [steps, 3].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generation.data.leadsheet import NO_EVENT
from generation.errors import InputError
from generation.families.drums.encoding import DrumStep, class_bits, class_to_step, step_to_class
from generation.families.music_vae.config import MAX_PITCH, MIN_PITCH, MusicVaeConfig

Track = tuple[Any, ...]  # melody events (int) or DrumSteps, one per 16th step; a trio: (melody, bass, drums)


def melody_classes(events: Sequence[int]) -> np.ndarray:
    """Melody events -> classes.

    Raises:
        InputError: an event that is not a melody event, or a pitch outside MIDI 21-108.
    """
    out = np.empty(len(events), np.int32)
    for t, e in enumerate(events):
        if isinstance(e, bool) or not isinstance(e, int | np.integer) or not NO_EVENT <= e <= 127:
            raise InputError(f"step {t + 1}: {e!r} is not a melody event (-2 hold, -1 note off, 0-127 note on).")
        if e >= 0 and not MIN_PITCH <= e < MAX_PITCH:
            raise InputError(f"step {t + 1}: pitch {e} is outside MusicVAE's range {MIN_PITCH}-{MAX_PITCH - 1}.")
        out[t] = e - MIN_PITCH + 2 if e >= 0 else e - NO_EVENT
    return out


def melody_events(classes: Sequence[int] | np.ndarray) -> tuple[int, ...]:
    """Classes -> melody events (0 no event -> -2 hold, 1 -> note off, k -> MIDI k - 2 + 21)."""
    return tuple(int(c) - 2 + MIN_PITCH if c >= 2 else int(c) + NO_EVENT for c in classes)


def drum_classes(steps: Sequence[DrumStep]) -> np.ndarray:
    """DrumSteps -> classes (pitches outside the 9 classes are not heard, as in Magenta's drum models).

    Raises:
        InputError: a step that is not a collection of MIDI pitches.
    """
    out = np.empty(len(steps), np.int32)
    for t, step in enumerate(steps):
        if not isinstance(step, frozenset | set | tuple | list) or not all(
                isinstance(p, int) and 0 <= p <= 127 for p in step):
            raise InputError(f"step {t + 1}: {step!r} is not a set of MIDI drum pitches (0-127).")
        out[t] = step_to_class(step)
    return out


def drum_steps(classes: Sequence[int] | np.ndarray) -> tuple[DrumStep, ...]:
    return tuple(class_to_step(int(c)) for c in classes)


def track_classes(tracks: Sequence[Track], config: MusicVaeConfig) -> np.ndarray:
    """Tracks -> classes [n, steps].

    Raises:
        InputError: a track of another length, or with a step the config cannot encode.
    """
    if config.kind == "trio":
        return _trio_classes(tracks, config)
    rows = []
    for i, track in enumerate(tracks):
        if len(track) != config.steps:
            raise InputError(f"track {i + 1} has {len(track)} steps; {config.name} takes exactly {config.steps} "
                             f"(16th notes, {config.bars} bars).")
        try:
            rows.append(melody_classes(track) if config.kind == "melody" else drum_classes(track))
        except InputError as e:
            raise InputError(f"track {i + 1}, {e}") from None
    return np.array(rows, np.int32).reshape(len(rows), config.steps)


def _trio_classes(trios: Sequence[Track], config: MusicVaeConfig) -> np.ndarray:
    """Trios (melody, bass, drums) -> classes [n, steps, 3]."""
    out = np.empty((len(trios), config.steps, 3), np.int32)
    for i, trio in enumerate(trios):
        if len(trio) != 3:
            raise InputError(f"trio {i + 1} has {len(trio)} parts; {config.name} takes melody, bass and drums.")
        for k, (name, part) in enumerate(zip(("melody", "bass", "drums"), trio, strict=True)):
            if len(part) != config.steps:
                raise InputError(f"trio {i + 1}'s {name} has {len(part)} steps; {config.name} takes exactly "
                                 f"{config.steps} (16th notes, {config.bars} bars).")
            try:
                out[i, :, k] = drum_classes(part) if name == "drums" else melody_classes(part)
            except InputError as e:
                raise InputError(f"trio {i + 1}'s {name}, {e}") from None
    return out


def class_tracks(classes: np.ndarray, config: MusicVaeConfig) -> list[Track]:
    """Classes [n, steps] (a trio's [n, steps, 3]) -> tracks."""
    if config.kind == "trio":
        return [(melody_events(row[:, 0]), melody_events(row[:, 1]), drum_steps(row[:, 2]))
                for row in np.asarray(classes)]
    convert = melody_events if config.kind == "melody" else drum_steps
    return [convert(row) for row in np.asarray(classes)]


def input_table(config: MusicVaeConfig) -> np.ndarray:
    """[num_classes + 1, input_size]: the input row of each class, and a last row of zeros (the decoder's input
    before its first step, as Magenta pads it)."""
    n = config.num_classes
    rows = np.eye(n, dtype=np.float32) if config.kind == "melody" else \
        class_bits(np.arange(n)).astype(np.float32)
    return np.concatenate([rows, np.zeros((1, config.input_size), np.float32)])
