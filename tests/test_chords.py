"""Chord figures as users type them: every figure of Magenta's Improv RNN lecture, slash chords, errors."""

from __future__ import annotations

import pytest

from generation.music.chords import NO_CHORD, ChordError, Quality, parse_chord, parse_progression

# Pitch class of each note name, written out so the expected chords below read like a theory book.
PC = {
    "Cb": 11, "C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
    "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11, "E#": 5, "B#": 0,
}  # fmt: skip

MAJ, MIN, DIM = Quality.MAJOR, Quality.MINOR, Quality.DIMINISHED

# (figure, root, notes of the chord, bass, triad quality), worked out by hand from music theory. The lecture's
# maj#9 / maj#11 / majb13 figures are the major triad plus that one tension (no seventh), as in Magenta.
LECTURE_FIGURES: list[tuple[str, str, str, str, Quality]] = [
    ("C", "C", "C E G", "C", MAJ),
    ("G", "G", "G B D", "G", MAJ),
    ("Am", "A", "A C E", "A", MIN),
    ("F", "F", "F A C", "F", MAJ),
    ("G7/F", "G", "G B D F", "F", MAJ),
    ("Bm7b5", "B", "B D F A", "B", DIM),
    ("Eb", "Eb", "Eb G Bb", "Eb", MAJ),
    ("E", "E", "E G# B", "E", MAJ),
    ("C#m11", "C#", "C# E G# B D# F#", "C#", MIN),
    ("Cmaj7", "C", "C E G B", "C", MAJ),
    ("C#maj7", "C#", "C# E# G# B#", "C#", MAJ),
    ("Dm7", "D", "D F A C", "D", MIN),
    ("D#m7", "D#", "D# F# A# C#", "D#", MIN),
    ("Cm7", "C", "C Eb G Bb", "C", MIN),
    ("Cbm6", "Cb", "Cb D Gb Ab", "Cb", MIN),  # = B minor sixth: B D F# G#
    ("Cmaj9", "C", "C E G B D", "C", MAJ),
    ("Cmaj#9", "C", "C E G D#", "C", MAJ),
    ("Cmaj#11", "C", "C E G F#", "C", MAJ),
    ("Cmajb13", "C", "C E G Ab", "C", MAJ),
    ("Fmaj9", "F", "F A C E G", "F", MAJ),
    ("Fmaj#11", "F", "F A C B", "F", MAJ),
    ("Gmaj#9", "G", "G B D A#", "G", MAJ),
    ("G13", "G", "G B D F A C E", "G", MAJ),  # 1 3 5 b7 9 11 13
    # Slash chords: the same notes, a different bass.
    ("Cmaj7/G", "C", "C E G B", "G", MAJ),
    ("C#maj7/G#", "C#", "C# E# G# B#", "G#", MAJ),
    ("Cm7/G", "C", "C Eb G Bb", "G", MIN),
    ("Cbm6/A", "Cb", "Cb D Gb Ab", "A", MIN),
    ("Cmaj9/D", "C", "C E G B D", "D", MAJ),
    ("Cmaj#9/D#", "C", "C E G D#", "D#", MAJ),
    ("Cmaj#11/F#", "C", "C E G F#", "F#", MAJ),
    ("Cmajb13/Ab", "C", "C E G Ab", "Ab", MAJ),
]


def pcs(notes: str) -> set[int]:
    """Note names to pitch classes: "C E G" -> {0, 4, 7}."""
    return {PC[n] for n in notes.split()}


@pytest.mark.parametrize(
    ("figure", "root", "notes", "bass", "quality"), LECTURE_FIGURES, ids=[row[0] for row in LECTURE_FIGURES]
)
def test_lecture_figure_parses_to_its_notes(figure: str, root: str, notes: str, bass: str, quality: Quality) -> None:
    """Each lecture figure gives the notes a musician would play, with the right root, bass and triad."""
    chord = parse_chord(figure)
    assert not chord.is_no_chord
    assert chord.root == PC[root]
    assert set(chord.pitch_classes) == pcs(notes)
    assert len(chord.pitch_classes) == len(set(chord.pitch_classes)), "a pitch class is listed twice"
    assert chord.pitch_classes[0] == PC[root], "pitch classes are spelled root first"
    assert chord.bass == PC[bass]
    assert chord.quality is quality


def test_cbm6_is_b_minor_sixth() -> None:
    """Cb is B: Cbm6 sounds B D F# G# over root 11."""
    chord = parse_chord("Cbm6")
    assert chord.root == 11
    assert set(chord.pitch_classes) == {11, 2, 6, 8}


@pytest.mark.parametrize("spelling", ["C on G", "C ON G", " C/G "])
def test_c_on_g_is_c_over_g(spelling: str) -> None:
    """The spoken form "C on G" is the slash chord C/G."""
    assert parse_chord(spelling) == parse_chord("C/G")
    assert parse_chord(spelling).bass == PC["G"]


def test_c_on_g_inside_a_progression_is_one_chord() -> None:
    """In a progression, "C on G" is one chord, not three tokens."""
    chords = parse_progression("C on G Am")
    assert chords == (parse_chord("C/G"), parse_chord("Am"))


@pytest.mark.parametrize("spelling", ["N.C.", "NC", "nc", "N/C"])
def test_no_chord(spelling: str) -> None:
    """N.C. means no chord: no root, no notes, no bass."""
    chord = parse_chord(spelling)
    assert chord.is_no_chord
    assert chord == NO_CHORD
    assert chord.root is None and chord.bass is None and chord.pitch_classes == ()
    assert chord.chord_tones() == frozenset()


def test_progression_counts_chords() -> None:
    """The lecture's progression with a slash chord is four chords, in order."""
    chords = parse_progression("Am Dm G7/F C")
    assert len(chords) == 4
    assert [c.root for c in chords] == [PC["A"], PC["D"], PC["G"], PC["C"]]
    assert chords[2].bass == PC["F"]


def test_progression_keeps_no_chord_steps() -> None:
    """N.C. inside a progression is a chord slot with no chord."""
    chords = parse_progression("N.C. C")
    assert len(chords) == 2
    assert chords[0].is_no_chord and chords[1].root == 0


@pytest.mark.parametrize("token", ["H7", "Cxyz", "C/x", "", "c"])
def test_bad_figure_names_the_token_and_what_is_accepted(token: str) -> None:
    """A figure we cannot read raises ChordError quoting it, and the message lists what is accepted."""
    with pytest.raises(ChordError) as info:
        parse_chord(token)
    message = str(info.value)
    assert repr(token) in message
    assert "Accepted" in message
    assert info.value.token == token


def test_bad_figure_inside_a_progression_is_the_one_reported() -> None:
    """In "Am H7 C", the error points at H7, not at the good chords."""
    with pytest.raises(ChordError) as info:
        parse_progression("Am H7 C")
    assert "'H7'" in str(info.value)
    assert "Accepted" in str(info.value)


def test_empty_progression_is_an_error() -> None:
    """No chords at all is an error that says so."""
    with pytest.raises(ChordError, match="no chords"):
        parse_progression("   ")


@pytest.mark.parametrize(
    ("figure", "tones"),
    [
        ("C", "C E G"),
        ("Cmaj7", "C E G B"),
        ("G7", "G B D F"),
        ("Bm7b5", "B D F A"),
        ("Cdim7", "C Eb Gb A"),  # the diminished seventh (bb7, spelled A here) is a chord tone
        ("Cmaj#9", "C E G"),  # D# is a tension, not a chord tone
        ("Cmaj9", "C E G B"),  # the 9th is a tension
        ("C6", "C E G"),  # the 6th is not a seventh
        ("Csus4", "C F G"),  # the 4th stands in for the missing third
    ],
)
def test_chord_tones(figure: str, tones: str) -> None:
    """Chord tones are root, third, fifth and seventh; tensions are left out."""
    assert parse_chord(figure).chord_tones() == frozenset(pcs(tones))


def test_transpose_by_a_tritone_moves_root_and_bass() -> None:
    """G7/F up 6 semitones is C#7/B: root, bass, notes and the figure all move."""
    moved = parse_chord("G7/F").transpose(6)
    assert moved.root == PC["C#"]
    assert moved.bass == PC["B"]
    assert set(moved.pitch_classes) == pcs("C# E# G# B")
    assert moved.figure == "C#7/B"
    assert moved == parse_chord("C#7/B")


def test_transpose_wraps_and_keeps_the_quality_text() -> None:
    """Cbm6/A up 6 is Fm6/Eb, the same chord as typing Fm6/Eb."""
    moved = parse_chord("Cbm6/A").transpose(6)
    assert moved == parse_chord("Fm6/Eb")
    assert moved.quality is Quality.MINOR


def test_transpose_no_chord_stays_no_chord() -> None:
    """Moving N.C. gives N.C."""
    assert NO_CHORD.transpose(6) == NO_CHORD
