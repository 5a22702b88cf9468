"""The bands /arrange writes for: each style's General MIDI programs, drum kit and how its bass and chords move.

Pure data (the chat and the bot read it). Programs are General MIDI's, numbered from 0 as in MIDI files (program
30 is GM's "Distortion Guitar", numbered 31 in GM's printed list); kits are the GS/GM2 drum-kit programs on
channel 10 that FluidR3_GM, the soundfont we render with, carries (16 Power, 32 Jazz, 48 Orchestra); a
soundfont without them plays its standard kit. `groove` names the Groove MIDI Dataset style whose drummers'
positions in the bar (models/arrange, learnt by arrange_train) add the style's pulse to the melody's rhythm.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    """One band.

    Attributes:
        name: the style as typed (style:rock).
        melody, chords, bass: GM programs of the three pitched parts.
        kit: the drum kit's program on channel 10.
        drums: whether the band has drums unless told (drums:on|off).
        groove: the Groove MIDI Dataset style whose learnt pulse joins the melody's rhythm ("" : the melody's alone).
        bass_every: the bass strikes its note again every this many 16ths (0: held as voiced).
        chord_every: the chords likewise.
        walk: the bass leads into each new bass note by a semitone on the last beat before it.
        chord_velocity, bass_velocity: under the melody (kept at its own velocities).
        band: the players, for the help and the share page.
    """

    name: str
    melody: int
    chords: int
    bass: int
    kit: int
    drums: bool
    groove: str
    bass_every: int
    chord_every: int
    walk: bool
    chord_velocity: int
    bass_velocity: int
    band: str


STYLES: dict[str, Style] = {s.name: s for s in (
    Style("rock", melody=30, chords=29, bass=34, kit=16, drums=True, groove="rock", bass_every=2, chord_every=4,
          walk=False, chord_velocity=72, bass_velocity=96,
          band="distortion guitar lead, overdriven rhythm guitar, picked electric bass, power kit"),
    Style("pop", melody=1, chords=89, bass=38, kit=0, drums=True, groove="pop", bass_every=4, chord_every=0,
          walk=False, chord_velocity=58, bass_velocity=92, band="piano lead, warm pad, synth bass, standard kit"),
    Style("jazz", melody=66, chords=0, bass=32, kit=32, drums=True, groove="jazz", bass_every=4, chord_every=0,
          walk=True, chord_velocity=60, bass_velocity=90,
          band="tenor sax, piano, walking acoustic bass, jazz kit on the ride"),
    Style("classical", melody=40, chords=48, bass=42, kit=48, drums=False, groove="", bass_every=0, chord_every=0,
          walk=False, chord_velocity=62, bass_velocity=78,
          band="violin, string ensemble, cello (drums:on adds an orchestral kit on the melody's rhythm)"),
)}
STYLE_NAMES = tuple(STYLES)
DEFAULT_STYLE = "pop"
