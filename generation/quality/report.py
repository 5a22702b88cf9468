"""Quality report: our shipped models beside held-out human music, by the same measures (`make quality`).

One table per family: figure | ours (mean ± standard error, n) | human (mean ± se, n) | human source. The
measures are defined in generation/quality/texture.py. Settings (issue 11):

- performance: every shipped Performance RNN config, 30 s from nothing, no control (plain sampling, T=1.0).
  Human: ASAP performances of the held-out pieces (performance/dataset.is_validation), read with the sustain
  pedal applied (CC64 >= 64 holds released notes, texture.apply_sustain), cut into every whole 30 s window from
  the first note; n = pieces (windows and performances of a piece are averaged first).
- polyphony: Polyphony RNN, 8 bars (128 16th steps) from a C major chord (G4 E4 C4 held one beat, as /chorale).
  Human: the first 8 bars of each JSB test chorale (Jsb16thSeparated.json, 16th grid).
- pianoroll: rnn-nade-bach, 8 bars (32 quarter steps) from a C major chord frame (C4 E4 G4, as /pianoroll).
  Human: the first 8 bars of each JSB test chorale on the quarter grid (jsb-chorales-quarter.json), read into
  notes the same way as the model's frames.
- harmonize: the first 8 bars of held-out 4/4 Nottingham tunes (improv/dataset.is_validation) with chord symbols,
  harmonised by /harmonize's default (leadsheet_harmonizer, picking its own chords: the tune's are not given)
  and by Magenta's path (polyphony config, melody injected, no conditioning); harmony = the output's notes
  that are not the melody's. The tune's key is the Krumhansl key of its lead sheet (melody and chord
  symbols voiced plainly, together): on an 8-bar folk melody alone Krumhansl often names the dominant or the
  relative key (the tunes' own chord symbols then match it in 63 % of segments, against 81 % for the lead-sheet
  key). Human: the same tunes' own chord symbols voiced plainly (slash bass or root in octave 2, chord tones in
  octave 3), for the key figure only: no human voicing of these tunes is held.
- improv: every Improv RNN config at temperature 1.0, primer C4 (the /improv default), over the first
  8 bars of held-out 4/4 lead sheets' own progressions (Nottingham and OpenEWLD, improv/dataset.is_validation);
  human: the same held-out sheets' melodies over the same 8 bars.

Ratios (pairs, notes, beats) pool counts over samples; their standard error is the ratio estimator's (counts
summed per sample). Other figures are means over samples. Seeds are fixed: a rerun prints the same numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.data.leadsheet import LeadSheet
from generation.music.chords import NO_CHORD, Chord, ChordError, parse_chord
from generation.music.notes import Note, frames_notes, melody_events_notes
from generation.quality import texture as tx

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
FAMILIES = ("performance", "polyphony", "pianoroll", "harmonize", "improv")
SEED = 2024
PERFORMANCE_STEPS = 3000  # 30 s of 10 ms steps
BAR = 16  # 16th steps in a 4/4 bar
BARS = 8
IMPROV_CONFIGS = ("basic_improv", "attention_improv", "chord_pitches_improv")
# Outputs per model (performance, chorales), or tunes at most (harmonize, improv: every held-out 4/4 opening,
# 49 Nottingham and 47 OpenEWLD). The whole report takes about a minute on this 2-core CPU.
DEFAULT_SAMPLES = {"performance": 32, "polyphony": 100, "pianoroll": 100, "harmonize": 100, "improv": 100}


@dataclass(frozen=True)
class Stat:
    mean: float
    se: float
    n: int

    def __str__(self) -> str:
        if not self.n:
            return "-"
        # Three significant digits for the mean (at most 5 decimals); the error to the same decimals.
        digits = 3 if self.mean == 0 else min(5, max(1, 2 - math.floor(math.log10(abs(self.mean)))))
        return f"{self.mean:.{digits}f} ± {self.se:.{digits}f} (n={self.n})"


@dataclass(frozen=True)
class Row:
    figure: str
    ours: Stat | None
    human: Stat | None
    source: str


def mean_stat(values: Iterable[float], clusters: Iterable[Any] | None = None) -> Stat:
    """Mean and standard error over samples (nan dropped); with clusters, over cluster means."""
    vals = list(values)
    if clusters is not None:
        groups: dict[Any, list[float]] = {}
        for v, c in zip(vals, clusters, strict=True):
            if not math.isnan(v):
                groups.setdefault(c, []).append(v)
        vals = [float(np.mean(g)) for g in groups.values()]
    arr = np.array([v for v in vals if not math.isnan(v)], float)
    if not len(arr):
        return Stat(float("nan"), float("nan"), 0)
    se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else float("nan")
    return Stat(float(arr.mean()), se, len(arr))


def ratio_stat(counts: Iterable[tuple[float, float]], scale: float = 1.0) -> Stat:
    """Pooled ratio sum(num) / sum(den) over samples, with the ratio estimator's standard error."""
    pairs = np.array([c for c in counts if c[1] > 0], float).reshape(-1, 2)
    n = len(pairs)
    if not n:
        return Stat(float("nan"), float("nan"), 0)
    ratio = pairs[:, 0].sum() / pairs[:, 1].sum()
    resid = pairs[:, 0] - ratio * pairs[:, 1]
    se = math.sqrt((resid**2).sum() / (n * (n - 1))) / pairs[:, 1].mean() if n > 1 else float("nan")
    return Stat(ratio * scale, se * scale, n)


# --- performance ------------------------------------------------------------------------------------------

def performance_figures(pieces: Sequence[Sequence[Note]], clusters: Sequence[Any] | None = None) -> dict[str, Stat]:
    longest, long_share = zip(*(tx.note_lengths(p, 0.01) for p in pieces), strict=True)
    long_counts: list[tuple[float, float]] = [(sum(n.end - n.start > tx.LONG_NOTE_S * 100 for n in p), len(p))
                                              for p in pieces]
    if clusters is not None:  # a ratio's counts summed per piece
        long_counts = _sum_by(long_counts, clusters)
    return {"simultaneous notes (mean sounding, when any)": mean_stat((tx.simultaneous_notes(p) for p in pieces),
                                                                      clusters),
            "longest note (s)": mean_stat(longest, clusters),
            "share of notes longer than 5 s": ratio_stat(long_counts),
            "key clarity (best Krumhansl r)": mean_stat((tx.estimate_key(p).clarity for p in pieces), clusters)}


def _sum_by(counts: Sequence[tuple[float, float]], clusters: Sequence[Any]) -> list[tuple[float, float]]:
    sums: dict[Any, list[float]] = {}
    for (a, b), c in zip(counts, clusters, strict=True):
        s = sums.setdefault(c, [0.0, 0.0])
        s[0] += a
        s[1] += b
    return [(a, b) for a, b in sums.values()]


def read_human_performance(path: Path) -> list[Note]:
    """A MIDI performance on the 10 ms grid with the sustain pedal applied (texture.apply_sustain)."""
    import pretty_midi

    out: list[Note] = []
    for inst in pretty_midi.PrettyMIDI(str(path)).instruments:
        if inst.is_drum:
            continue
        notes = [Note(round(n.start * 100), max(round(n.start * 100) + 1, round(n.end * 100)), n.pitch,
                      max(1, min(127, n.velocity))) for n in inst.notes]
        pedal = sorted((round(c.time * 100), c.value) for c in inst.control_changes if c.number == 64)
        out += tx.apply_sustain(notes, pedal)
    return sorted(out)


def human_performance_windows(root: Path) -> tuple[list[list[Note]], list[str]]:
    """30 s windows of every held-out ASAP performance (end to end from the first note, plus the last 30 s), and
    their pieces."""
    from generation.families.performance.dataset import is_validation, piece_of

    windows, pieces = [], []
    for path in sorted(root.rglob("*.mid")):
        piece = piece_of(path, root)
        if not is_validation(piece):
            continue
        notes = read_human_performance(path)
        if not notes:
            continue
        first, last = notes[0].start, max(n.end for n in notes)
        starts = list(range(first, last - PERFORMANCE_STEPS + 1, PERFORMANCE_STEPS))
        if starts and starts[-1] + PERFORMANCE_STEPS < last:
            starts.append(last - PERFORMANCE_STEPS)  # the ending too (often a chord held on the pedal)
        for start in starts:
            windows.append(tx.window(notes, start, start + PERFORMANCE_STEPS))
            pieces.append(piece)
    return windows, pieces


def performance_rows(samples: int) -> list[Row]:
    from generation.engine.bundle import installed_configs
    from generation.engine.sampling import SearchSettings
    from generation.families.performance.config import CONFIGS
    from generation.families.performance.generator import PerformanceGenerator

    windows, pieces = human_performance_windows(DATASETS / "asap")
    human = performance_figures(windows, pieces)
    source = f"ASAP held-out, pedal applied, {len(windows)} 30 s windows"
    rows = []
    for config in [c for c in CONFIGS if c in installed_configs()]:
        made = PerformanceGenerator.load(config).generate_notes(
            [], PERFORMANCE_STEPS, num_outputs=samples, search=SearchSettings(1.0), seed=SEED)
        for figure, stat in performance_figures(made).items():
            rows.append(Row(f"{figure} [{config}]", stat, human[figure], source))
    return rows


# --- chorales (polyphony, pianoroll) -------------------------------------------------------------------------

def chorale_figures(pieces: Sequence[Sequence[Note]], half_steps: int) -> dict[str, Stat]:
    return {"dissonant pairs (m2, M2, tritone, M7 share)": ratio_stat(tx.dissonant_pairs(p) for p in pieces),
            "parallel 5ths/octaves per 100 chord changes": ratio_stat((tx.parallel_perfects(p) for p in pieces),
                                                                      100.0),
            "same key in bars 1-4 and 5-8": mean_stat(float(tx.same_key_halves(p, half_steps)) for p in pieces)}


def chorale_rows(ours: Sequence[Sequence[Note]], human: Sequence[Sequence[Note]], half_steps: int, label: str,
                 source: str) -> list[Row]:
    mine, theirs = chorale_figures(ours, half_steps), chorale_figures(human, half_steps)
    return [Row(f"{figure} [{label}]", stat, theirs[figure], source) for figure, stat in mine.items()]


def polyphony_rows(samples: int) -> list[Row]:
    from generation.engine.sampling import SearchSettings
    from generation.families.polyphony.dataset import load_jsb
    from generation.families.polyphony.generator import PolyphonyGenerator

    steps = BARS * BAR
    primer = [Note(0, 4, p) for p in (67, 64, 60)]
    made = PolyphonyGenerator.load().generate(primer, steps, condition_on_primer=True, inject_primer=True,
                                              num_outputs=samples, search=SearchSettings(1.0), seed=SEED)
    human = [tx.window(p, 0, steps) for p in load_jsb()["test"] if max(n.end for n in p) >= steps]
    return chorale_rows(made, human, steps // 2, "polyphony, 8 bars from C major",
                        f"JSB test chorales, first 8 bars (16ths), {len(human)} chorales")


def pianoroll_rows(samples: int) -> list[Row]:
    from generation.engine.sampling import SearchSettings
    from generation.families.pianoroll.dataset import load_jsb, roll_to_frames
    from generation.families.pianoroll.generator import PianorollGenerator

    steps = BARS * 4
    rolls = PianorollGenerator.load("rnn-nade-bach").generate([frozenset({60, 64, 67})], steps, samples,
                                                              SearchSettings(1.0), SEED)
    made = [frames_notes(frames) for frames in rolls]
    test = load_jsb(DATASETS / "jsb_chorales" / "jsb-chorales-quarter.json", "test")
    human = [frames_notes(roll_to_frames(r[:steps])) for r in test if len(r) >= steps]
    return chorale_rows(made, human, steps // 2, "rnn-nade-bach, 8 bars from C major",
                        f"JSB test chorales, first 8 bars (quarters), {len(human)} chorales")


# --- lead sheets (harmonize, improv) --------------------------------------------------------------------------

def parse_steps(figures: Sequence[str | None], accept: Callable[[Chord], bool] = lambda c: True) -> list[Chord]:
    """Chord per step; unreadable figures (and chords `accept` refuses) become no chord."""
    cache: dict[str | None, Chord] = {None: NO_CHORD}
    out = []
    for f in figures:
        if f not in cache:
            try:
                chord = parse_chord(f or "")
                cache[f] = chord if accept(chord) else NO_CHORD
            except ChordError:
                cache[f] = NO_CHORD
        out.append(cache[f])
    return out


def held_out_openings(sheets: Iterable[LeadSheet]) -> list[LeadSheet]:
    """Held-out sheets (the improv trainer's split) whose first 8 bars are 4/4 with chords and notes, cut there."""
    from generation.families.improv.dataset import is_validation

    steps = BARS * BAR
    out = []
    for s in sheets:
        if not is_validation(s.name) or tuple(s.bar_starts[: BARS + 1]) != tuple(range(0, steps + 1, BAR)):
            continue
        melody = s.melody[:steps]
        if any(s.chords[:steps]) and any(21 <= e <= 108 for e in melody) and not any(e > 108 for e in melody):
            out.append(LeadSheet(s.name, melody, s.chords[:steps], s.bar_starts[:BARS]))
    return out


def voiced_chords(chords: Sequence[Chord]) -> list[Note]:
    """Chord symbols played plainly: the bass (slash bass or root) in octave 2, chord tones in octave 3."""
    notes: list[Note] = []
    start = 0
    for t in range(1, len(chords) + 1):
        if t == len(chords) or chords[t] != chords[start]:
            c = chords[start]
            if not c.is_no_chord and c.root is not None:
                bass = c.bass if c.bass is not None else c.root
                notes += [Note(start, t, 36 + bass)] + [Note(start, t, 48 + pc) for pc in sorted(c.chord_tones())]
            start = t
    return notes


def harmonize_rows(samples: int) -> list[Row]:
    from generation.data.nottingham import load_nottingham
    from generation.engine.sampling import SearchSettings
    from generation.families.polyphony.generator import PolyphonyGenerator
    from generation.families.polyphony.harmonizer import LeadSheetHarmonizer

    steps = BARS * BAR
    tunes = held_out_openings(load_nottingham(DATASETS / "nottingham" / "ABC_cleaned"))[:samples]
    harmonizer, polyphony = LeadSheetHarmonizer.load(), PolyphonyGenerator.load()

    def by_harmonizer(melody: list[Note], i: int) -> list[Note]:
        return harmonizer.harmonize(melody, steps, seed=SEED + i)[0].harmony

    def by_polyphony(melody: list[Note], i: int) -> list[Note]:
        out = polyphony.generate(melody, steps, condition_on_primer=False, inject_primer=True, num_outputs=1,
                                 search=SearchSettings(1.0), seed=SEED + i)[0]
        kept = {(n.start, n.pitch) for n in melody}
        return [n for n in out if (n.start, n.pitch) not in kept]

    strong = [b + o for b in range(0, steps, BAR) for o in (0, 8)]
    source = f"the same {len(tunes)} held-out Nottingham tunes' chord symbols, voiced plainly"
    none = "none: no human voicing of these tunes is held"
    human_key = mean_stat(tx.harmony_in_key(tx.estimate_key(melody_events_notes(t.melody)
                                                            + voiced_chords(parse_steps(t.chords))),
                                            voiced_chords(parse_steps(t.chords)), 4 * BAR, steps) for t in tunes)
    rows = []
    for config, harmonise in (("leadsheet_harmonizer", by_harmonizer), ("polyphony", by_polyphony)):
        in_key, tones, bass_root, bass_tone = [], [], [], []
        for i, tune in enumerate(tunes):
            melody = melody_events_notes(tune.melody)
            chords = parse_steps(tune.chords)
            harmony = harmonise(melody, i)
            key = tx.estimate_key(melody + voiced_chords(chords))
            in_key.append(tx.harmony_in_key(key, harmony, 4 * BAR, steps))
            tones.append(tx.chord_tone_notes(harmony, chords))
            root, tone, beats = tx.bass_on_chord(harmony, chords, strong)
            bass_root.append((root, beats))
            bass_tone.append((tone, beats))
        rows += [Row(f"harmony in the tune's key (share of 4-bar segments) [{config}]", mean_stat(in_key),
                     human_key, source),
                 Row(f"harmony notes belonging to the chord symbol [{config}]", ratio_stat(tones), None, none),
                 Row(f"bass on the chord root, strong beats [{config}]", ratio_stat(bass_root), None, none),
                 Row(f"bass on a chord tone, strong beats [{config}]", ratio_stat(bass_tone), None, none)]
    return rows


def improv_rows(samples: int) -> list[Row]:
    from generation.data.nottingham import load_nottingham
    from generation.data.openewld import load_openewld
    from generation.engine.sampling import SearchSettings
    from generation.families.improv.encoding import encode_chord
    from generation.families.improv.generator import ImprovGenerator

    corpora = {"Nottingham": held_out_openings(load_nottingham(DATASETS / "nottingham" / "ABC_cleaned")),
               "OpenEWLD": held_out_openings(load_openewld(DATASETS / "openewld" / "dataset"))}
    rows = []
    for config in IMPROV_CONFIGS:
        generator = ImprovGenerator.load(config)

        def encodable(chord: Chord, cfg: Any = generator.config) -> bool:
            """Chords the config cannot encode (no triad) are read as no chord, as its trainer does."""
            try:
                encode_chord(chord, cfg)
                return True
            except ChordError:
                return False

        for corpus, sheets in corpora.items():
            human = mean_stat(sum(e >= 0 for e in s.melody) / BARS for s in sheets)
            ours = []
            for i, sheet in enumerate(sheets[:samples]):
                chords = parse_steps(sheet.chords, encodable)
                melody = generator.generate(chords, 1, (60,), 1, SearchSettings(1.0), SEED + i)[0]
                ours.append(sum(e >= 0 for e in melody) / BARS)
            rows.append(Row(f"notes per bar [{config}, {corpus} progressions]", mean_stat(ours), human,
                            f"{corpus} held-out lead sheets, first 8 bars, {len(sheets)} sheets"))
    return rows


SECTIONS: dict[str, Callable[[int], list[Row]]] = {
    "performance": performance_rows, "polyphony": polyphony_rows, "pianoroll": pianoroll_rows,
    "harmonize": harmonize_rows, "improv": improv_rows,
}


def table(family: str, rows: Sequence[Row]) -> str:
    cells = [("figure", "ours (mean ± se, n)", "human (mean ± se, n)", "human source")]
    cells += [(r.figure, str(r.ours) if r.ours else "-", str(r.human) if r.human else "-", r.source) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = [f"## {family}", *("| " + " | ".join(c[i].ljust(widths[i]) for i in range(4)) + " |" for c in cells)]
    lines.insert(2, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=0,
                        help="outputs (or tunes) per model; default: each family's own (see DEFAULT_SAMPLES)")
    parser.add_argument("--only", default=",".join(FAMILIES), help=f"comma-separated, of {', '.join(FAMILIES)}")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    chosen = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in SECTIONS]
    if unknown:
        parser.error(f"unknown family {unknown[0]!r}; choose from {', '.join(FAMILIES)}")
    report: dict[str, Any] = {}
    for family in chosen:
        began = time.perf_counter()
        rows = SECTIONS[family](args.samples or DEFAULT_SAMPLES[family])
        seconds = time.perf_counter() - began
        print(table(family, rows) + f"\n({seconds:.0f} s)\n", flush=True)
        report[family] = {"seconds": seconds, "rows": [asdict(r) for r in rows]}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
