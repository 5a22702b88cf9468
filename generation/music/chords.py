"""Chord symbols: parse a figure ("G7/F", "C on G", "N.C.") into root, pitch classes and bass.

The figure grammar is note-seq's `chord_symbols_lib` (a maintained parser that already reads every figure of
Magenta's lecture, including maj#9 / maj#11 / majb13 as the major triad plus that tension). This module adds
the spellings chat users type ("C on G", "NC", unicode accidentals), one error type carrying the token, the
reason and what is accepted, and a frozen `Chord` so nothing downstream re-parses strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from note_seq import chord_symbols_lib

from generation.errors import InputError

NO_CHORD_SPELLINGS = frozenset({"N.C.", "NC", "N.C", "NC.", "N/C", "-"})
ACCEPTED = (
    "a root A-G with optional # or b, then a quality such as m, 7, maj7, m7, m7b5, dim, aug, sus4, 9, 11, 13, "
    "6, add9, maj#9, maj#11, majb13, then optionally /BASS (\"G7/F\", or \"C on G\"); N.C. for no chord"
)


class Quality(Enum):
    """The triad a chord is built on; what the triad-encoded models can see."""

    MAJOR = "major"
    MINOR = "minor"
    AUGMENTED = "augmented"
    DIMINISHED = "diminished"
    OTHER = "other"  # sus chords, power chords: no third, so no triad


_QUALITY_FROM_NOTE_SEQ = {
    chord_symbols_lib.CHORD_QUALITY_MAJOR: Quality.MAJOR,
    chord_symbols_lib.CHORD_QUALITY_MINOR: Quality.MINOR,
    chord_symbols_lib.CHORD_QUALITY_AUGMENTED: Quality.AUGMENTED,
    chord_symbols_lib.CHORD_QUALITY_DIMINISHED: Quality.DIMINISHED,
    chord_symbols_lib.CHORD_QUALITY_OTHER: Quality.OTHER,
}


class ChordError(InputError):
    """A chord figure we cannot use. `str()` is the user-facing message."""

    def __init__(self, token: str, reason: str, allowed: str = ACCEPTED) -> None:
        self.token = token
        self.reason = reason
        self.allowed = allowed
        super().__init__(f"chord {token!r}: {reason}. Accepted: {allowed}.")


@dataclass(frozen=True)
class Chord:
    """A parsed chord. `figure` is None for no chord (then the other fields are empty)."""

    figure: str | None
    root: int | None = None  # pitch class 0-11
    pitch_classes: tuple[int, ...] = ()  # as spelled: root first, then the rest in stacking order
    bass: int | None = None  # pitch class of the lowest note (differs from root for slash chords)
    quality: Quality | None = None

    @property
    def is_no_chord(self) -> bool:
        return self.figure is None

    def chord_tones(self) -> frozenset[int]:
        """Root, third, fifth and seventh pitch classes, no tensions: what 'a chord tone' means in scoring."""
        if self.root is None or self.quality is None:
            return frozenset()
        intervals = {(pc - self.root) % 12 for pc in self.pitch_classes}
        thirds, fifths = _THIRD_AND_FIFTH[self.quality]
        tones = {0}
        tones.update(next(([i] for i in thirds if i in intervals), []))
        tones.update(next(([i] for i in fifths if i in intervals), []))
        # A seventh is 10 or 11; a diminished seventh chord's 9 is its seventh, a 6th chord's 9 is not.
        sevenths = (10, 11, 9) if self.quality is Quality.DIMINISHED and 10 not in intervals else (10, 11)
        tones.update(i for i in sevenths if i in intervals)
        return frozenset((self.root + i) % 12 for i in tones)

    def transpose(self, semitones: int) -> Chord:
        """The same chord moved by `semitones` (used for augmentation and the tritone control)."""
        if self.root is None or self.bass is None:
            return self
        return Chord(
            figure=transpose_figure(self.figure or "", semitones),
            root=(self.root + semitones) % 12,
            pitch_classes=tuple((pc + semitones) % 12 for pc in self.pitch_classes),
            bass=(self.bass + semitones) % 12,
            quality=self.quality,
        )


NO_CHORD = Chord(figure=None)

# Interval preferences (semitones above the root) for the third and the fifth of each triad quality.
_THIRD_AND_FIFTH: dict[Quality, tuple[tuple[int, ...], tuple[int, ...]]] = {
    Quality.MAJOR: ((4,), (7, 6, 8)),
    Quality.MINOR: ((3,), (7, 6, 8)),
    Quality.AUGMENTED: ((4,), (8,)),
    Quality.DIMINISHED: ((3,), (6,)),
    Quality.OTHER: ((5, 2), (7, 6, 8)),
}

_ON_BASS = re.compile(r"\s+on\s+", re.IGNORECASE)


def normalise_figure(token: str) -> str:
    """Chat spellings -> note-seq spellings: trims, unicode accidentals, "C on G" -> "C/G"."""
    text = token.strip().replace("\u266f", "#").replace("\u266d", "b").replace("\u0394", "maj7")
    return _ON_BASS.sub("/", text)


def parse_chord(token: str) -> Chord:
    """Parse one chord figure.

    Raises:
        ChordError: the figure is not a chord we can read; the message names it and says what is accepted.
    """
    figure = normalise_figure(token)
    if not figure:
        raise ChordError(token, "empty chord")
    if figure.upper() in NO_CHORD_SPELLINGS:
        return NO_CHORD
    try:
        root = chord_symbols_lib.chord_symbol_root(figure)
        pitches = chord_symbols_lib.chord_symbol_pitches(figure)
        bass = chord_symbols_lib.chord_symbol_bass(figure)
        quality = _QUALITY_FROM_NOTE_SEQ[chord_symbols_lib.chord_symbol_quality(figure)]
    except chord_symbols_lib.ChordSymbolError as e:
        raise ChordError(token, _why(figure)) from e
    return Chord(figure=figure, root=root, pitch_classes=tuple(pitches), bass=bass, quality=quality)


def parse_progression(text: str) -> tuple[Chord, ...]:
    """Parse a space-separated progression ("Am Dm G7/F C"); "C on G" counts as one chord.

    Raises:
        ChordError: for the first figure that cannot be read.
    """
    joined = _ON_BASS.sub("/", text.strip())
    tokens = [t for t in re.split(r"[\s,|]+", joined) if t]
    if not tokens:
        raise ChordError(text, "no chords given")
    return tuple(parse_chord(t) for t in tokens)


_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_ROOT = re.compile(r"^([A-Ga-g])([#b]*)")


def transpose_figure(figure: str, semitones: int) -> str:
    """Move a figure's root and bass names; the quality text is kept as written."""

    def move(name: str) -> str:
        match = _ROOT.match(name)
        if not match:
            return name
        pc = chord_symbols_lib.chord_symbol_root(match.group(0).upper()[0] + match.group(2))
        return _NOTE_NAMES[(pc + semitones) % 12] + name[match.end() :]

    head, slash, bass = figure.partition("/")
    return move(head) + (slash + move(bass) if slash else "")


def _why(figure: str) -> str:
    if not _ROOT.match(figure) or figure[0].islower():
        return "a chord starts with a root note A-G (capital)"
    if "/" in figure and not _ROOT.match(figure.split("/", 1)[1] or "?"):
        return "the bass after '/' must be a note name A-G"
    return "the quality after the root is not one we know"
