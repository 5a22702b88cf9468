"""Hard limits for untrusted MIDI: a byte-level check of the file's chunks and one bounded pass over its events.

Both run before any MIDI library sees the bytes. Parsers build objects per event and an array per tick (a
37-byte file whose one note ends 0x0FFFFFFF ticks later asked pretty_midi for gigabytes), so what a file may
hold is checked here, in one linear pass that allocates nothing per event. Every refusal is an InputError
naming the file, the limit and the allowed value.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from generation.errors import InputError


@dataclass(frozen=True)
class MidiLimits:
    """The most a MIDI file may hold."""

    max_bytes: int = 1_000_000
    max_tracks: int = 64
    max_events: int = 200_000
    max_notes: int = 20_000
    max_tempo_changes: int = 1_000
    max_time_signatures: int = 1_000
    max_seconds: float = 600.0
    max_ticks: int = 4_000_000  # the parser keeps one float per tick: 32 MB at most


PRIMER_LIMITS = MidiLimits()


@dataclass(frozen=True)
class MidiCounts:
    """What one pass over a file's events found."""

    tracks: int
    events: int
    notes: int
    tempo_changes: int
    time_signatures: int
    ticks: int  # the latest event's tick
    seconds: float  # the latest event's time under the file's tempo map


def check_size(size: int, what: str, limits: MidiLimits = PRIMER_LIMITS) -> None:
    """Refuse a file by its size alone, before reading it.

    Raises:
        InputError: naming `what` (e.g. "the attachment tune.mid"), its size and the limit.
    """
    if size > limits.max_bytes:
        raise InputError(f"{what} is {size / 1e6:.1f} MB; a primer may be at most {limits.max_bytes / 1e6:.1f} MB.")


def check_structure(data: bytes, what: str, limits: MidiLimits = PRIMER_LIMITS) -> list[tuple[int, int]]:
    """Check the Standard MIDI File layout (header, track count, chunk lengths) without reading any event.

    Returns the (start, end) byte offsets of each track's events.

    Raises:
        InputError: too large, not MIDI, damaged or cut off, no tracks or too many; the message says which.
    """
    check_size(len(data), what, limits)
    if data[:4] != b"MThd":
        raise InputError(f"{what} is not a MIDI file (it does not start with MThd); a primer must be a Standard MIDI "
                         "File (.mid).")
    if len(data) < 14:
        raise InputError(f"{what} is cut off inside its header; it is not a readable MIDI file.")
    header_length, file_format, tracks, division = struct.unpack(">IHHh", data[4:14])
    if header_length < 6 or 8 + header_length > len(data) or file_format > 2:
        raise InputError(f"{what} is not a readable MIDI file: its header is damaged.")
    if tracks == 0:
        raise InputError(f"{what} has no tracks; a primer needs at least one track with notes.")
    if tracks > limits.max_tracks:
        raise InputError(f"{what} has {tracks:,} tracks; a primer may have at most {limits.max_tracks:,}.")
    if division == 0:
        raise InputError(f"{what} is not a readable MIDI file: its header gives 0 ticks per beat.")
    if division < 0:
        raise InputError(f"{what} counts time in SMPTE frames; a primer must count in beats (ticks per quarter "
                         "note), as music notation programs write.")
    spans = []
    offset = 8 + header_length
    for number in range(1, tracks + 1):
        if offset + 8 > len(data):
            raise InputError(f"{what} is cut off: its header announces {tracks} tracks but track {number} is "
                             "missing.")
        kind, length = struct.unpack(">4sI", data[offset:offset + 8])
        if kind != b"MTrk":
            raise InputError(f"{what} is not a readable MIDI file: track {number} does not start with MTrk.")
        left = len(data) - offset - 8
        if length > left:
            raise InputError(f"{what} is cut off or damaged: track {number} claims {length:,} bytes but only "
                             f"{left:,} follow.")
        spans.append((offset + 8, offset + 8 + length))
        offset += 8 + length
    return spans  # bytes after the last announced track are ignored, as MIDI readers do


# Bytes after the status byte of each channel message (high nibble) and of the system messages MIDI files use.
_CHANNEL_DATA = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}
_SYSTEM_DATA = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF8: 0, 0xFA: 0, 0xFB: 0, 0xFC: 0, 0xFE: 0}
_DEFAULT_TEMPO = 500_000  # microseconds per quarter note: 120 qpm


class _Damaged(Exception):
    """A track's bytes do not read as events; `reason` says how."""

    def __init__(self, reason: str, at: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at = at


def count_events(data: bytes, what: str, limits: MidiLimits = PRIMER_LIMITS) -> MidiCounts:
    """Check the structure, then walk every event once, counting; refuse a file beyond any limit.

    Raises:
        InputError: as `check_structure`, or a damaged track, or the first limit exceeded (notes, events,
            tempo changes, time signatures, duration, ticks) with the count found and the count allowed.
    """
    spans = check_structure(data, what, limits)
    division = struct.unpack(">h", data[12:14])[0]
    events = notes = time_signatures = max_tick = 0
    tempi: list[tuple[int, int]] = []
    for number, (start, end) in enumerate(spans, 1):
        try:
            track = _walk_track(data, start, end)
        except _Damaged as e:
            raise InputError(f"{what} is not a readable MIDI file: track {number} is damaged at byte "
                             f"{e.at:,} ({e.reason}).") from None
        events += track.events
        notes += track.notes
        time_signatures += track.time_signatures
        max_tick = max(max_tick, track.ticks)
        tempi.extend(track.tempi)
    _refuse_over(what, "notes", notes, limits.max_notes)
    _refuse_over(what, "events", events, limits.max_events)
    _refuse_over(what, "tempo changes", len(tempi), limits.max_tempo_changes)
    _refuse_over(what, "time signature changes", time_signatures, limits.max_time_signatures)
    seconds = _seconds_at(max_tick, sorted(tempi), division)
    if seconds > limits.max_seconds:
        raise InputError(f"{what} lasts {_duration_text(seconds)}; a primer may last at most "
                         f"{_duration_text(limits.max_seconds)}.")
    if max_tick > limits.max_ticks:
        raise InputError(f"{what} reaches tick {max_tick:,}; a primer may reach at most tick "
                         f"{limits.max_ticks:,} (at {division:,} ticks per beat).")
    return MidiCounts(len(spans), events, notes, len(tempi), time_signatures, max_tick, seconds)


@dataclass(frozen=True)
class _TrackCounts:
    events: int
    notes: int
    time_signatures: int
    ticks: int
    tempi: list[tuple[int, int]]


def _walk_track(data: bytes, pos: int, end: int) -> _TrackCounts:
    """Count one track's events (pos..end), following running status as MIDI readers do."""
    events = notes = time_signatures = tick = 0
    tempi: list[tuple[int, int]] = []
    status = size = 0
    try:
        while pos < end:
            byte = data[pos]  # the delta time, usually one byte
            pos += 1
            if byte < 0x80:
                tick += byte
            else:
                delta, pos = _read_length(data, pos - 1, end)
                tick += delta
            events += 1
            first = data[pos]
            if first < 0x80:  # running status: `first` is already the first data byte
                if not status:
                    raise _Damaged("running status with no status byte before it", pos)
            elif first == 0xFF or first == 0xF0 or first == 0xF7:  # meta or sysex: a length, then data
                pos += 1
                meta = 0
                if first == 0xFF:
                    meta = data[pos]
                    pos += 1
                length, pos = _read_length(data, pos, end)
                if pos + length > end:
                    raise _Damaged("an event runs past the end of the track", pos)
                if meta == 0x51 and length == 3:
                    tempi.append((tick, int.from_bytes(data[pos:pos + 3], "big")))
                elif meta == 0x58:
                    time_signatures += 1
                if first != 0xFF:
                    status, size = first, 0  # as in mido, sysex sets running status, though no data can follow
                pos += length
                continue
            else:
                found = _CHANNEL_DATA.get(first >> 4) if first < 0xF0 else _SYSTEM_DATA.get(first)
                if found is None:
                    raise _Damaged(f"an undefined status byte 0x{first:02X}", pos)
                status, size = first, found
                pos += 1
            if first < 0x80 and size <= 0:
                raise _Damaged(f"a data byte after status 0x{status:02X}, which takes none", pos)
            if pos + size > end:
                raise _Damaged("an event runs past the end of the track", pos)
            if size and (data[pos] > 0x7F or (size == 2 and data[pos + 1] > 0x7F)):
                raise _Damaged("a data byte above 127", pos)
            if 0x90 <= status <= 0x9F and data[pos + 1]:
                notes += 1  # a note-on with velocity 0 is a note-off
            pos += size
    except IndexError:  # read past the file's last byte: the track claimed more than it holds
        raise _Damaged("an event runs past the end of the track", pos) from None
    if pos != end:
        raise _Damaged("an event runs past the end of the track", end)
    return _TrackCounts(events, notes, time_signatures, tick, tempi)


def _read_length(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A variable-length quantity of at most 4 bytes at `pos`, and the position after it."""
    value = 0
    for _ in range(4):
        if pos >= end:
            raise _Damaged("an event runs past the end of the track", pos)
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos
    raise _Damaged("a length longer than 4 bytes", pos)


def _seconds_at(tick: int, tempi: list[tuple[int, int]], division: int) -> float:
    """Seconds from the start to `tick` under the tempo changes (tick, microseconds per quarter)."""
    seconds = 0.0
    last_tick, tempo = 0, _DEFAULT_TEMPO
    for change_tick, change_tempo in tempi:
        if change_tick >= tick:
            break
        seconds += (change_tick - last_tick) * tempo / 1e6 / division
        last_tick, tempo = change_tick, change_tempo
    return seconds + (tick - last_tick) * tempo / 1e6 / division


def _refuse_over(what: str, things: str, found: int, allowed: int) -> None:
    if found > allowed:
        raise InputError(f"{what} has {found:,} {things}; a primer may have at most {allowed:,}.")


def _duration_text(seconds: float) -> str:
    """600 -> "10 minutes", 610080 -> "169.5 hours"."""
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} minutes" if seconds % 60 == 0 else f"{seconds / 60:.1f} minutes"
    return f"{seconds / 3600:,.1f} hours"
