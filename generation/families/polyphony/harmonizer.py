"""The lead-sheet harmoniser (config leadsheet_harmonizer): chords for a melody from the chord HMM, then voiced.

The melody is kept note for note on top. Without chord symbols the HMM picks one chord per half bar (4/4, 16
steps a bar from step 0); with the tune's own symbols those are voiced instead. Output 1 is the most likely
chord path; further outputs are drawn from the chord posterior at the request's temperature (seeded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.data.leadsheet import NO_EVENT, NOTE_OFF
from generation.engine.bundle import Bundle, default_bundle_dir
from generation.errors import InputError
from generation.families.polyphony import chord_hmm as hmm
from generation.families.polyphony.voicing import Span, voice
from generation.music.chords import Chord, parse_chord
from generation.music.notes import Note

CONFIG = "leadsheet_harmonizer"
TRAIN_COMMAND = "leadsheet_harmonizer_train"
BAR = 16  # 16th-note steps in a 4/4 bar
MAX_STEPS = 2048


@dataclass(frozen=True)
class Harmonized:
    """One harmonisation: the melody as given, the notes added under it, and the chords (start step, name)."""

    melody: list[Note]
    harmony: list[Note]
    chords: list[tuple[int, str]]


def harmony_midi(made: Harmonized, qpm: float, num_steps: int) -> Any:
    """A MIDI file: the Melody and Harmony tracks, and the chord names as lyrics (the piano roll prints them)."""
    import pretty_midi

    from generation.music.notes import notes_midi

    midi = notes_midi({"Melody": made.melody, "Harmony": made.harmony}, BAR // 4, qpm, num_steps)
    step_s = 60.0 / qpm / (BAR // 4)
    midi.lyrics += [pretty_midi.Lyric(name, step * step_s) for step, name in made.chords]
    return midi


def top_line(notes: Sequence[Note]) -> list[Note]:
    """The notes not sounding under a higher note at their onset (a melody's notes, whatever else sounds)."""
    return [n for n in notes if not any(m.start <= n.start < m.end and m.pitch > n.pitch for m in notes)]


def melody_events(notes: Sequence[Note], total: int) -> list[int]:
    """Notes (one line) -> melody events per step (onset pitch, NO_EVENT to hold, NOTE_OFF for silence)."""
    events = [NOTE_OFF] * total
    for n in sorted(notes):
        if n.start >= total:
            continue
        events[n.start] = n.pitch
        for t in range(n.start + 1, min(n.end, total)):
            events[t] = NO_EVENT
    return events


class LeadSheetHarmonizer:
    """A trained chord HMM and the voicer.

    Args:
        bundle: a leadsheet_harmonizer bundle (tables as weights, decoding settings in info).
    """

    def __init__(self, bundle: Bundle) -> None:
        if bundle.config != CONFIG:
            raise InputError(f"bundle is a {bundle.family}/{bundle.config} model, not the {CONFIG}.")
        decoding = bundle.info.get("decoding", {})
        self.bundle = bundle
        self.hmm = hmm.ChordHmm(bundle.weights, float(decoding.get("melody_weight", 1.0)),
                                float(decoding.get("end_weight", 0.0)))

    @classmethod
    def load(cls, folder: Path | None = None) -> LeadSheetHarmonizer:
        """Our shipped tables (models/leadsheet_harmonizer) or a bundle folder (or its bundle.json).

        Raises:
            InputError: no trained harmoniser there.
        """
        folder = default_bundle_dir(CONFIG) if folder is None else folder
        folder = folder.parent if folder.name == "bundle.json" else folder
        if not (folder / "bundle.json").is_file():
            raise InputError(f"no trained {CONFIG} in {folder}; train it with {TRAIN_COMMAND} (a few minutes).")
        return cls(Bundle.load(folder))

    def harmonize(self, primer: Sequence[Note], num_steps: int, *, chords: Sequence[Chord] = (),
                  num_outputs: int = 1, temperature: float = 1.0, seed: int = 0) -> list[Harmonized]:
        """Harmonise the primer's top line over num_steps steps; `chords`: one per step, the tune's own.

        Raises:
            InputError: a primer longer than num_steps, or settings out of range.
        """
        if not 1 <= num_steps <= MAX_STEPS:
            raise InputError(f"num_steps={num_steps} is out of range; allowed: 1 to {MAX_STEPS}.")
        if not 1 <= num_outputs <= 100 or not 0.01 <= temperature <= 10.0:
            raise InputError("num_outputs must be 1-100 and temperature 0.01-10.")
        length = max((n.end for n in primer), default=0)
        if length > num_steps:
            raise InputError(f"the melody lasts {length} steps but num_steps is {num_steps}: the harmoniser keeps "
                             f"the whole melody, so num_steps must be at least {length}.")
        if chords and len(chords) != num_steps:
            raise InputError(f"{len(chords)} chord steps given for {num_steps} steps.")
        melody = sorted(primer)
        line = top_line(melody)
        bar_starts = list(range(0, num_steps, BAR))
        # The harmony enters with the melody's first half bar: a pickup is not preceded by a bar of chords alone.
        entry = min((n.start for n in line), default=0) // (BAR // 2) * (BAR // 2)
        if chords:
            spans = [s for s in given_spans(chords) if s.end > entry]
            return [Harmonized(melody, voice(line, spans, bar_starts), _names(spans, chords))] * num_outputs
        seg = hmm.segments(melody_events(line, num_steps), bar_starts, num_steps)
        best = self.hmm.best(seg)
        paths = [best.states]
        rng = np.random.default_rng(seed)
        paths += [self.hmm.sample(seg, best.tonic, best.minor, temperature, rng) for _ in range(num_outputs - 1)]
        out = []
        for states in paths:
            kept = [((a, b), s) for (a, b), s in zip(seg.spans, states, strict=True) if b > entry]
            spans = [Span(a, b, s // hmm.NQ, hmm.state_pitch_classes(s), s // hmm.NQ) for (a, b), s in kept]
            names = _changes([(a, hmm.state_name(s)) for (a, _), s in kept])
            out.append(Harmonized(melody, voice(line, spans, bar_starts), names))
        return out


def given_spans(chords: Sequence[Chord]) -> list[Span]:
    """Spans of the given chords, cut at every half bar and chord change (no chord: no span)."""
    spans: list[Span] = []
    start = 0
    for t in range(1, len(chords) + 1):
        if t == len(chords) or chords[t] != chords[start] or t % (BAR // 2) == 0:
            c = chords[start]
            if c.root is not None:
                bass = c.bass if c.bass is not None else c.root
                spans.append(Span(start, t, c.root, c.chord_tones() | {bass}, bass))
            start = t
    return spans


def _names(spans: Sequence[Span], chords: Sequence[Chord]) -> list[tuple[int, str]]:
    return _changes([(s.start, chords[s.start].figure or "N.C.") for s in spans])


def _changes(named: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """(step, name) of each span -> only where the name changes."""
    return [(step, name) for i, (step, name) in enumerate(named) if i == 0 or name != named[i - 1][1]]


def spread_chords(figures: Sequence[str], num_steps: int) -> list[Chord]:
    """Chord figures, one per step or spread evenly over num_steps in whole beats, as chords ([] for none).

    Raises:
        InputError: a figure that is not a chord (ChordError), or a count that cannot be spread so.
    """
    if not figures:
        return []
    read = {f: parse_chord(f) for f in set(figures)}
    chords = [read[f] for f in figures]
    if len(chords) == num_steps:
        return chords
    if num_steps % len(figures) or (num_steps // len(figures)) % 4:
        beats = num_steps // 4
        counts = [n for n in range(1, beats + 1) if beats % n == 0]
        raise InputError(f"{len(figures)} chords cannot share {num_steps} 16th notes evenly in whole beats; give "
                         f"one of {', '.join(map(str, counts))} chords (e.g. one per bar).")
    each = num_steps // len(figures)
    return [chords[t // each] for t in range(num_steps)]
