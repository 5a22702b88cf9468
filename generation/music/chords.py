"""Chord symbols: parse a figure ("G7/F", "C on G", "N.C.") into root, pitch classes and bass.

The figure grammar is the one note-seq's `chord_symbols_lib` reads (root, kind, scale-degree changes such as
#9 / add2 / no5, then /BASS; maj#9 / maj#11 / majb13 are the major triad plus that tension), written out here so
that the bot, which parses chords, never imports note-seq: importing it raises pretty_midi's tick limit in the
whole process. A test checks that every figure reads as note-seq reads it. This module adds the spellings chat
users type ("C on G", "NC", unicode accidentals), one error type carrying the token, the reason and what is
accepted, and a frozen `Chord` so nothing downstream re-parses strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

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
    parts = _read_figure(figure)
    if parts is None:
        raise ChordError(token, _why(figure))
    root, degrees, bass = parts
    pitches = tuple((root + _DEGREE_SEMITONES[(d - 1) % 7] + alter) % 12 for d, alter in degrees.items())
    return Chord(figure=figure, root=root, pitch_classes=pitches, bass=bass, quality=_quality(degrees))


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
        pc = _pitch_class(match.group(0).upper()[0] + match.group(2))
        return _NOTE_NAMES[(pc + semitones) % 12] + name[match.end() :]

    head, slash, bass = figure.partition("/")
    return move(head) + (slash + move(bass) if slash else "")


def _why(figure: str) -> str:
    if not _ROOT.match(figure) or figure[0].islower():
        return "a chord starts with a root note A-G (capital)"
    if "/" in figure and not _ROOT.match(figure.split("/", 1)[1] or "?"):
        return "the bass after '/' must be a note name A-G"
    return "the quality after the root is not one we know"


# --- the figure grammar: ROOT KIND MODIFICATIONS [/BASS] ----------------------------------------------------
# Each kind: its spellings and its scale degrees ("b3" = minor third). The order matters where a figure could
# split two ways: the first kind whose remainder reads as modifications and bass wins, as in note-seq.
_KINDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("", "maj", "M"), "1 3 5"),
    (("m", "min", "-"), "1 b3 5"),
    (("+", "aug"), "1 3 #5"),
    (("o", "dim"), "1 b3 b5"),
    (("7",), "1 3 5 b7"),
    (("maj7", "M7"), "1 3 5 7"),
    (("m7", "min7", "-7"), "1 b3 5 b7"),
    (("o7", "dim7"), "1 b3 b5 bb7"),
    (("+7", "aug7"), "1 3 #5 b7"),
    (("m7b5", "-7b5", "/o", "/o7"), "1 b3 b5 b7"),
    (("mmaj7", "mM7", "minmaj7", "minM7", "-maj7", "-M7", "m(maj7)", "m(M7)", "min(maj7)", "min(M7)",
      "-(maj7)", "-(M7)"), "1 b3 5 7"),
    (("6",), "1 3 5 6"),
    (("m6", "min6", "-6"), "1 b3 5 6"),
    (("9",), "1 3 5 b7 9"),
    (("maj9", "M9"), "1 3 5 7 9"),
    (("m9", "min9", "-9"), "1 b3 5 b7 9"),
    (("+9", "aug9"), "1 3 #5 b7 9"),
    (("6/9",), "1 3 5 6 9"),
    (("11",), "1 3 5 b7 9 11"),
    (("maj11", "M11"), "1 3 5 7 9 11"),
    (("m11", "min11", "-11"), "1 b3 5 b7 9 11"),
    (("13",), "1 3 5 b7 9 11 13"),
    (("maj13", "M13"), "1 3 5 7 9 11 13"),
    (("m13", "min13", "-13"), "1 b3 5 b7 9 11 13"),
    (("sus2",), "1 2 5"),
    (("sus", "sus4"), "1 4 5"),
    (("sus7", "7sus"), "1 4 5 b7"),
    (("ped",), "1"),
    (("5",), "1 5"),
)
_KIND_DEGREES = {spelling: degrees for spellings, degrees in _KINDS for spelling in spellings}
_DEGREE_SEMITONES = (0, 2, 4, 5, 7, 9, 11)  # degrees 1-7 of the major scale; 9 = 2, 11 = 4, 13 = 6
_STEP_SEMITONES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NAME = r"[A-G](?:#+|b+)?(?![#b])"  # a letter, then only sharps or only flats, all of them
_MODIFICATION = re.compile(r"\(?(add[#b]?|no|[#b])([0-9]+)\)?")  # parentheses need not pair, as in note-seq
_FIGURE = re.compile(
    rf"({_NAME})({'|'.join(re.escape(k) for k in _KIND_DEGREES)})((?:\(?(?:add[#b]?|no|[#b])[0-9]+\)?)*)"
    rf"(?:/({_NAME}))?"
)
_MAX_DEGREE_DIGITS = 4000  # keeps int() under Python's 4,300-digit limit (note-seq would crash there)


def _pitch_class(name: str) -> int:
    """ "Eb" -> 3, "Cb" -> 11, "F##" -> 7."""
    return (_STEP_SEMITONES[name[0]] + name.count("#") - name.count("b")) % 12


def _read_figure(figure: str) -> tuple[int, dict[int, int], int] | None:
    """Root pitch class, {scale degree: alteration} in stacking order, bass pitch class; None if unreadable."""
    match = _FIGURE.fullmatch(figure)
    if not match:
        return None
    root_name, kind, changes, bass_name = match.group(1, 2, 3, 4)
    degrees: dict[int, int] = {}
    for spelled in _KIND_DEGREES[kind].split():
        digits = spelled.lstrip("#b")
        degrees[int(digits)] = len(spelled) - len(digits) if spelled[0] == "#" else len(digits) - len(spelled)
    for change in _MODIFICATION.finditer(changes):
        how, digits = change.group(1, 2)
        if len(digits) > _MAX_DEGREE_DIGITS:
            return None
        degree = int(digits)
        if how.startswith("add"):
            if degree in degrees:
                return None  # "C add3": already there
            # "add7" means the minor seventh, as in a chord symbol's plain 7
            degrees[degree] = {"#": 1, "b": -1}.get(how[3:], 0) - (degree == 7)
        elif how == "no":
            if degrees.pop(degree, None) is None:
                return None  # "C no9": nothing to remove
        else:  # alter the degree if present, add it altered if not
            degrees[degree] = degrees.get(degree, 0) + (1 if how == "#" else -1)
    root = _pitch_class(root_name)
    return root, degrees, _pitch_class(bass_name) if bass_name else root


def _quality(degrees: dict[int, int]) -> Quality:
    """The triad from degrees 1, 3 and 5 with their alterations; OTHER without all three."""
    if not {1, 3, 5} <= degrees.keys():
        return Quality.OTHER
    triad = (degrees[1], degrees[3], degrees[5])
    return {(0, 0, 0): Quality.MAJOR, (0, -1, 0): Quality.MINOR, (0, 0, 1): Quality.AUGMENTED,
            (0, -1, -1): Quality.DIMINISHED}.get(triad, Quality.OTHER)
