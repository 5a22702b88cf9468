"""The lead-sheet record every data loader produces and every trainer reads."""

from __future__ import annotations

from dataclasses import dataclass

# Melody events, one per 16th-note step, as in Magenta's Melody: an onset pitch 0..127, or one of these.
NO_EVENT = -2  # the previous note (or rest) goes on
NOTE_OFF = -1  # silence from here


@dataclass(frozen=True)
class LeadSheet:
    """A monophonic melody with chord symbols, quantised to 16th notes.

    Attributes:
        name: where it came from, e.g. "nottingham/jigs.abc#12 The Atholl Highlanders".
        melody: one event per step (see NO_EVENT / NOTE_OFF), step 0 on a bar line.
        chords: the chord figure sounding at each step ("Am7", "D/F#"), or None for no chord.
        bar_starts: the steps where bars begin, ascending, starting with 0. A pickup is padded with rests at
            the front so that it ends on the first full bar's line.
    """

    name: str
    melody: tuple[int, ...]
    chords: tuple[str | None, ...]
    bar_starts: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.melody) != len(self.chords):
            raise ValueError(f"{self.name}: melody has {len(self.melody)} steps, chords {len(self.chords)}")
