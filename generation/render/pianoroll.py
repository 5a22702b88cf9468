"""MIDI -> piano-roll PNG: pitched parts as coloured bars, bar lines, chord names along the top, and drums in a lane
of their own below (one row per drum, named), so a kick on key 36 does not sit among the bass's notes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pretty_midi
from PIL import Image, ImageDraw, ImageFont

from generation.families.drums.encoding import CLASS_OF_PITCH, DRUM_CLASS_NAMES

BACKGROUND = (250, 248, 243)
GRID = (222, 218, 208)
BAR_LINE = (170, 164, 150)
LABEL = (60, 56, 50)
TRACK_COLOURS = [(214, 94, 56), (72, 116, 168), (96, 150, 96), (150, 96, 160)]
DRUM_ROW = 13  # pixels per drum row in the lane
OTHER_DRUM = len(DRUM_CLASS_NAMES)  # a key outside the drum map: its own row, "other"
Font = ImageFont.ImageFont | ImageFont.FreeTypeFont
XOf = Callable[[float], float]  # seconds -> x


def render_pianoroll(midi_path: Path, png_path: Path, width: int = 1200, height: int = 420) -> Path:
    """Draw the MIDI file as a piano roll (time left to right, pitch bottom to top; drums in a lane below)."""
    midi = pretty_midi.PrettyMIDI(str(midi_path))
    pitched = [(i, n) for i, inst in enumerate(midi.instruments) if not inst.is_drum for n in inst.notes]
    drums = [(i, n) for i, inst in enumerate(midi.instruments) if inst.is_drum for n in inst.notes]
    end = max(midi.get_end_time(), 1e-3)
    top, left, right, bottom = 28, 8, width - 8, height - 8
    kits = sorted({CLASS_OF_PITCH.get(n.pitch, OTHER_DRUM) for _, n in drums})
    lane = (bottom - top) if drums and not pitched else DRUM_ROW * len(kits) + 6 * bool(kits)
    x_of = lambda t: left + (right - left) * t / end  # noqa: E731

    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for t in midi.get_downbeats():
        draw.line([(x_of(t), top), (x_of(t), bottom)], fill=BAR_LINE)
    for lyric in midi.lyrics:
        draw.text((x_of(lyric.time) + 3, 8), lyric.text, fill=LABEL, font=font)
    if pitched or not drums:
        _pitched(draw, font, pitched, x_of, top, bottom - lane, left, right)
    if drums:
        _drums(draw, font, drums, kits, x_of, bottom - lane, bottom, left, right)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    image.save(png_path, optimize=True)
    return png_path


def _pitched(draw: ImageDraw.ImageDraw, font: Font, notes: list[tuple[int, pretty_midi.Note]], x_of: XOf,
             top: float, bottom: float, left: float, right: float) -> None:
    """The pitched notes between `top` and `bottom`, the range fitted to them, a line at every C."""
    pitches = [n.pitch for _, n in notes] or [60]
    low, high = min(pitches) - 2, max(pitches) + 2
    row = (bottom - top) / (high - low + 1)
    y_of = lambda p: bottom - (p - low + 1) * row  # noqa: E731
    for pitch in range(low, high + 1):  # C lines help reading the octave
        if pitch % 12 == 0:
            draw.line([(left, y_of(pitch) + row), (right, y_of(pitch) + row)], fill=GRID)
            draw.text((left + 2, y_of(pitch) + row - 11), f"C{pitch // 12 - 1}", fill=BAR_LINE, font=font)
    for track, note in sorted(notes, key=lambda tn: -tn[0]):  # melody (track 0) drawn last, on top
        x0, x1 = x_of(note.start), max(x_of(note.end) - 1, x_of(note.start) + 2)
        y0 = y_of(note.pitch)
        draw.rectangle([x0, y0, x1, y0 + max(row - 1, 1)], fill=TRACK_COLOURS[track % len(TRACK_COLOURS)])


def _drums(draw: ImageDraw.ImageDraw, font: Font, notes: list[tuple[int, pretty_midi.Note]], kits: list[int],
           x_of: XOf, top: float, bottom: float, left: float, right: float) -> None:
    """Each drum hit as a short mark in its drum's row (kick at the bottom), the rows named at the left."""
    draw.line([(left, top + 2), (right, top + 2)], fill=BAR_LINE)
    row = (bottom - top - 6) / len(kits)
    y_of = {kit: bottom - (k + 1) * row for k, kit in enumerate(kits)}
    for kit in kits:
        name = DRUM_CLASS_NAMES[kit] if kit < OTHER_DRUM else "other"
        draw.text((left + 2, y_of[kit] + row / 2 - 6), name, fill=BAR_LINE, font=font)
    for track, note in notes:
        x0, y0 = x_of(note.start), y_of[CLASS_OF_PITCH.get(note.pitch, OTHER_DRUM)]
        draw.rectangle([x0, y0 + 1, x0 + 3, y0 + max(row - 2, 2)], fill=TRACK_COLOURS[track % len(TRACK_COLOURS)])
