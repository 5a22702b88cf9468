"""/drumify keep:on: a tune kept note for note beside the drums GrooVAE plays on its rhythm. No TensorFlow.

The sandboxed reader `read_tune_bytes` answers what /drumify reads of any file (its melody, bass and drums on 16th
steps, as music_vae/inputs.py reads them) and, under "notes", every pitched note of the file's first MAX_BARS bars
as rows of 7-bit numbers (the only numbers the sandbox passes on): the track, its GM program, the onset and the
length in 1/8 sixteenths (two 7-bit halves each), the pitch and the velocity. Step 0 is the bar line before the
file's first note, as for the parts, so the notes and the rhythm line up. The worker writes the rows back as
tracks (`with_tune`) and the drums after them, on channel 10; the file's own drums are not kept (the new ones
take their place).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from generation.errors import InputError
from generation.families.music_vae.config import STEPS_PER_BAR
from generation.families.music_vae.groove_inputs import MAX_BARS, STEPS_PER_QUARTER, fit_bars

if TYPE_CHECKING:
    import pretty_midi

FINE = 8  # the kept notes are timed in 1/8 of a 16th note (15.6 ms at 120 qpm): a played file keeps its feel
MAX_KEPT_NOTES = 1000  # rows of about 33 bytes each: well inside the sandbox's 64 KB answer beside the parts
_HALF = 128  # one 7-bit half
ROW_FIELDS = 8  # track, program, onset (2), length (2), pitch, velocity


def read_tune_bytes(data: bytes, what: str, name: str) -> tuple[dict[str, list[Any]], float]:
    """The parts of an attachment (as `inputs.read_parts_bytes` answers them) and its notes as rows ("notes",
    left out when the file has no pitched notes or more than MAX_KEPT_NOTES in its first MAX_BARS bars).

    Raises:
        InputError: beyond a limit, not MIDI, or without notes.
    """
    # here, not at the top: the chat imports this module
    from generation.families.music_vae.inputs import parts_answer, read_parts
    from generation.families.music_vae.midi_grid import parse_midi

    midi = parse_midi(data, what)
    parts = read_parts(midi, what)
    found = parts_answer(parts)
    rows = tune_rows(midi)
    if rows and len(rows) <= MAX_KEPT_NOTES:
        found["notes"] = rows
    return found, parts.qpm


def tune_rows(midi: pretty_midi.PrettyMIDI) -> list[list[int]]:
    """Every pitched note starting in the first MAX_BARS bars from the bar line before the first note, as rows."""
    tracks = [i for i in midi.instruments if i.notes]
    if not tracks:
        return []
    quarter = float(midi.resolution)

    def fine(t: float) -> float:  # ticks, as read_parts counts steps: a later tempo change moves no bar line
        return midi.time_to_tick(t) * STEPS_PER_QUARTER * FINE / quarter

    first = min(n.start for i in tracks for n in i.notes)
    downbeats = [b for b in midi.get_downbeats() if b <= first + 1e-6]
    origin = fine(float(downbeats[-1])) if downbeats else 0.0
    most = MAX_BARS * STEPS_PER_BAR * FINE
    rows = []
    for k, inst in enumerate(tracks):
        if inst.is_drum:
            continue
        for n in inst.notes:
            on = max(0, int(round(fine(n.start) - origin)))
            if on >= most:
                continue
            length = min(max(1, int(round(fine(n.end) - origin)) - on), _HALF * _HALF - 1)
            rows.append([min(k, _HALF - 1), int(inst.program), *divmod(on, _HALF), *divmod(length, _HALF),
                         int(n.pitch), max(1, min(127, int(n.velocity)))])
    return sorted(rows, key=lambda r: (r[2], r[3], r[0], r[6]))


def rows_within(rows: Sequence[Sequence[int]], steps: int) -> tuple[tuple[int, ...], ...]:
    """The rows that start within `steps` 16ths, checked (a row the reader did not write is refused).

    Raises:
        InputError: a row of another shape, or a number outside 0-127.
    """
    kept = []
    for row in rows:
        if len(row) != ROW_FIELDS or not all(0 <= v < _HALF for v in row):
            raise InputError("the file's notes could not be read back; attach the MIDI file again.")
        if (row[2] * _HALF + row[3]) < steps * FINE:
            kept.append(tuple(row))
    return tuple(kept)


def with_tune(drums: pretty_midi.PrettyMIDI, rows: Sequence[Sequence[int]], taps: Sequence[int],
              qpm: float) -> pretty_midi.PrettyMIDI:
    """The kept notes (a track per track of the file, its program and name) and then `drums`, which GrooVAE
    played from the bar of the first tap, moved to that bar; the piece lasts len(taps) 16ths."""
    import pretty_midi

    step_s = 60.0 / qpm / STEPS_PER_QUARTER
    lead = fit_bars([bool(t) for t in taps], "the rhythm")[0] * step_s
    total = len(taps) * step_s
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    tracks: dict[int, pretty_midi.Instrument] = {}
    for track, program, on_hi, on_lo, len_hi, len_lo, pitch, velocity in rows:
        if track not in tracks:
            tracks[track] = pretty_midi.Instrument(program, name=pretty_midi.program_to_instrument_name(program))
        start = (on_hi * _HALF + on_lo) / FINE * step_s
        end = min(start + (len_hi * _HALF + len_lo) / FINE * step_s, total)
        if end > start:
            tracks[track].notes.append(pretty_midi.Note(velocity, pitch, start, end))
    midi.instruments += [tracks[k] for k in sorted(tracks)]
    for inst in drums.instruments:
        for note in inst.notes:
            note.start, note.end = note.start + lead, note.end + lead
        midi.instruments.append(inst)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    midi.text_events.append(pretty_midi.Text("end", max(total, midi.get_end_time())))
    return midi
