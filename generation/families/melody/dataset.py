"""Melody RNN training data: melodies from lead sheets (Nottingham, OpenEWLD) and POP909's MELODY tracks.

Pure numpy and pretty_midi (no TensorFlow). Melodies are cut as Magenta's MelodyExtractor cuts them (a rest of
a bar or more ends a melody; at least 7 bars and 5 distinct pitches; each starts on a bar line), but only from
runs of 4/4 bars, because the lookback inputs look exactly 16 and 32 steps back and count steps from a bar line.
Magenta cuts a melody at 512 steps and drops the rest; we keep the rest as further 512-step melodies. The split
is by piece, so no song is on both sides. `python -m generation.families.melody.dataset` prints the counts.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generation.data.leadsheet import NO_EVENT, NOTE_OFF, LeadSheet
from generation.families.melody.config import CONFIGS, STEPS_PER_BAR, MelodyConfig
from generation.families.melody.encoding import melody_events, squash, transpose

log = logging.getLogger(__name__)

SOURCES = {  # what goes into a model card's data section
    "nottingham": "Nottingham Music Database (jukedeck/nottingham-dataset, cleaned ABC): GPL-3.0",
    "openewld": "OpenEWLD (00sapo/OpenEWLD, public-domain subset of Wikifonia): MIT licence, public-domain songs",
    "pop909": "POP909 (music-x-lab/POP909-Dataset), the MELODY track of each song: MIT licence",
}
MIN_BARS = 7  # Magenta's MelodyExtractor(min_bars=7, max_steps=512, min_unique_pitches=5, gap_bars=1.0)
MAX_STEPS = 512
MIN_UNIQUE_PITCHES = 5
GAP_STEPS = STEPS_PER_BAR
HELD_OUT_PERCENT = 10
MONO_TRANSPOSITIONS = tuple(range(-5, 7))  # mono_rnn is not moved to one key, so it sees all 12


@dataclass(frozen=True)
class Melody:
    """One training melody: 16th-note melody events, step 0 on a bar line of 4/4.

    Attributes:
        piece: the piece it was cut from (the split is by piece), e.g. "pop909/001".
        source: "nottingham", "openewld" or "pop909".
        events: Magenta melody events (-2 hold, -1 note off, 0..127 note on), at most MAX_STEPS.
    """

    piece: str
    source: str
    events: tuple[int, ...]


def held_out(piece: str, percent: int = HELD_OUT_PERCENT) -> bool:
    """A stable held-out split by piece name (the improv corpus uses the same rule, so a tune held out there is
    held out here too)."""
    return int(hashlib.sha1(piece.encode()).hexdigest(), 16) % 100 < percent


# --- cutting melodies ------------------------------------------------------------------------------------------
def four_four_runs(bar_starts: Sequence[int], length: int) -> list[tuple[int, int]]:
    """[start, end) step ranges made only of whole 16-step bars (a 4/4 bar, or two 2/4 bars in a row)."""
    edges = [*bar_starts, length]
    runs: list[tuple[int, int]] = []
    start = end = None
    i = 0
    while i < len(edges) - 1:
        size = edges[i + 1] - edges[i]
        pair = edges[i + 2] - edges[i] if i + 2 < len(edges) else 0
        step = 1 if size == STEPS_PER_BAR else 2 if size == STEPS_PER_BAR // 2 and pair == STEPS_PER_BAR else 0
        if step:
            start = edges[i] if start is None else start
            end = edges[i + step]
            i += step
        else:
            if start is not None and end is not None:
                runs.append((start, end))
            start = end = None
            i += 1
    if start is not None and end is not None:
        runs.append((start, end))
    return runs


def cut_melodies(events: Sequence[int], bar_starts: Sequence[int], piece: str, source: str,
                 stats: Counter[str]) -> list[Melody]:
    """The melodies in one piece: runs of 4/4 bars, split at rests of a bar or more, in MAX_STEPS pieces."""
    out: list[Melody] = []
    runs = four_four_runs(bar_starts, len(events))
    if not runs:
        stats[f"{source}: pieces with no 4/4 bars"] += 1
    for run_start, run_end in runs:
        run = list(events[run_start:run_end])
        for start, end in _phrases(run):
            melody = melody_events(run[start:end])
            for k in range(0, len(melody), MAX_STEPS):
                chunk = melody[k:k + MAX_STEPS]
                if len(chunk) < MIN_BARS * STEPS_PER_BAR:
                    stats[f"{source}: melodies (or 512-step tails) dropped: shorter than 7 bars"] += 1
                elif len({e for e in chunk if e >= 0}) < MIN_UNIQUE_PITCHES:
                    stats[f"{source}: melodies dropped: fewer than 5 distinct pitches"] += 1
                else:
                    out.append(Melody(piece, source, tuple(melody_events(chunk))))
    if not out:
        stats[f"{source}: pieces giving no melody"] += 1
    return out


def _phrases(run: Sequence[int]) -> list[tuple[int, int]]:
    """[start, end) of each stretch of notes with no rest of a bar or more, widened to whole bars."""
    notes = []  # (onset, end) of each note
    for i, e in enumerate(run):
        if e >= 0:
            j = i + 1
            while j < len(run) and run[j] == NO_EVENT:
                j += 1
            notes.append((i, j))
    phrases: list[tuple[int, int]] = []
    for onset, end in notes:
        if phrases and onset - phrases[-1][1] < GAP_STEPS:
            phrases[-1] = (phrases[-1][0], end)
        else:
            phrases.append((onset, end))
    bar = STEPS_PER_BAR
    return [(s // bar * bar, min(-(-e // bar) * bar, len(run))) for s, e in phrases]


def notes_to_events(notes: Iterable[tuple[int, int, int]]) -> list[int]:
    """(onset step, end step, pitch) notes -> monophonic events: the highest pitch of a shared onset, each note
    cut at the next onset, a note off where a note ends before it."""
    onsets: dict[int, tuple[int, int]] = {}
    for on, end, pitch in notes:
        if on >= 0 and (on not in onsets or pitch > onsets[on][0]):
            onsets[on] = (pitch, max(end, on + 1))
    if not onsets:
        return []
    order = sorted(onsets)
    events = [NO_EVENT] * max(end for _, end in onsets.values())
    for i, on in enumerate(order):
        pitch, end = onsets[on]
        events[on] = pitch
        following = order[i + 1] if i + 1 < len(order) else len(events)
        if end < following:
            events[end] = NOTE_OFF
    return events


# --- the sources --------------------------------------------------------------------------------------------------
def leadsheet_melodies(sheets: Iterable[LeadSheet], source: str, stats: Counter[str]) -> list[Melody]:
    out: list[Melody] = []
    for sheet in sheets:
        stats[f"{source}: pieces"] += 1
        out += cut_melodies(sheet.melody, sheet.bar_starts, sheet.name, source, stats)
    return out


def pop909_song(folder: Path) -> tuple[list[int], list[int]]:
    """A POP909 song's MELODY track as events on 16th-note steps of its annotated beats, and its bar starts.

    The MIDI follows the recording's tempo, so times are mapped to steps through `beat_midi.txt` (one row per
    beat: time, then a downbeat flag in the third column); step 0 is a bar line at or before the first note.
    """
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(folder / f"{folder.name}.mid"))
    track = next((i for i in midi.instruments if i.name.strip().upper() == "MELODY"), None)
    if track is None or not track.notes:
        return [], []
    rows = np.loadtxt(folder / "beat_midi.txt", ndmin=2)
    times = rows[:, 0]
    downbeats = np.flatnonzero(rows[:, 2] > 0.5)
    if len(times) < 2 or len(downbeats) == 0:
        return [], []

    def beat(t: float) -> float:  # beat index at time t, straight lines beyond the annotated beats
        if t < times[0]:
            return (t - times[0]) / (times[1] - times[0])
        if t > times[-1]:
            return len(times) - 1 + (t - times[-1]) / (times[-1] - times[-2])
        return float(np.interp(t, times, np.arange(len(times))))

    first = min(beat(n.start) for n in track.notes)
    origin = int(downbeats[0])
    while origin > first + 1e-6:  # bars of 4 beats before the first annotated downbeat, for a pickup
        origin -= 4
    notes = [(round(4 * (beat(n.start) - origin)), round(4 * (beat(n.end) - origin)), n.pitch) for n in track.notes]
    events = notes_to_events(notes)
    bars = sorted({4 * (int(d) - origin) for d in downbeats} | set(range(0, 4 * (int(downbeats[0]) - origin), 16)))
    return events, [b for b in bars if b < len(events)]


def pop909_melodies(root: Path, stats: Counter[str]) -> list[Melody]:
    """Melodies of every song folder under POP909/ (a song that cannot be read is counted and skipped)."""
    out: list[Melody] = []
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        stats["pop909: pieces"] += 1
        try:
            events, bars = pop909_song(folder)
        except Exception as e:  # one bad file must not stop the load
            stats["pop909: unreadable songs"] += 1
            log.debug("skipping %s: %s", folder, e)
            continue
        out += cut_melodies(events, bars, f"pop909/{folder.name}", "pop909", stats)
    return out


def load_melodies(datasets_dir: Path, stats: Counter[str], sources: Sequence[str] = tuple(SOURCES)
                  ) -> list[Melody]:
    """Every melody of the chosen sources under `datasets_dir` (the shared datasets folder)."""
    from generation.data.nottingham import load_nottingham
    from generation.data.openewld import load_openewld

    out: list[Melody] = []
    if "nottingham" in sources:
        out += leadsheet_melodies(load_nottingham(datasets_dir / "nottingham" / "ABC_cleaned"), "nottingham", stats)
    if "openewld" in sources:
        out += leadsheet_melodies(load_openewld(datasets_dir / "openewld" / "dataset"), "openewld", stats)
    if "pop909" in sources:
        out += pop909_melodies(datasets_dir / "pop909" / "POP909", stats)
    return out


# --- per config: the key and range Magenta trains in, or transpositions ------------------------------------------
def for_config(melodies: Iterable[Melody], config: MelodyConfig, stats: Counter[str]) -> list[np.ndarray]:
    """The event sequences a config trains on.

    Configs with a key (basic, lookback, attention) see each melody as Magenta's pipeline makes it: moved to
    C major and centred in MIDI 48-83, notes beyond folded in by octaves. mono_rnn has no key and all 128
    pitches, so each melody is taken in 12 transpositions (-5..+6) instead.
    """
    out: list[np.ndarray] = []
    for melody in melodies:
        if config.transpose_to_key is not None:
            moved, amount = squash(melody.events, config)
            if moved != transpose(melody.events, amount):
                stats[f"{config.name}: melodies with notes folded into {config.min_note}-{config.max_note - 1}"] += 1
            out.append(np.array(moved, np.int16))
            continue
        for shift in MONO_TRANSPOSITIONS:
            notes = [e + shift for e in melody.events if e >= 0]
            if min(notes) >= config.min_note and max(notes) < config.max_note:
                out.append(np.array(transpose(melody.events, shift), np.int16))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Cut the Melody RNN training melodies and print how many there are.")
    p.add_argument("--datasets_dir", type=Path, default=Path(__file__).resolve().parents[4] / "shared" / "datasets")
    p.add_argument("--sources", default=",".join(SOURCES), help=f"comma-separated, from {', '.join(SOURCES)}")
    args = p.parse_args(argv)
    stats: Counter[str] = Counter()
    melodies = load_melodies(args.datasets_dir, stats, args.sources.split(","))
    for source in SOURCES:
        mine = [m for m in melodies if m.source == source]
        if not mine:
            continue
        train = [m for m in mine if not held_out(m.piece)]
        valid = [m for m in mine if held_out(m.piece)]
        print(f"{source}: {stats[source + ': pieces']} pieces -> {len(mine)} melodies from "
              f"{len({m.piece for m in mine})} pieces, {sum(len(m.events) for m in mine)} steps; "
              f"train {len(train)} ({sum(len(m.events) for m in train)} steps), "
              f"held out {len(valid)} ({sum(len(m.events) for m in valid)} steps)  [{SOURCES[source]}]")
    train = [m for m in melodies if not held_out(m.piece)]
    valid = [m for m in melodies if held_out(m.piece)]
    print(f"all: {len(melodies)} melodies, train {len(train)}, held out {len(valid)}")
    for name, config in CONFIGS.items():
        seqs = for_config(train, config, stats)
        held = for_config(valid, config, stats)
        print(f"{name}: {len(seqs)} training sequences ({sum(len(s) for s in seqs)} steps), {len(held)} held out")
    for key, count in sorted(stats.items()):
        if not key.endswith(": pieces"):
            print(f"  {key}: {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
