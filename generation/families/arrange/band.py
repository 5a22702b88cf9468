"""The band's parts from a harmonised melody, and the arrangement as MIDI. No TensorFlow.

The lead-sheet harmoniser voices three parts under the melody (bass, tenor, alto; never crossing), so the lowest
harmony note sounding where a note starts is the bass, and the others are the chords. Each style then moves them:
the bass struck again on every 8th (rock) or beat (pop, jazz), a walking bass leading into each new bass note by a
semitone (jazz), chords struck on every beat (rock) or held (the others). The drummer's taps are the melody's
onsets and the style's pulse, the positions in the bar where that style's drummers in the Groove MIDI Dataset
strike most of the time (models/arrange).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from generation.families.arrange.styles import Style
from generation.music.notes import Note

if TYPE_CHECKING:
    import pretty_midi

    from generation.families.music_vae.groove_encoding import Hit

BAR = 16
BEAT = 4
CLOSED_HAT, RIDE = 42, 51  # GM keys: GrooVAE writes its closed hi-hat class as 42
GAP_S = 0.02  # a struck-again note lets go of the one before a moment early, so each is heard


@dataclass(frozen=True)
class Band:
    """One arrangement: the melody as given, the band's parts, the drum hits and the chord names."""

    melody: list[Note]
    chords: list[Note]
    bass: list[Note]
    drums: list[Hit]
    chord_names: list[tuple[int, str]]


def split_harmony(harmony: Sequence[Note]) -> tuple[list[Note], list[Note]]:
    """(bass, chords): a harmony note is the bass where it is the lowest harmony note sounding at its onset."""
    bass: list[Note] = []
    chords: list[Note] = []
    for n in harmony:
        lowest = min(m.pitch for m in harmony if m.start <= n.start < m.end)
        (bass if n.pitch == lowest else chords).append(n)
    return sorted(bass), sorted(chords)


def walk(bass: Sequence[Note]) -> list[Note]:
    """Each bass note held two beats or more before a new bass note gives its last beat to a semitone leading into
    that note (from below when the bass rises, from above when it falls)."""
    out: list[Note] = []
    notes = sorted(bass)
    for n, after in zip(notes, [*notes[1:], None], strict=True):
        if after is not None and after.start == n.end and after.pitch != n.pitch and n.end - n.start >= 2 * BEAT:
            lead = after.pitch - 1 if after.pitch > n.pitch else after.pitch + 1
            out += [Note(n.start, n.end - BEAT, n.pitch, n.velocity), Note(n.end - BEAT, n.end, lead, n.velocity)]
        else:
            out.append(n)
    return out


def restrike(notes: Sequence[Note], every: int) -> list[Note]:
    """Each note struck again at every multiple of `every` 16ths it holds over (0: as it is)."""
    if every <= 0:
        return list(notes)
    out = []
    for n in notes:
        cuts = [n.start, *range((n.start // every + 1) * every, n.end, every), n.end]
        out += [Note(a, b, n.pitch, n.velocity) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
    return sorted(out)


def voiced(notes: Sequence[Note], velocity: int) -> list[Note]:
    return [Note(n.start, n.end, n.pitch, velocity) for n in notes]


def taps(melody: Sequence[Note], pulse: Sequence[bool], num_steps: int) -> list[bool]:
    """Where the drummer plays: every melody onset, and the style's pulse in every bar."""
    onsets = {n.start for n in melody}
    return [t in onsets or bool(pulse[t % BAR]) for t in range(num_steps)]


def band_parts(style: Style, melody: list[Note], harmony: Sequence[Note], chord_names: list[tuple[int, str]],
               drums: list[Hit], ride: bool) -> Band:
    """The style's parts from a harmonisation (and the drum hits, the hi-hat played on the ride where `ride`)."""
    bass, chords = split_harmony(harmony)
    if style.walk:
        bass = walk(bass)
    if ride:
        from generation.families.music_vae.groove_encoding import Hit

        drums = [Hit(h.step, RIDE, h.velocity, h.offset) if h.pitch == CLOSED_HAT else h for h in drums]
    return Band(melody, restrike(voiced(chords, style.chord_velocity), style.chord_every),
                restrike(voiced(bass, style.bass_velocity), style.bass_every), drums, chord_names)


def band_midi(band: Band, style: Style, qpm: float, num_steps: int) -> pretty_midi.PrettyMIDI:
    """Melody, Chords, Bass (each on its own channel with the style's program) and Drums on channel 10, the chord
    names as lyrics (the piano roll prints them); the piece lasts num_steps 16ths."""
    import pretty_midi

    from generation.families.music_vae.groove_inputs import groove_midi

    step_s = 60.0 / qpm / BEAT
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    for name, program, notes, gap in (("Melody", style.melody, band.melody, 0.0),
                                      ("Chords", style.chords, band.chords, GAP_S),
                                      ("Bass", style.bass, band.bass, GAP_S)):
        inst = pretty_midi.Instrument(program, name=name)
        for n in notes:
            start, end = n.start * step_s, n.end * step_s
            inst.notes.append(pretty_midi.Note(n.velocity, n.pitch, start, max(start + 0.05, end - gap)))
        midi.instruments.append(inst)
    if band.drums:
        kit = groove_midi(band.drums, qpm, num_steps).instruments[0]
        kit.program = style.kit
        midi.instruments.append(kit)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    midi.lyrics += [pretty_midi.Lyric(name, step * step_s) for step, name in band.chord_names]
    midi.text_events.append(pretty_midi.Text("end", num_steps * step_s))
    return midi
