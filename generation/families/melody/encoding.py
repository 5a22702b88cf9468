"""Melody RNN encodings, as Magenta's: one-hot, lookback and KeyMelody inputs and labels, and `squash`.

Pure numpy, no TensorFlow: the trainer builds its examples here and the tests hold these functions to note-seq's
encoders. The compiled sampler (sampler.py) computes the same inputs step by step inside its loop; a test keeps
the two equal. Events are Magenta's: -2 no event (hold), -1 note off, 0..127 note on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from generation.data.leadsheet import NO_EVENT, NOTE_OFF
from generation.families.melody.config import LOOKBACK_DISTANCES, STEPS_PER_BAR, MelodyConfig

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
# KEYS[pc, key] = 1 where pitch class pc belongs to the major scale of `key` (0 = C major).
KEYS = np.array([[1.0 if (pc - key) % 12 in MAJOR_SCALE else 0.0 for key in range(12)] for pc in range(12)],
                np.float32)
LOOKBACK_COUNTER_BITS = 5
KEY_COUNTER_BITS = 7


# --- events <-> classes ----------------------------------------------------------------------------------------
def check_events(events: Sequence[int], config: MelodyConfig) -> None:
    """Raises ValueError naming the first event the config cannot encode."""
    for e in events:
        if e < NO_EVENT or e > 127 or (e >= 0 and not config.min_note <= e < config.max_note):
            raise ValueError(f"pitch {e} is outside the model's range {config.min_note}-{config.max_note - 1}"
                             if e >= 0 else f"{e} is not a melody event (-2 hold, -1 note off, 0-127 note on)")


def base_class(event: int, config: MelodyConfig) -> int:
    """The class of an event without lookback repeats.

    One-hot and lookback: 0 no event, 1 note off, 2.. pitches from min_note. KeyMelody: pitches first, then no
    event (note_range) and note off (note_range + 1).
    """
    check_events([event], config)
    if config.encoding == "key":
        return event - config.min_note if event >= 0 else config.note_range + (event == NOTE_OFF)
    return event - config.min_note + 2 if event >= 0 else event + 2


def one_hot_index(event: int, config: MelodyConfig) -> int:
    """Index of an event in the one-hot part of an input row (0 no event, 1 note off, 2.. pitches)."""
    return event - config.min_note + 2 if event >= 0 else event + 2


def labels(events: Sequence[int], config: MelodyConfig) -> np.ndarray:
    """The class of each event after the first: [T - 1] (Magenta's `events_to_label(events, t)`, t >= 1).

    With lookback classes, an event equal to the one 2 bars back is labelled "repeat 2 bars", else one equal to
    the one 1 bar back "repeat 1 bar"; in the first 2 bars a hold is labelled "repeat 2 bars" (which decodes to
    a hold there), as Magenta does.
    """
    check_events(events, config)
    out = np.empty(max(len(events) - 1, 0), np.int32)
    for t in range(1, len(events)):
        out[t - 1] = _label(events, t, config)
    return out


def _label(events: Sequence[int], t: int, config: MelodyConfig) -> int:
    event = events[t]
    if config.encoding != "onehot":
        if t < LOOKBACK_DISTANCES[-1] and event == NO_EVENT:
            return config.one_hot_size + len(LOOKBACK_DISTANCES) - 1
        for i in reversed(range(len(LOOKBACK_DISTANCES))):
            back = t - LOOKBACK_DISTANCES[i]
            if back >= 0 and events[back] == event:
                return config.one_hot_size + i
    return base_class(event, config)


def class_to_event(index: int, history: Sequence[int], config: MelodyConfig) -> int:
    """The event a class stands for, after the events in `history` (a repeat class copies an earlier event)."""
    if index >= config.one_hot_size:
        distance = LOOKBACK_DISTANCES[index - config.one_hot_size]
        return history[-distance] if len(history) >= distance else NO_EVENT
    if config.encoding == "key":
        if index >= config.note_range:
            return NO_EVENT if index == config.note_range else NOTE_OFF
        return index + config.min_note
    return index - 2 if index < 2 else index - 2 + config.min_note


def classes_to_events(classes: Sequence[int] | np.ndarray, config: MelodyConfig, first: int) -> list[int]:
    """A whole class sequence after a given first event -> events (Magenta's decoding, step by step)."""
    events = [first]
    for c in classes:
        events.append(class_to_event(int(c), events, config))
    return events


def melody_events(events: Sequence[int]) -> list[int]:
    """Events as Magenta's Melody holds them: a note off before the first note is a hold (nothing to end)."""
    out = list(events)
    for i, e in enumerate(out):
        if e >= 0:
            break
        out[i] = NO_EVENT
    return out


# --- inputs ------------------------------------------------------------------------------------------------------
def event_inputs(events: Sequence[int], config: MelodyConfig) -> np.ndarray:
    """The input row at every position: [T, input_size]; row t describes events[:t + 1].

    Row t is what the network reads to predict event t + 1 (Magenta's `events_to_input(events, t)`).
    """
    check_events(events, config)
    ev = np.asarray(events, np.int64)
    if config.encoding == "key":
        return _key_inputs(ev, config)
    size = config.one_hot_size
    rows = np.zeros((len(ev), config.input_size), np.float32)
    positions = np.arange(len(ev))
    rows[positions, _one_hot(ev, config)] = 1.0
    if config.encoding == "onehot":
        return rows
    for i, distance in enumerate(LOOKBACK_DISTANCES):
        back = positions - distance + 1  # the event a repeat of `distance` would play next
        ahead = np.where(back >= 0, ev[np.maximum(back, 0)], NO_EVENT)
        rows[positions, size * (1 + i) + _one_hot(ahead, config)] = 1.0
    offset = size * (1 + len(LOOKBACK_DISTANCES))
    rows[:, offset:offset + LOOKBACK_COUNTER_BITS] = _counters(positions + 1, LOOKBACK_COUNTER_BITS)
    offset += LOOKBACK_COUNTER_BITS
    rows[:, offset:offset + len(LOOKBACK_DISTANCES)] = _repeats(ev)
    return rows


def encode(events: Sequence[int], config: MelodyConfig) -> tuple[np.ndarray, np.ndarray]:
    """Teacher-forced training pair for one melody: inputs [T - 1, input_size] and labels [T - 1]."""
    return event_inputs(events, config)[:-1], labels(events, config)


def _one_hot(ev: np.ndarray, config: MelodyConfig) -> np.ndarray:
    return np.where(ev >= 0, ev - config.min_note + 2, ev + 2)


def _counters(n: np.ndarray, bits: int) -> np.ndarray:
    """Magenta's binary step counters of n (the step being predicted): +1 where a bit is set, -1 where not."""
    return np.where((n[:, None] >> np.arange(bits)[None, :]) & 1, 1.0, -1.0).astype(np.float32)


def _repeats(ev: np.ndarray) -> np.ndarray:
    """[T, lookbacks]: 1 where the event equals the one `distance` steps before it."""
    out = np.zeros((len(ev), len(LOOKBACK_DISTANCES)), np.float32)
    for i, distance in enumerate(LOOKBACK_DISTANCES):
        out[distance:, i] = ev[distance:] == ev[:-distance] if len(ev) > distance else 0.0
    return out


def _key_inputs(ev: np.ndarray, config: MelodyConfig) -> np.ndarray:
    """Magenta's KeyMelody rows (note-seq's KeyMelodyEncoderDecoder.events_to_input), one pass over the melody."""
    rows = np.zeros((len(ev), config.input_size), np.float32)
    r = config.note_range
    current: int | None = None
    attack = False
    direction = 0.0
    last3: list[int] = []  # distinct pitches, most recent last
    pitch_classes = np.zeros(12, np.float32)
    repeats = _repeats(ev)
    counters = _counters(np.arange(1, len(ev) + 1), KEY_COUNTER_BITS)
    for t, e in enumerate(ev.tolist()):
        if e == NO_EVENT:
            attack = False
        elif e == NOTE_OFF:
            current = None  # the attack flag stays as it was, as in Magenta
        else:
            attack, current = True, e
            if last3 and e != last3[-1]:
                direction = 1.0 if e > last3[-1] else -1.0
            if e in last3:
                last3.remove(e)
            last3 = [*last3, e][-3:]
            pitch_classes[e % 12] += 1
        row = rows[t]
        if current is not None:
            row[current - config.min_note] = 1.0
            row[r] = 1.0
        else:
            row[r + 1] = 1.0
        row[r + 2] = 1.0 if attack else 0.0
        row[r + 3] = direction
        row[r + 4:r + 6] = repeats[t]
        row[r + 6:r + 13] = counters[t]
        row[r + 13] = 1.0 if (t + 1) % STEPS_PER_BAR == 0 else 0.0
        row[r + 14:r + 26] = _best_keys(pitch_classes)
        recent = np.zeros(12, np.float32)
        for p in last3:
            recent[p % 12] += 1
        row[r + 26:r + 38] = _best_keys(recent)
    return rows


def _best_keys(pitch_class_counts: np.ndarray) -> np.ndarray:
    """1 for each major key that holds the most of these notes (all 12 when there are none)."""
    fit = pitch_class_counts @ KEYS
    return (fit == fit.max()).astype(np.float32)


# --- keys and ranges ---------------------------------------------------------------------------------------------
def transpose(events: Sequence[int], amount: int, min_note: int = 0, max_note: int = 128) -> list[int]:
    """Move every note by `amount` semitones, folding notes outside [min_note, max_note) in by octaves."""
    out = []
    for e in events:
        if e >= 0:
            e += amount
            if e < min_note:
                e = min_note + (e - min_note) % 12
            elif e >= max_note:
                e = max_note - 12 + (e - max_note) % 12
        out.append(e)
    return out


def major_key(events: Sequence[int]) -> int:
    """The major key (0 = C .. 11 = B) holding the most of the melody's notes; the lowest on a tie."""
    counts = np.bincount([e % 12 for e in events if e >= 0], minlength=12).astype(np.float32)
    return int(np.argmax(counts @ KEYS))


def squash(events: Sequence[int], config: MelodyConfig) -> tuple[list[int], int]:
    """Magenta's `Melody.squash`: into the config's key (if it has one), centred in and folded into its range.

    Returns:
        The moved events and the number of semitones they were moved (undo with `transpose(events, -amount)`).
    """
    amount = 0
    if config.transpose_to_key is not None:
        notes = [e for e in events if e >= 0]
        if not notes:
            return list(events), 0
        key_diff = config.transpose_to_key - major_key(events)
        center_diff = (config.min_note + config.max_note - 1) / 2 - ((min(notes) + max(notes)) / 2 + key_diff)
        amount = key_diff + 12 * int(round(center_diff / 12))  # Python's round (half to even), as Magenta's
    return transpose(events, amount, config.min_note, config.max_note), amount
