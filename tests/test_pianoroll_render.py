"""The piano roll a user sees under a result: pitched parts fill the roll fitted to their range, and drums sit in a
lane of their own below it (one row per drum), not among the bass's notes at their key numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
from PIL import Image

from generation.render.pianoroll import TRACK_COLOURS, render_pianoroll

BEAT = [(36, 0.0), (42, 0.25), (38, 0.5), (42, 0.75)] * 4  # kick, hat, snare, hat


def band(tmp_path: Path, melody: bool = True, bass: bool = True, drums: bool = True) -> Path:
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    if melody:
        inst = pretty_midi.Instrument(0, name="Melody")
        inst.notes = [pretty_midi.Note(100, p, i * 0.5, i * 0.5 + 0.5) for i, p in enumerate([72, 74, 76, 79] * 2)]
        midi.instruments.append(inst)
    if bass:
        inst = pretty_midi.Instrument(33, name="Bass")  # C2 and G2: the keys a kick and a snare have on channel 10
        inst.notes = [pretty_midi.Note(100, p, i * 1.0, i * 1.0 + 1.0) for i, p in enumerate([36, 43, 36, 43])]
        midi.instruments.append(inst)
    if drums:
        inst = pretty_midi.Instrument(0, is_drum=True, name="Drums")
        inst.notes = [pretty_midi.Note(100, p, bar + t, bar + t + 0.1) for bar in (0.0, 1.0, 2.0, 3.0)
                      for p, t in BEAT]
        midi.instruments.append(inst)
    path = tmp_path / "band.mid"
    midi.write(str(path))
    return path


def rows_of(png: Path, colour: tuple[int, int, int]) -> np.ndarray:
    """The image rows (y) where `colour` is drawn."""
    pixels = np.asarray(Image.open(png).convert("RGB"))
    return np.flatnonzero((pixels == colour).all(axis=2).any(axis=1))


def test_drums_sit_in_a_lane_below_the_pitched_parts(tmp_path: Path) -> None:
    png = render_pianoroll(band(tmp_path), tmp_path / "roll.png")
    melody, bass, drums = (rows_of(png, c) for c in TRACK_COLOURS[:3])
    assert len(melody) and len(bass) and len(drums)
    assert drums.min() > bass.max() > melody.max()  # the kit below the bass, the bass below the melody
    # three drums (kick, snare, closed hat): three bands of rows, each its own
    bands = np.split(drums, np.flatnonzero(np.diff(drums) > 1) + 1)
    assert len(bands) == 3, [(b.min(), b.max()) for b in bands]
    assert drums.max() - drums.min() < 60  # a lane, not half the picture


def test_the_pitched_range_is_not_stretched_by_drum_keys(tmp_path: Path) -> None:
    """A melody over drums keeps its rows nearly as tall as alone (drum keys 36-42 in the range would thin them
    to a quarter)."""
    def row_height(png: Path) -> float:
        return len(rows_of(png, TRACK_COLOURS[0])) / 4  # the melody's four pitches, each its own rows

    with_drums = render_pianoroll(band(tmp_path, bass=False), tmp_path / "with.png")
    alone = render_pianoroll(band(tmp_path, bass=False, drums=False), tmp_path / "alone.png")
    assert row_height(with_drums) >= 0.8 * row_height(alone), (row_height(with_drums), row_height(alone))


def test_a_drum_only_result_fills_the_picture(tmp_path: Path) -> None:
    png = render_pianoroll(band(tmp_path, melody=False, bass=False), tmp_path / "drums.png")
    drums = rows_of(png, TRACK_COLOURS[0])  # the only track
    assert drums.max() - drums.min() > 200  # three rows spread over the height
