"""A user's drums or rhythm fitted to GrooVAE's 2-bar windows, and a played groove back to MIDI. No TensorFlow.

Any length is taken: the part starts at the bar line before its first onset, is read in whole bars (a bar at least
half played counts, as music_vae/inputs.py counts them), up to MAX_BARS; each 2 bars is one window, and a last
lone bar is looped to fill its window, then cut again, so a 4-bar file gives 4 bars and a 3-bar file 3. The
MIDI written has the played times (each hit's 16th plus its offset) and velocities, drums on channel 10.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from generation.errors import InputError
from generation.families.music_vae.config import STEPS_PER_BAR
from generation.families.music_vae.groove_encoding import Hit

if TYPE_CHECKING:
    import pretty_midi

MAX_BARS = 32
STEPS_PER_QUARTER = 4
NOTE_STEPS = 0.5  # a drum hit's written length, in 16ths (cut at the same drum's next hit)


def fit_bars(struck: Sequence[bool], what: str) -> tuple[int, int, list[str]]:
    """(first step, bars) of a part whose steps are `struck` where something starts, and notes for the user.

    Raises:
        InputError: nothing struck, or less than half a bar of music from the bar line before the first onset.
    """
    onsets = [t for t, s in enumerate(struck) if s]
    if not onsets:
        raise InputError(f"{what} has no notes to play a groove from.")
    start = onsets[0] // STEPS_PER_BAR * STEPS_PER_BAR
    length = len(struck) - start
    bars = int(length / STEPS_PER_BAR + 0.5)
    if bars < 1:
        raise InputError(f"{what} has {length} sixteenth notes of music from its first bar line with a note; "
                         f"GrooVAE needs at least half a 4/4 bar (8 sixteenth notes).")
    notes = [f"{what}: from bar {start // STEPS_PER_BAR + 1}"] if start else []
    if bars > MAX_BARS:
        notes.append(f"{what} has {bars} bars; its first {MAX_BARS} are played")
        bars = MAX_BARS
    return start, bars, notes


def windows(steps: Sequence[Any], start: int, bars: int, window: int, empty: Any) -> list[list[Any]]:
    """The part's `bars` from `start` in windows of `window` steps; a last part-window loops its own bars."""
    body = list(steps[start:start + bars * STEPS_PER_BAR])
    body += [empty] * (bars * STEPS_PER_BAR - len(body))
    out = []
    for first in range(0, len(body), window):
        chunk = body[first:first + window]
        while len(chunk) < window:
            chunk += chunk[:window - len(chunk)]
        out.append(chunk)
    return out


def onsets_of_parts(parts: Mapping[str, Sequence[Any]], names: Iterable[str]) -> list[bool]:
    """Where any of the named parts starts a note (melody or bass: an event >= 0; drums: a step with pitches)."""
    chosen = [parts[n] for n in names if n in parts]
    length = max((len(p) for p in chosen), default=0)
    out = [False] * length
    for part in chosen:
        for t, e in enumerate(part):
            out[t] = out[t] or (e >= 0 if isinstance(e, int) else bool(e))
    return out


def join_windows(windows_hits: Sequence[Sequence[Hit]], window: int, total: int) -> list[Hit]:
    """Window-relative hits end to end as one track of `total` steps (the looped tail cut away)."""
    out = [Hit(h.step + k * window, h.pitch, h.velocity, h.offset) for k, hits in enumerate(windows_hits)
           for h in hits]
    return [h for h in out if h.step < total]


def output_seed(seed: int, output: int) -> int:
    """Each output's own seed, drawn from (the request's seed, the output's number)."""
    return int(np.random.SeedSequence([seed, output]).generate_state(1)[0])


def groove_midi(hits: Sequence[Hit], qpm: float, steps: int) -> pretty_midi.PrettyMIDI:
    """One drum track (channel 10, the GM kit) of the hits at their played times and velocities, lasting `steps`
    16ths at `qpm` (a hit played early before the first 16th starts at 0)."""
    import pretty_midi

    step_s = 60.0 / qpm / STEPS_PER_QUARTER
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    kit = pretty_midi.Instrument(0, is_drum=True, name="Drums")
    timed = sorted(((max(0.0, (h.step + h.offset) * step_s), h) for h in hits), key=lambda th: (th[0], th[1].pitch))
    next_of: dict[int, float] = {}
    for start, hit in reversed(timed):  # each hit ends before the same drum's next one
        end = min(start + NOTE_STEPS * step_s, next_of.get(hit.pitch, float("inf")))
        next_of[hit.pitch] = start
        kit.notes.append(pretty_midi.Note(int(hit.velocity), hit.pitch, start, max(end, start + 1e-3)))
    kit.notes.reverse()
    midi.instruments.append(kit)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    midi.text_events.append(pretty_midi.Text("end", max(steps * step_s, max((n.end for n in kit.notes), default=0))))
    return midi
