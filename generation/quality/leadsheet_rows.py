"""The quality report's lead-sheet rows (harmonize, improv; settings in report.py's docstring), one model at a
time: the report runs them for every shipped config, a trainer for the bundle it has just stored (its card)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from generation.data.leadsheet import LeadSheet
from generation.music.chords import NO_CHORD, Chord, ChordError, parse_chord
from generation.music.notes import Note, melody_events_notes
from generation.quality import texture as tx
from generation.quality.common import BAR, BARS, DATASETS, SEED, Row, mean_stat, ratio_stat

IMPROV_CONFIGS = ("basic_improv", "attention_improv", "chord_pitches_improv")
Harmonise = Callable[[list[Note], int], list[Note]]  # (melody, tune index) -> the harmony's notes


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


# --- harmonize -----------------------------------------------------------------------------------------------

def nottingham_openings(datasets: Path = DATASETS) -> list[LeadSheet]:
    from generation.data.nottingham import load_nottingham

    return held_out_openings(load_nottingham(datasets / "nottingham" / "ABC_cleaned"))


def by_harmonizer(harmonizer: Any) -> Harmonise:
    """/harmonize's default: the lead-sheet harmoniser picks its own chords (the tune's are not given)."""
    steps = BARS * BAR
    return lambda melody, i: harmonizer.harmonize(melody, steps, seed=SEED + i)[0].harmony


def by_polyphony(generator: Any) -> Harmonise:
    """Magenta's path: the Polyphony RNN with the melody injected, no conditioning; harmony = the notes added."""
    from generation.engine.sampling import SearchSettings

    def harmonise(melody: list[Note], i: int) -> list[Note]:
        out = generator.generate(melody, BARS * BAR, condition_on_primer=False, inject_primer=True, num_outputs=1,
                                 search=SearchSettings(1.0), seed=SEED + i)[0]
        kept = {(n.start, n.pitch) for n in melody}
        return [n for n in out if (n.start, n.pitch) not in kept]

    return harmonise


def harmonize_rows(samples: int, paths: Mapping[str, Harmonise] | None = None,
                   tunes: Sequence[LeadSheet] | None = None) -> list[Row]:
    """Each path's harmony under the first `samples` held-out Nottingham openings; default: both shipped paths."""
    if paths is None:
        from generation.families.polyphony.generator import PolyphonyGenerator
        from generation.families.polyphony.harmonizer import LeadSheetHarmonizer

        paths = {"leadsheet_harmonizer": by_harmonizer(LeadSheetHarmonizer.load()),
                 "polyphony": by_polyphony(PolyphonyGenerator.load())}
    steps = BARS * BAR
    tunes = list(nottingham_openings() if tunes is None else tunes)[:samples]
    strong = [b + o for b in range(0, steps, BAR) for o in (0, 8)]
    source = f"the same {len(tunes)} held-out Nottingham tunes' chord symbols, voiced plainly"
    none = "none: no human voicing of these tunes is held"
    human_key = mean_stat(tx.harmony_in_key(tx.estimate_key(melody_events_notes(t.melody)
                                                            + voiced_chords(parse_steps(t.chords))),
                                            voiced_chords(parse_steps(t.chords)), 4 * BAR, steps) for t in tunes)
    rows = []
    for config, harmonise in paths.items():
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


# --- improv --------------------------------------------------------------------------------------------------

def improv_openings(sheets: Mapping[str, Iterable[LeadSheet]] | None = None) -> dict[str, list[LeadSheet]]:
    """The held-out openings per corpus, from sheets keyed nottingham/openewld (default: read the datasets)."""
    if sheets is None:
        from generation.data.nottingham import load_nottingham
        from generation.data.openewld import load_openewld

        sheets = {"nottingham": load_nottingham(DATASETS / "nottingham" / "ABC_cleaned"),
                  "openewld": load_openewld(DATASETS / "openewld" / "dataset")}
    return {"Nottingham": held_out_openings(sheets["nottingham"]), "OpenEWLD": held_out_openings(sheets["openewld"])}


def improv_config_rows(generator: Any, config: str, samples: int, corpora: Mapping[str, Sequence[LeadSheet]]
                       ) -> list[Row]:
    """One Improv RNN's notes per bar over the held-out progressions (T=1.0, primer C4) beside the melodies."""
    from generation.engine.sampling import SearchSettings
    from generation.families.improv.encoding import encode_chord

    def encodable(chord: Chord) -> bool:
        """Chords the config cannot encode (no triad) are read as no chord, as its trainer does."""
        try:
            encode_chord(chord, generator.config)
            return True
        except ChordError:
            return False

    rows = []
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


def improv_rows(samples: int) -> list[Row]:
    from generation.families.improv.generator import ImprovGenerator

    corpora = improv_openings()
    return [row for config in IMPROV_CONFIGS
            for row in improv_config_rows(ImprovGenerator.load(config), config, samples, corpora)]
