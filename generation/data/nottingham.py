"""Nottingham Music Database (cleaned ABC) to LeadSheet records, through a small ABC reader of our own."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from generation.data.leadsheet import LeadSheet
from generation.data.timeline import TICKS_PER_QUARTER, Bar, to_leadsheet

# Repeats: `|: ... :|`, `::` and first/second endings `[1 ... :| [2 ...` are played out (section, then the
# section again with the second ending). A `:|` with no `|:` goes back to the last `||`, part label (P:) or
# previous repeat. `Y:` / `P:` play orders are ignored: the text is read once, in order.

log = logging.getLogger(__name__)

# ------------------------------------------------------------ chord symbols

_ABC_CHORD = re.compile(r"([A-G][#b]?)([a-z0-9#+]*?)(?:/([A-Ga-g])([+#b]?))?")
_QUALITY = re.compile(r"(?:m|maj|dim|aug|sus)?\d*(?:[#b]\d+)*")


def normalise_abc_chord(text: str) -> str | None:
    """Nottingham's chord spelling to the common one ("G#d7" -> "G#dim7", "D/f+" -> "D/F#").

    Returns:
        The figure, or None when the annotation is not a chord (text, or empty).
    """
    figure = re.sub(r"[\s()]", "", text)  # "(A7)" is an alternative chord; "D m" a stray space
    match = _ABC_CHORD.fullmatch(figure)
    if not match:
        return None
    root, quality, bass, bass_accidental = match.groups()
    if quality.startswith("d") and not quality.startswith("dim"):
        quality = "dim" + quality[1:]
    elif quality.startswith("a") and not quality.startswith(("aug", "add")):
        quality = "aug" + quality[1:]
    if not _QUALITY.fullmatch(quality):
        return None
    if bass is None:
        return root + quality
    return f"{root}{quality}/{bass.upper()}{'#' if bass_accidental in ('+', '#') else bass_accidental}"


# ------------------------------------------------------------ ABC reading


class AbcError(ValueError):
    """A tune this reader cannot understand."""


@dataclass
class _Note:
    pitch: int | None  # None: rest
    length: int  # ticks
    tie: bool = False


@dataclass(frozen=True)
class _Mark:
    """A zero-length token: a chord symbol, bar line, ending, meter change or part label."""

    kind: str  # "chord", "bar", "ending", "meter" or "part"
    text: str = ""  # the chord figure or the bar line as written
    numbers: frozenset[int] = frozenset()  # an ending's numbers
    meter: int | None = None  # ticks per bar; None: free meter


_Token = _Note | _Mark


_FIELD = re.compile(r"([A-Za-z]):(?![|:])(.*)")
_MUSIC = re.compile(
    r"""(?P<chord>"[^"]*")
    |(?P<field>\[[A-Za-z]:[^\]]*\])
    |(?P<ending>\[\d[\d,\-]*)
    |(?P<bar>(?::*\[?\|[|\]:]*|:{2,})(?P<barnum>\d[\d,\-]*)?)
    |(?P<tuplet>\((?P<p>\d)(?::(?P<q>\d*))?(?::(?P<r>\d*))?)
    |(?P<note>(?P<acc>\^{1,2}|_{1,2}|=)?(?P<letter>[A-Ga-gzxZ])(?P<octave>[',]*)(?P<len>\d*(?:/+\d*)?)(?P<tie>-?))
    |(?P<group>\[)
    |(?P<groupend>\](?P<glen>\d*(?:/+\d*)?)(?P<gtie>-?))
    |(?P<broken>[<>]+)
    |(?P<loosetie>-)
    |(?P<skip>\s+|[\\()+~.]|![^!]*!|\{[^}]*\})""",
    re.VERBOSE,
)
_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTAL = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}
_TONIC_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7, "F": -1, "Bb": -2}
_TONIC_FIFTHS |= {"Eb": -3, "Ab": -4, "Db": -5, "Gb": -6, "Cb": -7}
_MODE_FIFTHS = {"": 0, "maj": 0, "ion": 0, "m": -3, "min": -3, "aeo": -3, "dor": -2, "phr": -4, "lyd": 1}
_MODE_FIFTHS |= {"mix": -1, "loc": -5}


def _key_signature(value: str) -> dict[str, int]:
    """K: value -> {letter: alteration}, e.g. "D" -> {"F": 1, "C": 1}."""
    if value.strip().lower() in ("", "none"):
        return {}
    match = re.match(r"\s*([A-G][#b]?)\s*([A-Za-z]*)", value)
    mode = match.group(2).lower()[:3] if match else "?"
    if not match or match.group(1) not in _TONIC_FIFTHS or mode not in _MODE_FIFTHS:
        raise AbcError(f"key {value!r}")
    fifths = _TONIC_FIFTHS[match.group(1)] + _MODE_FIFTHS[mode]
    letters = "FCGDAEB"[:fifths] if fifths >= 0 else "BEADGCF"[:-fifths]
    return {letter: 1 if fifths > 0 else -1 for letter in letters}


def _meter(value: str) -> int | None:
    """M: value -> bar length in ticks (None for free meter)."""
    value = {"C": "4/4", "C|": "2/2"}.get(value.strip(), value.strip())
    if match := re.fullmatch(r"([\d+]+)/(\d+)", value):  # "2+3/8" adds up
        return 4 * TICKS_PER_QUARTER * sum(int(b) for b in match.group(1).split("+")) // int(match.group(2))
    if value.lower() == "none":
        return None
    raise AbcError(f"meter {value!r}")


def _length(text: str) -> Fraction:
    """A length suffix ("", "2", "/2", "3/2", "/", "//") as a multiple of the unit length."""
    num, _, rest = text.partition("/")
    slashes = 1 + len(rest) - len(rest.lstrip("/")) if "/" in text else 0
    den_text = rest.lstrip("/")
    den = int(den_text) if den_text else 2**slashes
    return Fraction(int(num) if num else 1, den if slashes else 1)


class _TuneReader:
    """Turns one tune's lines into tokens; pitches, lengths, tuplets and broken rhythm are resolved here."""

    def __init__(self) -> None:
        self.tokens: list[_Token] = []
        self.meter: int | None = 4 * TICKS_PER_QUARTER
        self.compound = False  # 6/8, 9/8, 12/8: (5 (7 (9 tuplets then fit 3 beats, not 2
        self.unit: int | None = None  # ticks per unit note length; None until L: or the body
        self.key: dict[str, int] = {}
        self.bar_accidentals: dict[tuple[str, int], int] = {}
        self.tuplet_left = 0
        self.tuplet_factor = Fraction(1)
        self.broken_next = Fraction(1)
        self.group: list[_Note] | None = None
        self.last: _Note | None = None

    def field(self, letter: str, value: str, in_body: bool) -> None:
        """Apply a header or body field (M: L: K: P:); the others carry no music."""
        if letter == "M":
            self.meter = _meter(value)
            self.compound = bool(re.match(r"\s*(6|9|12)/", value))
            if in_body:
                self.tokens.append(_Mark("meter", meter=self.meter))
        elif letter == "L":
            self.unit = round(4 * TICKS_PER_QUARTER * _length(value.strip()))
        elif letter == "K":
            self.key = _key_signature(value)
            self.bar_accidentals = {}
        elif letter == "P" and in_body:
            self.tokens.append(_Mark("part", value.strip()))

    def start_body(self) -> None:
        """The first K: ends the header: fix the unit length and the opening meter."""
        if self.unit is None:  # ABC's default unit: 1/16 for meters under 3/4, else 1/8
            short = self.meter is not None and self.meter < 3 * TICKS_PER_QUARTER
            self.unit = TICKS_PER_QUARTER // (4 if short else 2)
        self.tokens.append(_Mark("meter", meter=self.meter))

    def music(self, line: str) -> None:
        """Tokenise one line of music."""
        pos = 0
        while pos < len(line):
            m = _MUSIC.match(line, pos)
            if not m:
                raise AbcError(f"unexpected {line[pos]!r} in {line.strip()!r}")
            pos = m.end()
            kind = m.lastgroup
            if self.group is not None and kind in ("bar", "tuplet", "group"):
                self._end_group(None)  # an unclosed [chord (a typo in a few tunes) ends here
            if kind == "note":
                self._note(m)
            elif kind == "chord":
                figure = normalise_abc_chord(m.group("chord")[1:-1])
                if figure is not None:
                    self.tokens.append(_Mark("chord", figure))
            elif kind == "field":
                letter, _, value = m.group("field")[1:-1].partition(":")
                self.field(letter, value, in_body=True)
            elif kind == "bar":
                text = m.group("bar")
                number = m.group("barnum")
                self.tokens.append(_Mark("bar", text[: len(text) - len(number)] if number else text))
                self.bar_accidentals = {}
                if number:
                    self.tokens.append(_Mark("ending", numbers=_numbers(number)))
            elif kind == "ending":
                self.tokens.append(_Mark("ending", numbers=_numbers(m.group("ending")[1:])))
            elif kind == "tuplet":
                p = int(m.group("p"))
                q = int(m.group("q") or 0) or {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if self.compound else 2)
                self.tuplet_left = int(m.group("r") or 0) or p
                self.tuplet_factor = Fraction(q, p)
            elif kind == "group":
                self.group = []
            elif kind == "groupend":
                self._end_group(m)
            elif kind == "broken":
                self._broken(m.group("broken"))
            elif kind == "loosetie" and self.last is not None:
                self.last.tie = True

    def _pitch(self, acc: str | None, letter: str, octave: str) -> int:
        octave_shift = (1 if letter.islower() else 0) + octave.count("'") - octave.count(",")
        name = letter.upper()
        if acc is not None:
            self.bar_accidentals[(name, octave_shift)] = _ACCIDENTAL[acc]
        alteration = self.bar_accidentals.get((name, octave_shift), self.key.get(name, 0))
        return 60 + 12 * octave_shift + _STEPS[name] + alteration

    def _note(self, m: re.Match[str]) -> None:
        letter = m.group("letter")
        assert self.unit is not None
        length = round(self.unit * _length(m.group("len")))
        if letter == "Z":  # multi-bar rest: the number counts bars
            length = (self.meter or 4 * TICKS_PER_QUARTER) * (int(m.group("len")) if m.group("len") else 1)
        pitch = None if letter in "zxZ" else self._pitch(m.group("acc"), letter, m.group("octave"))
        note = _Note(pitch, length, tie=bool(m.group("tie")))
        if self.group is not None:
            self.group.append(note)
        else:
            self._emit(note)

    def _end_group(self, m: re.Match[str] | None) -> None:
        if not self.group:
            raise AbcError("empty or unopened [chord]")
        pitches = [n.pitch for n in self.group if n.pitch is not None]
        top = max(pitches) if pitches else None  # keep the melody: the highest note of the chord
        tie = any(n.tie for n in self.group) or bool(m and m.group("gtie"))
        length = round(self.group[0].length * _length(m.group("glen") if m else ""))  # = its first note
        self.group = None
        self._emit(_Note(top, length, tie))

    def _emit(self, note: _Note) -> None:
        if self.broken_next != 1:
            note.length = round(note.length * self.broken_next)
            self.broken_next = Fraction(1)
        if self.tuplet_left > 0:
            note.length = round(note.length * self.tuplet_factor)
            self.tuplet_left -= 1
        self.tokens.append(note)
        self.last = note

    def _broken(self, arrows: str) -> None:
        if self.last is None:
            raise AbcError("broken rhythm with no note before it")
        short = Fraction(1, 2 ** len(arrows))
        first, second = (2 - short, short) if arrows[0] == ">" else (short, 2 - short)
        self.last.length = round(self.last.length * first)
        self.broken_next = second


def _numbers(text: str) -> frozenset[int]:
    """An ending's numbers: "1", "1,3" (no ranges in this data)."""
    return frozenset(int(n) for n in re.findall(r"\d+", text))


def _expand_repeats(tokens: Sequence[_Token]) -> list[_Token]:
    """Play out `|: :|`, `::` and `[1 [2` endings; each `:|` is taken once."""
    out: list[_Token] = []
    start = 0  # where the next :| goes back to
    explicit = False  # start was set by |: so a || or P: inside the section does not move it
    taken: set[int] = set()
    replaying_from: int | None = None  # the :| whose section is being played the second time
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        mark = tok if isinstance(tok, _Mark) else _Mark("note")
        kind = mark.kind
        if kind == "ending" and replaying_from is not None and 2 not in mark.numbers:
            i = start = replaying_from + 1  # second time through: skip the first ending
            replaying_from, explicit = None, False
            continue
        if kind != "ending":
            out.append(tok)
        bar = mark.text if kind == "bar" else ""
        if bar.startswith(":") and i not in taken:
            taken.add(i)
            replaying_from, i = i, start
            continue
        if bar.startswith(":"):
            replaying_from, start, explicit = None, i + 1, False
        if bar.endswith(":"):
            start, explicit = i + 1, True
        elif (kind == "part" or "||" in bar or "]" in bar or "[|" in bar) and not explicit:
            start = i + 1  # a section ends at a double bar line or a new part
        i += 1
    return out


def _timeline(name: str, tokens: Sequence[_Token]) -> LeadSheet:
    """Lay the played-out tokens end to end and hand them to `to_leadsheet`."""
    t = bar_start = 0
    meter: int | None = None
    notes: list[tuple[int, int | None]] = []
    chords: list[tuple[int, str | None]] = []
    bars: list[Bar] = []
    sounding: int | None = None  # pitch a tie may continue

    def close_bar() -> None:
        nonlocal bar_start
        if t > bar_start:
            length = t - bar_start
            bars.append(Bar(bar_start, length, length if meter is None else meter))
            bar_start = t

    for tok in tokens:
        if isinstance(tok, _Note):
            if tok.pitch is None or tok.pitch != sounding:
                notes.append((t, tok.pitch))
            sounding = tok.pitch if tok.tie else None
            t += tok.length
        elif tok.kind == "chord":
            chords.append((t, tok.text))
        elif tok.kind in ("bar", "part"):  # a part label starts a new bar even without a |
            close_bar()
        elif tok.kind == "meter":
            meter = tok.meter
    close_bar()
    return to_leadsheet(name, notes, chords, bars)


def parse_tune(lines: Sequence[str], name: str) -> LeadSheet:
    """Read one tune into a LeadSheet.

    Args:
        lines: the tune's lines after its X: line (header fields, then the body from the first K: on).
        name: the record's name.

    Raises:
        ValueError: (AbcError) the tune uses something this reader does not know, or has no notes.
    """
    reader = _TuneReader()
    in_body = False
    for raw in lines:
        line = raw.split("%", 1)[0].rstrip()
        field = _FIELD.fullmatch(line)
        if field:
            reader.field(field.group(1), field.group(2), in_body)
            if field.group(1) == "K" and not in_body:
                in_body = True
                reader.start_body()
        elif in_body:
            reader.music(line)
    if not in_body:
        raise AbcError("no K: field")
    return _timeline(name, _expand_repeats(reader.tokens))


def _split_tunes(text: str) -> list[tuple[str, list[str]]]:
    """A file's tunes as (X number, lines after the X: line)."""
    tunes: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("X:"):
            tunes.append((line[2:].strip(), []))
        elif tunes:
            tunes[-1][1].append(line)
    return tunes


def load_nottingham(root: Path) -> list[LeadSheet]:
    """Read every tune of every `*.abc` file in `root`, in file then tune order.

    A tune that cannot be read is skipped and counted; the counts are logged on one line.

    Args:
        root: the folder holding the cleaned ABC files (e.g. `.../nottingham/ABC_cleaned`).

    Returns:
        One LeadSheet per readable tune, named like "nottingham/jigs.abc#12 The Atholl Highlanders".
    """
    sheets: list[LeadSheet] = []
    skipped = 0
    for path in sorted(Path(root).glob("*.abc")):
        for number, lines in _split_tunes(path.read_text(encoding="utf-8", errors="replace")):
            title = next((line[2:].strip() for line in lines if line.startswith("T:")), "")
            name = f"nottingham/{path.name}#{number} {title}".rstrip()
            try:
                sheets.append(parse_tune(lines, name))
            except Exception as e:  # one odd tune must not stop the load
                skipped += 1
                log.debug("skipping %s: %s", name, e)
    log.info("nottingham: read %d tunes, skipped %d, from %s", len(sheets), skipped, root)
    return sheets
