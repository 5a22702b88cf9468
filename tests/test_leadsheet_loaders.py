"""Tests for the Nottingham (ABC) and OpenEWLD (MusicXML) lead-sheet loaders, on real data when present."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from generation.data.leadsheet import NO_EVENT, NOTE_OFF, LeadSheet
from generation.data.nottingham import load_nottingham, normalise_abc_chord, parse_tune
from generation.data.openewld import harmony_figure, load_openewld, read_mxl

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
NOTTINGHAM = DATASETS / "nottingham" / "ABC_cleaned"
OPENEWLD = DATASETS / "openewld" / "dataset"
# Its folder name has an apostrophe, and so has its META-INF/container.xml, unescaped (93 files are like it).
BROKEN_CONTAINER = "Al_Dubin-Harry_Warren/Lulu's_Back_in_Town/Lulu's_Back_in_Town.mxl"


@pytest.fixture(scope="module")
def nottingham() -> list[LeadSheet]:
    if not NOTTINGHAM.is_dir():
        pytest.skip(f"Nottingham data not found at {NOTTINGHAM}")
    return load_nottingham(NOTTINGHAM)


@pytest.fixture(scope="module")
def openewld() -> list[LeadSheet]:
    if not OPENEWLD.is_dir():
        pytest.skip(f"OpenEWLD data not found at {OPENEWLD}")
    return load_openewld(OPENEWLD)


def _check_record(sheet: LeadSheet) -> None:
    assert all(NO_EVENT <= e <= 127 for e in sheet.melody), sheet.name
    assert len(sheet.chords) == len(sheet.melody), sheet.name
    assert sheet.bar_starts[0] == 0, sheet.name
    assert all(a < b for a, b in zip(sheet.bar_starts, sheet.bar_starts[1:], strict=False)), sheet.name
    assert sheet.bar_starts[-1] < len(sheet.melody), sheet.name
    assert any(e >= 0 for e in sheet.melody), sheet.name


# ---------------------------------------------------------------- Nottingham


def test_nottingham_reads_nearly_every_tune(nottingham: list[LeadSheet]) -> None:
    assert len(nottingham) >= 1000
    assert len({s.name for s in nottingham}) == len(nottingham)
    files = [s.name.split("#")[0] for s in nottingham]
    assert files == sorted(files)  # files in sorted order, tunes in file order
    for sheet in nottingham:
        _check_record(sheet)


def test_nottingham_known_tune_by_hand(nottingham: list[LeadSheet]) -> None:
    # jigs.abc X:1, K:A, M:6/8, L:1/8:   f|"A"ecc c2f|"A"ecc c2f|"A"ecc c2f|"Bm"BcB "E7"B2f| ...
    #   ... [1"A"Ace a2:| [2"A"Ace ag=g||   then part B in D, also with two endings.
    tune = next(s for s in nottingham if s.name == "nottingham/jigs.abc#1 A and D")
    # The pickup f (an eighth, 2 steps) is padded so that it ends on the first full bar, at step 12.
    assert tune.melody[:12] == (NO_EVENT,) * 10 + (78, NO_EVENT)
    assert tune.bar_starts[:3] == (0, 12, 24)
    assert tune.melody[12:24] == (76, -2, 73, -2, 73, -2, 73, -2, -2, -2, 78, -2)  # e c c c2 f (C#, F# in A)
    assert tune.chords[11] is None and tune.chords[12] == "A"
    assert tune.melody[48:60:2] == (71, 73, 71, 71, NO_EVENT, 78)  # "Bm"BcB "E7"B2f
    assert tune.chords[48:54] == ("Bm",) * 6 and tune.chords[54:60] == ("E7",) * 6
    # Part A is played twice; its second ending (bar 16) has the =g natural after the key's g#.
    assert tune.bar_starts[16] == 192
    assert tune.melody[192:204:2] == (69, 73, 76, 81, 80, 79)
    assert len(tune.melody) == 394 and len(tune.bar_starts) == 33


@pytest.mark.parametrize(
    ("text", "figure"),
    [
        ("G", "G"),
        ("Em", "Em"),
        ("A7", "A7"),
        ("Cd", "Cdim"),
        ("G#d7", "G#dim7"),
        ("Bbd", "Bbdim"),
        ("Ea", "Eaug"),
        ("Fa7", "Faug7"),
        ("D/f+", "D/F#"),
        ("A7/c+", "A7/C#"),
        ("Gm/bb", "Gm/Bb"),
        ("E7/b", "E7/B"),
        ("(A7)", "A7"),
        (" B7", "B7"),
        ("D m", "Dm"),
        ("D7b9", "D7b9"),
        (" ", None),
        ("From A.Train's song", None),
    ],
)
def test_nottingham_chord_spellings(text: str, figure: str | None) -> None:
    assert normalise_abc_chord(text) == figure


def _tune(body: str) -> LeadSheet:
    return parse_tune(["T:test", *body.strip().splitlines()], "test")


def test_abc_ties_rests_chords_and_bracket_chords() -> None:
    sheet = _tune('M:2/4\nL:1/8\nK:C\n"C"c2-c z|"G7"[GBd]2 z2|]')
    assert sheet.melody == (72, -2, -2, -2, -2, -2, NOTE_OFF, -2, 74, -2, -2, -2, NOTE_OFF, -2, -2, -2)
    assert sheet.bar_starts == (0, 8)
    assert sheet.chords[7:9] == ("C", "G7")


def test_abc_triplets_round_and_broken_rhythm() -> None:
    # (3cde: three eighths in the time of two (4 steps): onsets 0, 1.33, 2.67 -> steps 0, 1, 3.
    sheet = _tune("M:2/4\nL:1/8\nK:C\n(3cde f>g|]")
    assert sheet.melody == (72, 74, -2, 76, 77, -2, -2, 79)


def test_abc_repeats_endings_and_meter_change() -> None:
    sheet = _tune("M:3/4\nL:1/4\nK:G\n|:G A B|[1 c3:|[2 d3|]\nM:2/4\nE F|]")
    onsets = [e for e in sheet.melody if e >= 0]
    assert onsets == [67, 69, 71, 72, 67, 69, 71, 74, 64, 66]  # F is F# in G
    assert sheet.bar_starts == (0, 12, 24, 36, 48)
    assert len(sheet.melody) == 56


def test_abc_pickup_is_padded() -> None:
    sheet = _tune("M:4/4\nL:1/8\nK:D\nA|d2 f2 a4|]")
    assert sheet.melody[:14] == (NO_EVENT,) * 14
    assert sheet.melody[14] == 69 and sheet.bar_starts == (0, 16)


def test_nottingham_skips_and_counts_a_bad_tune(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a.abc").write_text("X: 1\nT:Good\nM:2/4\nK:G\nGABc|]\n\nX: 2\nT:Bad\nM:2/4\nK:Q\nGABc|]\n")
    with caplog.at_level(logging.INFO, logger="generation.data.nottingham"):
        sheets = load_nottingham(tmp_path)
    assert [s.name for s in sheets] == ["nottingham/a.abc#1 Good"]
    assert "read 1 tunes, skipped 1" in caplog.text


# ---------------------------------------------------------------- OpenEWLD


def test_openewld_reads_nearly_every_sheet(openewld: list[LeadSheet]) -> None:
    assert len(openewld) >= 480
    names = [s.name for s in openewld]
    assert names == sorted(names)
    for sheet in openewld:
        _check_record(sheet)


def test_openewld_file_with_malformed_container_loads() -> None:
    path = OPENEWLD / BROKEN_CONTAINER
    if not path.is_file():
        pytest.skip(f"OpenEWLD file not found at {path}")
    with zipfile.ZipFile(path) as archive, pytest.raises(ET.ParseError):
        ET.fromstring(archive.read("META-INF/container.xml"))
    sheet = read_mxl(path, "lulu")
    _check_record(sheet)
    assert sum(1 for c in sheet.chords if c is not None) > len(sheet.melody) // 2


def _harmony(xml: str) -> str | None:
    return harmony_figure(ET.fromstring(f"<harmony>{xml}</harmony>"))


def test_musicxml_harmony_figures() -> None:
    root = "<root><root-step>B</root-step><root-alter>-1</root-alter></root>"
    assert _harmony(root + "<kind>major</kind>") == "Bb"
    assert _harmony(root + "<kind>half-diminished</kind>") == "Bbm7b5"
    assert _harmony(root + "<kind>none</kind>") is None
    nine = (
        "<degree><degree-value>9</degree-value><degree-alter>-1</degree-alter><degree-type>add</degree-type>"
    )
    assert _harmony(root + '<kind text="7b9">dominant</kind>' + nine + "</degree>") == "Bb7b9"
    bass = "<bass><bass-step>D</bass-step></bass>"
    assert _harmony(root + "<kind>minor-seventh</kind>" + bass) == "Bbm7/D"
    assert _harmony(root + '<kind text="m7" />') == "Bbm7"  # empty kind: the text attribute
    assert _harmony(root + '<kind text="69">maj69</kind>') == "Bb6add9"
    assert _harmony(root + "<kind>Tristan</kind>") == "Bb"  # unknown: major


def _write_mxl(path: Path, measures: str) -> Path:
    score = f'<score-partwise><part id="P1">{measures}</part></score-partwise>'
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("META-INF/container.xml", "<container><rootfile full-path='It's.xml'/></container>")
        archive.writestr("It's.xml", score)
    return path


def _note(step: str, quarters: int, extra: str = "") -> str:
    """A <note> in octave 4 at 2 divisions per quarter."""
    pitch = f"<pitch><step>{step}</step><octave>4</octave></pitch>"
    return f"<note>{pitch}<duration>{quarters * 2}</duration>{extra}</note>"


def test_musicxml_pickup_repeats_ties_and_meter_change(tmp_path: Path) -> None:
    harmony = "<harmony><root><root-step>F</root-step></root><kind>dominant</kind></harmony>"
    tie_start, tie_stop = '<tie type="start"/>', '<tie type="stop"/>'
    measures = (
        '<measure number="0"><attributes><divisions>2</divisions><time><beats>3</beats>'
        f"<beat-type>4</beat-type></time></attributes>{_note('G', 1)}</measure>"
        f'<measure number="1"><barline location="left"><repeat direction="forward"/></barline>'
        f"{harmony}{_note('C', 2)}{_note('E', 1, '<chord/>')}{_note('D', 1, tie_start)}</measure>"
        f'<measure number="2"><barline location="left"><ending number="1" type="start"/></barline>'
        f"{_note('D', 1, tie_stop)}<note><rest/><duration>4</duration></note>"
        '<barline location="right"><ending number="1" type="stop"/><repeat direction="backward"/></barline>'
        "</measure>"
        f'<measure number="3"><barline location="left"><ending number="2" type="start"/></barline>'
        "<attributes><time><beats>2</beats><beat-type>4</beat-type></time></attributes>"
        f"<note><grace/><pitch><step>B</step><octave>4</octave></pitch></note>{_note('A', 2)}"
        '<barline location="right"><ending number="2" type="stop"/></barline></measure>'
    )
    sheet = read_mxl(_write_mxl(tmp_path / "t.mxl", measures), "t")
    # pickup G padded to a 3/4 bar | C (E on top) D~ | D rest | C (E) D | A (2/4; the grace note B dropped)
    assert sheet.bar_starts == (0, 12, 24, 36, 48)
    onsets = [(i, e) for i, e in enumerate(sheet.melody) if e != NO_EVENT]
    assert onsets == [(8, 67), (12, 64), (20, 62), (28, NOTE_OFF), (36, 64), (44, 62), (48, 69)]
    assert len(sheet.melody) == 56
    assert sheet.chords[11] is None and sheet.chords[12] == "F7"


def test_musicxml_ending_quirks_still_expand(tmp_path: Path) -> None:
    # The exporter closes ending 1 a bar early, puts its :| on the next bar and numbers ending 2 as "1" too.
    def bar(step: str, barlines: str = "") -> str:
        return (
            f"<measure><attributes><divisions>2</divisions></attributes>{barlines}{_note(step, 4)}</measure>"
        )

    def ending(kind: str) -> str:
        return f'<barline><ending number="1" type="{kind}"/></barline>'

    measures = (
        bar("C", '<barline><repeat direction="forward"/></barline>')
        + bar("D", ending("start") + ending("stop"))
        + bar("E", '<barline><repeat direction="backward"/></barline>')
        + bar("F", ending("start") + ending("stop"))
    )
    sheet = read_mxl(_write_mxl(tmp_path / "q.mxl", measures), "q")
    assert [e for e in sheet.melody if e != NO_EVENT] == [60, 62, 64, 60, 65]


def test_openewld_skips_and_counts_a_bad_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write_mxl(
        tmp_path / "good.mxl",
        f"<measure><attributes><divisions>2</divisions></attributes>{_note('C', 4)}</measure>",
    )
    (tmp_path / "bad.mxl").write_bytes(b"not a zip")
    with caplog.at_level(logging.INFO, logger="generation.data.openewld"):
        sheets = load_openewld(tmp_path)
    assert [s.name for s in sheets] == ["openewld/good.mxl"]
    assert "read 1 lead sheets, skipped 1" in caplog.text
