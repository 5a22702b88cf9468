"""The Groove MIDI Dataset (Magenta; CC BY 4.0) as 4/4 drum bars and 2- or 4-bar windows, with style and split.

Pure numpy + pretty_midi. Each take's hits are quantised to 16ths from its first beat (Groove was played to a
click at the take's tempo, which the MIDI carries) and mapped to the 9 drum classes; the unquantised beat
times are kept for the swing figure. The split is Groove's own (info.csv: train / validation / test); the style
is the primary one, the part of info.csv's `style` before "/" ("latin/brazilian-samba" -> "latin"). The 12 takes
not in 4/4 (3/4, 6/8, 5/4, 5/8) are left out.

Style control. `python -m generation.families.drums.groove` prints the bars per style and split (bars with at
least one hit; beats and fills together). A style becomes a control when it has at least 500 training bars, so
the model can learn it; at least 100 held-out bars (validation + test), so its figures and a style classifier
can be measured with a usable standard error; and at least 4 of the 10 drummers, so the model learns a style
rather than one person's playing. By those rules the controls are STYLE_CONTROLS:

    style      train bars  held-out bars  drummers
    rock             5663           1106         9
    latin            2850            793         4
    jazz             2163            183         5
    funk             1729            884         4
    hiphop            838            148         5

Left out: afrobeat (792 train, 200 held out, but 2 drummers), afrocuban (830 train, 7 held out, 2 drummers),
neworleans (782, 15), dance (554, none held out), soul (334 train) and the rest (reggae, country, punk, pop,
middleeastern, blues, highlife, gospel: 13 to 179 training bars).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generation.families.drums.config import STEPS_PER_BAR, STEPS_PER_QUARTER, STYLE_CONTROLS
from generation.families.drums.encoding import CLASS_OF_PITCH
from generation.families.drums.style_figures import DrumBar

GROOVE_DIR = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "groove"
SPLITS = ("train", "validation", "test")
__all__ = ["STYLE_CONTROLS", "DrumWindow", "GrooveTake", "bar_counts", "read_takes", "style_bars", "take_bars",
           "windows"]
LICENCE = "Groove MIDI Dataset (Gillick, Roberts, Engel, Eck, Bamman 2019), CC BY 4.0"


@dataclass(frozen=True)
class GrooveTake:
    """One row of Groove's info.csv.

    Attributes:
        id: Groove's id ("drummer1/eval_session/1").
        drummer: "drummer1" ... "drummer10".
        style: the primary style ("funk"); sub_style is the whole field ("funk/groove1").
        bpm: the click's tempo.
        beat_type: "beat" or "fill".
        split: "train", "validation" or "test".
        midi: the MIDI file.
    """

    id: str
    drummer: str
    style: str
    sub_style: str
    bpm: float
    beat_type: str
    time_signature: str
    split: str
    midi: Path


@dataclass(frozen=True)
class DrumWindow:
    """Consecutive bars of one take."""

    take: GrooveTake
    first_bar: int
    bars: tuple[DrumBar, ...]

    @property
    def events(self) -> np.ndarray:
        """The window's 16th steps as drum-class events, [bars x 16]."""
        return np.array([e for bar in self.bars for e in bar.events], np.int32)


def read_takes(root: Path = GROOVE_DIR, splits: Iterable[str] = SPLITS) -> list[GrooveTake]:
    """The 4/4 takes of the given splits, in info.csv's order.

    Raises:
        FileNotFoundError: no Groove copy at `root`.
    """
    wanted = set(splits)
    takes = []
    with (root / "info.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if row["split"] not in wanted or row["time_signature"] != "4-4":
                continue
            takes.append(GrooveTake(
                id=row["id"], drummer=row["drummer"], style=row["style"].split("/")[0], sub_style=row["style"],
                bpm=float(row["bpm"]), beat_type=row["beat_type"], time_signature=row["time_signature"],
                split=row["split"], midi=root / row["midi_filename"],
            ))  # fmt: skip
    return takes


def take_bars(take: GrooveTake) -> list[DrumBar]:
    """Every bar of a take up to its last hit (silent bars inside it included), on the 16th grid."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(take.midi))
    _, tempi = midi.get_tempo_changes()
    beat_s = 60.0 / (float(tempi[0]) if len(tempi) else take.bpm)
    hits = [(n.start / beat_s, CLASS_OF_PITCH[n.pitch]) for inst in midi.instruments for n in inst.notes
            if n.pitch in CLASS_OF_PITCH]
    if not hits:
        return []
    steps = [max(0, round(beats * STEPS_PER_QUARTER)) for beats, _ in hits]
    n_bars = max(steps) // STEPS_PER_BAR + 1
    events = np.zeros(n_bars * STEPS_PER_BAR, np.int64)
    onsets: list[list[tuple[float, int]]] = [[] for _ in range(n_bars)]
    beats_per_bar = STEPS_PER_BAR // STEPS_PER_QUARTER
    for (beats, cls), step in zip(hits, steps, strict=True):
        events[step] |= 1 << cls
        bar = step // STEPS_PER_BAR
        onsets[bar].append((beats - bar * beats_per_bar, cls))
    return [DrumBar(tuple(int(e) for e in events[b * STEPS_PER_BAR:(b + 1) * STEPS_PER_BAR]), tuple(onsets[b]))
            for b in range(n_bars)]


def windows(takes: Iterable[GrooveTake], bars: int = 2, hop: int | None = None) -> Iterator[DrumWindow]:
    """Windows of `bars` consecutive bars (2 or 4) every `hop` bars (default: not overlapping).

    A take shorter than a window (most fills) gives none; a window without a single hit is skipped.
    """
    if bars not in (2, 4):
        raise ValueError(f"windows are 2 or 4 bars, not {bars}")
    hop = hop or bars
    for take in takes:
        take_bars_ = take_bars(take)
        for first in range(0, len(take_bars_) - bars + 1, hop):
            chunk = tuple(take_bars_[first:first + bars])
            if any(any(bar.events) for bar in chunk):
                yield DrumWindow(take, first, chunk)


def style_bars(takes: Iterable[GrooveTake]) -> dict[str, list[DrumBar]]:
    """Every bar with at least one hit, by primary style."""
    out: dict[str, list[DrumBar]] = defaultdict(list)
    for take in takes:
        out[take.style].extend(bar for bar in take_bars(take) if any(bar.events))
    return dict(out)


def bar_counts(takes: Iterable[GrooveTake]) -> dict[str, dict[str, int]]:
    """Bars with at least one hit, by style and split."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SPLITS, 0))
    for take in takes:
        counts[take.style][take.split] += sum(1 for bar in take_bars(take) if any(bar.events))
    return dict(counts)


def main() -> None:
    """Print bars per style and split, the drummers per style, and the held-out figures of the controls."""
    from generation.families.drums.style_figures import FIGURES, style_figures

    takes = read_takes()
    counts = bar_counts(takes)
    drummers: dict[str, set[str]] = defaultdict(set)
    for take in takes:
        drummers[take.style].add(take.drummer)
    print(f"{'style':14s}{'train':>7s}{'valid':>7s}{'test':>7s}{'held-out':>10s}{'drummers':>10s}  control")
    for style, c in sorted(counts.items(), key=lambda kv: -kv[1]["train"]):
        held = c["validation"] + c["test"]
        print(f"{style:14s}{c['train']:7d}{c['validation']:7d}{c['test']:7d}{held:10d}{len(drummers[style]):10d}"
              f"  {'yes' if style in STYLE_CONTROLS else ''}")
    held_out = style_bars(t for t in takes if t.split != "train" and t.style in STYLE_CONTROLS)
    print("\nheld-out bars (validation + test): hits per bar, swing in beats late (mean ± standard error over bars)")
    print(f"{'style':10s}{'bars':>6s}" + "".join(f"{name:>14s}" for name in FIGURES))
    for style in STYLE_CONTROLS:
        figures = style_figures(held_out.get(style, []))
        print(f"{style:10s}{len(held_out.get(style, [])):6d}" + "".join(f"{str(figures[n]):>14s}" for n in FIGURES))


if __name__ == "__main__":
    main()
