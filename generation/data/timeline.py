"""Timed notes and chords in bars -> a LeadSheet on the 16th-note grid (shared by the ABC and MusicXML readers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from generation.data.leadsheet import NO_EVENT, NOTE_OFF, LeadSheet

STEPS_PER_QUARTER = 4  # 16th-note steps
# Times are integer ticks (far cheaper than Fractions); 10080 = 2^5 * 3^2 * 5 * 7 divides every tuplet here.
TICKS_PER_QUARTER = 10080
TICKS_PER_STEP = TICKS_PER_QUARTER // STEPS_PER_QUARTER



@dataclass(frozen=True)
class Bar:
    """A notated bar: where it starts, what its notes add up to, and the meter's nominal length."""

    start: int
    length: int
    meter: int


def quantise(ticks: int) -> int:
    """The 16th-note step nearest to `ticks`; halves round up, so it is deterministic."""
    return (ticks + TICKS_PER_STEP // 2) // TICKS_PER_STEP


def merge_partial_bars(bars: Sequence[Bar]) -> list[Bar]:
    """Join neighbouring incomplete bars that fit in one meter (a part's last bar + the next pickup)."""
    out: list[Bar] = []
    for bar in bars:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.length < prev.meter
            and bar.length < bar.meter
            and prev.length + bar.length <= prev.meter
        ):
            out[-1] = replace(prev, length=prev.length + bar.length)
        else:
            out.append(bar)
    return out


def to_leadsheet(
    name: str,
    notes: Sequence[tuple[int, int | None]],
    chords: Sequence[tuple[int, str | None]],
    bars: Sequence[Bar],
) -> LeadSheet:
    """Quantise a timeline into a LeadSheet.

    Args:
        name: the record's name.
        notes: (onset in ticks, MIDI pitch) in time order, pitch None for a rest; tied continuations left out.
        chords: (time, figure) chord changes in time order, figure None for "no chord".
        bars: the notated bars in order; an incomplete first bar is a pickup and is padded with silence.

    Raises:
        ValueError: no bars, no notes, or a pitch outside 0..127.
    """
    merged = merge_partial_bars([b for b in bars if b.length > 0])
    if not merged:
        raise ValueError("no bars")
    pad = max(merged[0].meter - merged[0].length, 0) - merged[0].start
    end = merged[-1].start + merged[-1].length + pad
    # One event per step: a later onset on the same step replaces an earlier one; rests merge.
    seq: list[tuple[int, int | None]] = []
    for t, pitch in notes:
        step = quantise(t + pad)
        if seq and seq[-1][0] == step:
            seq.pop()
        if pitch is None and (not seq or seq[-1][1] is None):
            continue  # already silent: nothing to switch off
        seq.append((step, pitch))
    if not any(p is not None for _, p in seq):
        raise ValueError("no notes")
    n_steps = max(quantise(end), seq[-1][0] + 1)
    melody = [NO_EVENT] * n_steps
    for step, pitch in seq:
        if pitch is not None and not 0 <= pitch <= 127:
            raise ValueError(f"pitch {pitch} out of MIDI range")
        melody[step] = NOTE_OFF if pitch is None else pitch
    changes: dict[int, str | None] = {}
    for t, figure in chords:
        changes[quantise(t + pad)] = figure  # the later of two changes on one step wins
    figures: list[str | None] = []
    current: str | None = None
    for step in range(n_steps):
        current = changes.get(step, current)
        figures.append(current)
    starts = [0]
    for bar in merged[1:]:
        step = quantise(bar.start + pad)
        if starts[-1] < step < n_steps:
            starts.append(step)
    return LeadSheet(name=name, melody=tuple(melody), chords=tuple(figures), bar_starts=tuple(starts))
