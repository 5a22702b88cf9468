"""OpenEWLD lead sheets (compressed MusicXML) to LeadSheet records, through a small MusicXML reader."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from generation.data.leadsheet import LeadSheet
from generation.data.timeline import TICKS_PER_QUARTER, Bar, to_leadsheet

# Repeats (forward/backward repeat bar lines, numbered endings) are played out; D.C., D.S., segno and coda
# marks are not followed. Only the first part and its first voice are read; of a <chord/>, the top note.

log = logging.getLogger(__name__)

# MusicXML <kind> values -> chord-figure quality (note-seq's chord_symbols_lib spelling).
KIND_QUALITY: dict[str, str | None] = {
    "major": "",
    "minor": "m",
    "augmented": "aug",
    "diminished": "dim",
    "dominant": "7",
    "major-seventh": "maj7",
    "minor-seventh": "m7",
    "diminished-seventh": "dim7",
    "augmented-seventh": "aug7",
    "half-diminished": "m7b5",
    "major-minor": "m(maj7)",
    "major-sixth": "6",
    "minor-sixth": "m6",
    "dominant-ninth": "9",
    "major-ninth": "maj9",
    "minor-ninth": "m9",
    "dominant-11th": "11",
    "major-11th": "maj11",
    "minor-11th": "m11",
    "dominant-13th": "13",
    "major-13th": "maj13",
    "minor-13th": "m13",
    "suspended-second": "sus2",
    "suspended-fourth": "sus4",
    "power": "5",
    "none": None,
}
# Non-standard kinds and `text` spellings seen in the data, read as the nearest standard quality.
_ALIASES = {
    "minor-major": "m(maj7)",
    "augmented-ninth": "aug9",
    "maj69": "6add9",
    "69": "6add9",
    "m69": "m6add9",
    "ma7": "maj7",
    "mi": "m",
    "min": "m",
    "-": "m",
    "mi7": "m7",
    "min7": "m7",
    "-7": "m7",
    "mmaj7": "m(maj7)",
    "o": "dim",
    "o7": "dim7",
    "+": "aug",
    "7+": "aug7",
    "7#5": "aug7",
    "\u00f8": "m7b5",
}
_KNOWN_QUALITIES = {q for q in KIND_QUALITY.values() if q is not None}
_ALTER = {-1: "b", 0: "", 1: "#"}
_STEP_NAMES = frozenset("ABCDEFG")


def _alter(text: str | None) -> int:
    try:
        return round(float(text)) if text else 0
    except ValueError:
        return 0


def _note_name(step: str | None, alter: str | None) -> str:
    if step is None or step.strip().upper() not in _STEP_NAMES:
        raise ValueError(f"bad note name {step!r}")
    shift = _alter(alter)
    return step.strip().upper() + ("#" * shift if shift > 0 else "b" * -shift)


def _quality(kind: ET.Element | None) -> str | None:
    """The quality for a <kind>: standard value, else its `text`, else the triad its name implies, else ""."""
    value = (kind.text or "").strip() if kind is not None else ""
    if value in KIND_QUALITY:
        return KIND_QUALITY[value]
    text = (kind.get("text") or "").strip() if kind is not None else ""
    for candidate in (value, text):
        if candidate and candidate in _KNOWN_QUALITIES:
            return candidate
        if candidate and candidate.lower() in _ALIASES:
            return _ALIASES[candidate.lower()]
    for hint, triad in (("minor", "m"), ("dim", "dim"), ("aug", "aug"), ("sus", "sus4")):
        if hint in value.lower():
            return triad
    return ""


def harmony_figure(harmony: ET.Element) -> str | None:
    """A <harmony> element as a chord figure ("Bb7b9", "F/A"), or None for "no chord".

    Raises:
        ValueError: the harmony has no readable root.
    """
    quality = _quality(harmony.find("kind"))
    if quality is None:
        return None
    root = _note_name(harmony.findtext("root/root-step"), harmony.findtext("root/root-alter"))
    for degree in harmony.findall("degree"):  # tensions: "7" + add b9 -> "7b9", "" + add 9 -> "add9"
        value = (degree.findtext("degree-value") or "").strip()
        alter = _ALTER.get(_alter(degree.findtext("degree-alter")), "")
        kind = (degree.findtext("degree-type") or "").strip()
        if not value.isdigit() or f"{alter}{value}" in quality:
            continue
        if kind == "add":
            quality += alter + value if alter else "add" + value
        elif kind == "alter":
            quality += alter + value
        elif kind == "subtract":
            quality += "no" + value
    bass_step = harmony.findtext("bass/bass-step")
    if bass_step:
        bass = _note_name(bass_step, harmony.findtext("bass/bass-alter"))
        if bass != root:
            return f"{root}{quality}/{bass}"
    return root + quality


@dataclass
class _Measure:
    """One notated measure; times are ticks from its start."""

    notes: list[tuple[int, int | None, bool]] = field(default_factory=list)  # onset, pitch, tied-from-before
    harmonies: list[tuple[int, str | None]] = field(default_factory=list)
    length: int = 0
    meter: int = 4 * TICKS_PER_QUARTER
    forward_repeat: bool = False
    backward_repeats: int = 0  # extra times to play the section (0: no :| here)
    endings: frozenset[int] = frozenset()
    ending_closes: bool = False


def _is_no_chord(words: str | None) -> bool:
    return (words or "").strip().upper().replace(".", "").replace(" ", "") in ("NC", "NOCHORD")


def _numbers(text: str) -> frozenset[int]:
    return frozenset(int(n) for n in re.findall(r"\d+", text))


def _read_measures(part: ET.Element) -> list[_Measure]:
    """Walk the part's measures in document order, tracking divisions, time signature and position."""
    measures: list[_Measure] = []
    divisions = 1
    meter = 4 * TICKS_PER_QUARTER
    ending: frozenset[int] = frozenset()
    voice: str | None = None
    saw_time = False
    for element in part.iter("measure"):
        measure = _Measure(meter=meter)
        pos = 0
        for child in element:
            if child.tag == "attributes":
                divisions = int(child.findtext("divisions") or divisions)
                beats, beat_type = child.findtext("time/beats"), child.findtext("time/beat-type")
                if beats and beat_type:  # "3+2" beats add up
                    saw_time = True
                    total = sum(int(b) for b in re.findall(r"\d+", beats))
                    meter = measure.meter = 4 * TICKS_PER_QUARTER * total // int(beat_type)
            elif child.tag in ("backup", "forward"):
                ticks = int(child.findtext("duration") or 0) * TICKS_PER_QUARTER // divisions
                pos = max(0, pos - ticks) if child.tag == "backup" else pos + ticks
            elif child.tag == "harmony":
                offset = int(child.findtext("offset") or 0) * TICKS_PER_QUARTER // divisions
                measure.harmonies.append((max(0, pos + offset), harmony_figure(child)))
            elif child.tag == "direction" and _is_no_chord(child.findtext("direction-type/words")):
                offset = int(child.findtext("offset") or 0) * TICKS_PER_QUARTER // divisions
                measure.harmonies.append((max(0, pos + offset), None))  # "N.C." is written as plain text
            elif child.tag == "barline":
                repeat, end = child.find("repeat"), child.find("ending")
                if repeat is not None and repeat.get("direction") == "forward":
                    measure.forward_repeat = True
                elif repeat is not None:
                    measure.backward_repeats = max(1, int(repeat.get("times") or 2) - 1)
                if end is not None and end.get("type") == "start":
                    ending = _numbers(end.get("number") or "")
                elif end is not None:
                    measure.endings, measure.ending_closes = ending or _numbers(end.get("number") or ""), True
                    ending = frozenset()
                measure.endings = measure.endings or ending
            elif child.tag == "note":
                pos = _read_note(child, measure, pos, divisions, voice)
                voice = voice or child.findtext("voice") or "1"
            measure.length = max(measure.length, pos)
        measure.endings = measure.endings or ending  # a measure inside a multi-measure ending
        if not measure.notes:
            measure.length = max(measure.length, measure.meter)  # an empty bar is a bar of silence
        measures.append(measure)
    _fix_endings(measures)
    lengths = Counter(m.length for m in measures if m.notes)
    if not saw_time and lengths:  # 7 files have no <time>: take the usual bar as the meter, not 4/4
        usual = lengths.most_common(1)[0][0]
        for measure in measures:
            measure.meter = usual
            measure.length = measure.length if measure.notes else usual
    return measures


def _fix_endings(measures: Sequence[_Measure]) -> None:
    """Repair two ending quirks of this data set's exporter, so that the repeats can be played out."""
    # The :| that closes a first ending sits one bar after the ending's stop, outside any ending.
    for prev, cur, nxt in zip(measures, measures[1:], measures[2:], strict=False):
        if cur.backward_repeats and not cur.endings and prev.ending_closes and nxt.endings:
            cur.endings, prev.ending_closes, cur.ending_closes = prev.endings, False, True
    # Ending numbers repeat or skip ("1" then "1", "1" then "3"): number single endings by their order.
    last = 0
    for i, cur in enumerate(measures):
        before = measures[i - 1] if i else None
        if not cur.endings:
            last = 0
        elif before is None or not before.endings or before.ending_closes:  # a new ending starts here
            cur.endings = frozenset({last + 1}) if len(cur.endings) == 1 else cur.endings
            last = max(cur.endings)
        else:
            cur.endings = before.endings


def _read_note(note: ET.Element, measure: _Measure, pos: int, divisions: int, voice: str | None) -> int:
    """Add one <note> to `measure`; returns the position after it."""
    if note.find("grace") is not None or (voice is not None and (note.findtext("voice") or "1") != voice):
        return pos  # grace notes take no time; other voices are not the melody
    ticks = int(note.findtext("duration") or 0) * TICKS_PER_QUARTER // divisions
    pitch: int | None = None
    if note.find("rest") is None:
        step = _note_name(note.findtext("pitch/step"), note.findtext("pitch/alter"))
        octave = int(note.findtext("pitch/octave") or 4)
        pitch = 12 * (octave + 1) + "C D EF G A B".index(step[0]) + step.count("#") - step.count("b")
    tied = any(t.get("type") == "stop" for t in note.findall("tie"))
    if note.find("chord") is not None:  # a chord tone sounding with the previous note: keep the top one
        if measure.notes and pitch is not None:
            onset, previous, was_tied = measure.notes[-1]
            if previous is None or pitch > previous:
                measure.notes[-1] = (onset, pitch, tied and was_tied)
        return pos
    measure.notes.append((pos, pitch, tied))
    return pos + ticks


def _play_order(measures: Sequence[_Measure]) -> list[int]:
    """Measure indices in playing order, repeats and numbered endings played out (once each if they clash)."""
    order: list[int] = []
    start, passes, i = 0, 1, 0
    taken: dict[int, int] = {}  # times each :| has been taken
    # (measure, pass) pairs: a :| inside an ending goes back once on each pass that plays the ending
    taken_in_ending: set[tuple[int, int]] = set()
    while i < len(measures) and len(order) < 20 * len(measures):
        measure = measures[i]
        if measure.forward_repeat and i != start:
            start, passes = i, 1
        if measure.endings and passes not in measure.endings:
            i += 1  # not this time through
            continue
        order.append(i)
        if measure.endings and measure.backward_repeats and (i, passes) not in taken_in_ending:
            taken_in_ending.add((i, passes))
            passes, i = passes + 1, start
            continue
        if not measure.endings and measure.backward_repeats and taken.get(i, 0) < measure.backward_repeats:
            taken[i] = taken.get(i, 0) + 1
            passes, i = passes + 1, start
            continue
        if measure.backward_repeats or measure.ending_closes:
            start, passes = i + 1, 1  # the section is done; a later :| goes back to here
        i += 1
    if len(set(order)) < len(measures):  # inconsistent marks (an ending 2 with no 1, ...): read as written
        return list(range(len(measures)))
    return order


def read_mxl(path: Path, name: str) -> LeadSheet:
    """Read one `.mxl` file into a LeadSheet.

    The zip's single non-META-INF `.xml` member is parsed directly: 93 files have a malformed
    `META-INF/container.xml` (an unescaped apostrophe), which a strict container reader rejects.

    Args:
        path: the `.mxl` file.
        name: the record's name.

    Raises:
        ValueError: the file is not a readable single-part lead sheet with notes.
    """
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.namelist() if m.endswith(".xml") and not m.startswith("META-INF")]
        if len(members) != 1:
            raise ValueError(f"expected one score in the archive, found {members}")
        root = ET.fromstring(archive.read(members[0]))
    part = root.find("part")
    if root.tag != "score-partwise" or part is None:
        raise ValueError(f"not a partwise score: <{root.tag}>")
    measures = _read_measures(part)
    notes: list[tuple[int, int | None]] = []
    chords: list[tuple[int, str | None]] = []
    bars: list[Bar] = []
    t = 0
    sounding: int | None = None  # pitch that a tie may continue
    for index in _play_order(measures):
        measure = measures[index]
        for pos, pitch, tied in sorted(measure.notes, key=lambda n: n[0]):
            if pitch is None or not tied or pitch != sounding:
                notes.append((t + pos, pitch))
            sounding = pitch
        chords.extend((t + pos, figure) for pos, figure in measure.harmonies)
        bars.append(Bar(t, measure.length, measure.meter))
        t += measure.length
    return to_leadsheet(name, notes, chords, bars)


def load_openewld(root: Path) -> list[LeadSheet]:
    """Read every `.mxl` under `root`, sorted by path.

    A file that cannot be read is skipped and counted; the counts are logged on one line.

    Args:
        root: the OpenEWLD `dataset/` folder.

    Returns:
        One LeadSheet per readable file, named "openewld/<composer folder>/<title folder>/<file>.mxl".
    """
    root = Path(root)
    sheets: list[LeadSheet] = []
    skipped = 0
    for path in sorted(root.rglob("*.mxl"), key=lambda p: p.relative_to(root).as_posix()):
        name = f"openewld/{path.relative_to(root).as_posix()}"
        try:
            sheets.append(read_mxl(path, name))
        except Exception as e:  # one bad file must not stop the load
            skipped += 1
            log.debug("skipping %s: %s", name, e)
    log.info("openewld: read %d lead sheets, skipped %d, from %s", len(sheets), skipped, root)
    return sheets
