"""MIDI -> piano-roll PNG: melody and chords as coloured bars, bar lines, chord names along the top."""

from __future__ import annotations

from pathlib import Path

import pretty_midi
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (250, 248, 243)
GRID = (222, 218, 208)
BAR_LINE = (170, 164, 150)
LABEL = (60, 56, 50)
TRACK_COLOURS = [(214, 94, 56), (72, 116, 168), (96, 150, 96), (150, 96, 160)]


def render_pianoroll(midi_path: Path, png_path: Path, width: int = 1200, height: int = 420) -> Path:
    """Draw the MIDI file as a piano roll (time left to right, pitch bottom to top)."""
    midi = pretty_midi.PrettyMIDI(str(midi_path))
    notes = [(i, n) for i, inst in enumerate(midi.instruments) for n in inst.notes]
    end = max(midi.get_end_time(), 1e-3)
    pitches = [n.pitch for _, n in notes] or [60]
    low, high = min(pitches) - 2, max(pitches) + 2
    top, left, right, bottom = 28, 8, width - 8, height - 8
    row = (bottom - top) / (high - low + 1)
    x_of = lambda t: left + (right - left) * t / end  # noqa: E731
    y_of = lambda p: bottom - (p - low + 1) * row  # noqa: E731

    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for pitch in range(low, high + 1):  # C lines help reading the octave
        if pitch % 12 == 0:
            draw.line([(left, y_of(pitch) + row), (right, y_of(pitch) + row)], fill=GRID)
            draw.text((left + 2, y_of(pitch) + row - 11), f"C{pitch // 12 - 1}", fill=BAR_LINE, font=font)
    beats = midi.get_downbeats()
    for t in beats:
        draw.line([(x_of(t), top), (x_of(t), bottom)], fill=BAR_LINE)
    for lyric in midi.lyrics:
        draw.text((x_of(lyric.time) + 3, 8), lyric.text, fill=LABEL, font=font)
    for track, note in sorted(notes, key=lambda tn: -tn[0]):  # melody (track 0) drawn last, on top
        colour = TRACK_COLOURS[track % len(TRACK_COLOURS)]
        x0, x1 = x_of(note.start), max(x_of(note.end) - 1, x_of(note.start) + 2)
        y0 = y_of(note.pitch)
        draw.rectangle([x0, y0, x1, y0 + max(row - 1, 1)], fill=colour)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    image.save(png_path, optimize=True)
    return png_path
