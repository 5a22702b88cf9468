"""Trio training data (melody, bass, drums) for hierdec-trio_16bar: 16-bar windows built from POP909 and Groove.

No local dataset holds trios, so each window is put together. Pure numpy + pretty_midi, no TensorFlow.

- Songs: POP909's 4/4 songs. index.csv's meter must be 2 beats per measure of 2 quavers (beat_midi.txt's
  third column then marks 4-beat bars); the 28 triple-metre and 24 compound-metre songs are left out. Times go
  to 16th steps through the annotated beats, as the melody family reads POP909 (its `pop909_song`), and only
  runs of whole 4/4 bars are cut (`four_four_runs`).
- Melody: the MELODY track's top line (the melody family's `notes_to_events`: highest note of an onset, each
  note cut at the next onset).
- Bass: the PIANO track's lowest sounding note below MIDI 55 (G3) at each step: a note on where that lowest
  pitch changes or is struck again, a note off where nothing below G3 sounds (a left hand's broken chord gives
  a moving bass; a held root under it stays the bass).
- Drums: a Groove beat take (Groove's own split: train for training songs, validation for held-out ones; test
  untouched) of a pop-like style (POP909 has no genre labels, so the style is the pop family: rock, pop, funk,
  soul, hiphop, dance, country, punk; not reggae, blues, jazz, latin or afro) whose click tempo is within 15%
  of the song's beat tempo (else the nearest three), looped or cut to 16 bars from a random bar; drawn again
  for each window, seeded by song and window, so every build is the same.
- Windows: 256 steps from every bar line of a 4/4 run (`hop_bars`, 1 as Magenta slices; held-out songs in
  non-overlapping windows), kept when the melody and the bass each strike a note in at least 8 of the 16 bars,
  all pitches within MIDI 21-108; repeated (melody, bass) windows dropped. The split is the melody family's
  `held_out`, by song.

`python -m generation.families.music_vae.trio_data` builds the set and prints its counts and the time taken.
"""

from __future__ import annotations

import argparse
import csv
import logging
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generation.data.leadsheet import NO_EVENT, NOTE_OFF
from generation.families.drums.groove import GrooveTake, read_takes, take_bars
from generation.families.melody.dataset import MONO_TRANSPOSITIONS, four_four_runs, held_out, notes_to_events
from generation.families.music_vae.config import MAX_PITCH, MIN_PITCH, STEPS_PER_BAR

log = logging.getLogger(__name__)

WINDOW_BARS = 16
WINDOW_STEPS = WINDOW_BARS * STEPS_PER_BAR
BASS_CEILING = 55  # G3: the bass is the piano's lowest note below this
MIN_PLAYING_BARS = 8  # of 16: the melody and the bass each strike a note in at least half the bars
POP_STYLES = ("rock", "pop", "funk", "soul", "hiphop", "dance", "country", "punk")
TEMPO_TOLERANCE = 0.15
NEAREST = 3  # takes to draw from when none is within the tolerance
MIN_LOOP_BARS = 4
DRUM_SPLIT = {False: "train", True: "validation"}  # song held out? -> Groove split its drums come from
SOURCES = {
    "pop909": "POP909 (music-x-lab/POP909-Dataset): MELODY track as the melody, the PIANO track's lowest notes "
              "below G3 as the bass; MIT licence",
    "groove": "Groove MIDI Dataset (Gillick, Roberts, Engel, Eck, Bamman 2019), pop-like beat takes matched "
              "by tempo: CC BY 4.0",
}


@dataclass(frozen=True)
class Song:
    """One POP909 song on 16th steps (step 0 a bar line at or before its first note).

    Attributes:
        piece: "pop909/NNN" (the split is by piece).
        melody, bass: melody events (-2 no event, -1 note off, else MIDI pitch), of equal length.
        bar_starts: steps where the annotated bars start.
        qpm: the song's beat tempo (60 / the median annotated beat).
    """

    piece: str
    melody: tuple[int, ...]
    bass: tuple[int, ...]
    bar_starts: tuple[int, ...]
    qpm: float


@dataclass(frozen=True)
class DrumLoop:
    """A Groove beat take as drum classes (bit masks of the 9 classes) on 16th steps, whole bars."""

    take: GrooveTake
    events: np.ndarray


# --- songs --------------------------------------------------------------------------------------------------------
def song_meters(root: Path) -> dict[str, tuple[int, int]]:
    """index.csv's (beats per measure, quavers per beat) by song folder name; empty when index.csv is absent."""
    index = root / "index.csv"
    if not index.is_file():
        return {}
    with index.open(newline="", encoding="utf-8") as f:
        return {row["song_id"]: (int(row["num_beats_per_measure"]), int(row["num_quavers_per_beat"]))
                for row in csv.DictReader(f)}


def bass_line(notes: Iterable[tuple[int, int, int]], length: int, ceiling: int = BASS_CEILING) -> list[int]:
    """(onset step, end step, pitch) notes -> the lowest sounding pitch below `ceiling` at each step, as melody
    events: a note on where the lowest pitch changes or is struck again, a note off where none sounds."""
    low = [n for n in notes if n[2] < ceiling and n[0] < length]
    roll = np.full(length + 1, 128)
    struck = np.full(length + 1, 128)  # lowest pitch struck at each step
    for on, end, pitch in low:
        start = max(on, 0)
        roll[start:max(end, on + 1)] = np.minimum(roll[start:max(end, on + 1)], pitch)
        if on >= 0:
            struck[on] = min(struck[on], pitch)
    events: list[int] = []
    previous = 128
    for t in range(length):
        now = int(roll[t])
        if now < 128 and (now != previous or struck[t] == now):
            events.append(now)
        elif now == 128 and previous < 128:
            events.append(NOTE_OFF)
        else:
            events.append(NO_EVENT)
        previous = now
    return events


def read_song(folder: Path, stats: Counter[str]) -> Song | None:
    """A POP909 song folder as a Song, or None (counted in `stats` under the reason)."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(folder / f"{folder.name}.mid"))
    tracks = {i.name.strip().upper(): i for i in midi.instruments}
    melody_track, piano = tracks.get("MELODY"), tracks.get("PIANO")
    if melody_track is None or not melody_track.notes or piano is None or not piano.notes:
        stats["songs without a MELODY or PIANO track (dropped)"] += 1
        return None
    rows = np.loadtxt(folder / "beat_midi.txt", ndmin=2)
    times = rows[:, 0]
    downbeats = np.flatnonzero(rows[:, 2] > 0.5)
    if len(times) < 2 or len(downbeats) == 0:
        stats["songs without beat annotations (dropped)"] += 1
        return None
    beats = np.arange(len(times), dtype=float)

    def beat(t: float) -> float:  # as the melody family's pop909_song: straight lines beyond the annotated beats
        if t < times[0]:
            return (t - times[0]) / (times[1] - times[0])
        if t > times[-1]:
            return len(times) - 1 + (t - times[-1]) / (times[-1] - times[-2])
        return float(np.interp(t, times, beats))

    first = min(beat(n.start) for n in (*melody_track.notes, *piano.notes))
    origin = int(downbeats[0])
    while origin > first + 1e-6:
        origin -= 4

    def grid(notes: Sequence[pretty_midi.Note]) -> list[tuple[int, int, int]]:
        return [(round(4 * (beat(n.start) - origin)), round(4 * (beat(n.end) - origin)), n.pitch) for n in notes]

    melody = notes_to_events(grid(melody_track.notes))
    piano_notes = grid(piano.notes)
    length = max(len(melody), max(end for _, end, _ in piano_notes))
    bass = bass_line(piano_notes, length)
    bars = sorted({4 * (int(d) - origin) for d in downbeats} | set(range(0, 4 * (int(downbeats[0]) - origin), 16)))
    qpm = 60.0 / float(np.median(np.diff(times)))
    return Song(f"pop909/{folder.name}", _pad(melody, length), tuple(bass), tuple(b for b in bars if b < length),
                qpm)


def _pad(events: list[int], length: int) -> tuple[int, ...]:
    """Events extended with silence to `length` (a note still sounding stops where the events end)."""
    if len(events) >= length:
        return tuple(events[:length])
    sounding = next((e >= 0 for e in reversed(events) if e != NO_EVENT), False)
    tail = [NOTE_OFF] if sounding else []
    return tuple((events + tail + [NO_EVENT] * length)[:length])


def classes(events: Sequence[int] | np.ndarray) -> np.ndarray:
    """Melody events -> MusicVAE melody classes (0 no event, 1 note off, 2.. MIDI 21-108), int16."""
    e = np.asarray(events, np.int32)
    return np.where(e >= 0, e - MIN_PITCH + 2, e - NO_EVENT).astype(np.int16)


def sounding(events: Sequence[int]) -> np.ndarray:
    """The pitch sounding at each step (-1 for silence)."""
    out = np.empty(len(events), np.int32)
    now = -1
    for t, e in enumerate(events):
        now = e if e >= 0 else -1 if e == NOTE_OFF else now
        out[t] = now
    return out


def song_windows(song: Song, hop_bars: int, stats: Counter[str]) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(start step, melody classes, bass classes) of each kept 16-bar window of a song."""
    melody, bass = np.asarray(song.melody, np.int32), np.asarray(song.bass, np.int32)
    out = []
    runs = four_four_runs(song.bar_starts, len(melody))
    if not any(end - start >= WINDOW_STEPS for start, end in runs):
        stats["songs without 16 bars of 4/4 in a row (dropped)"] += 1
    for run_start, run_end in runs:
        for start in range(run_start, run_end - WINDOW_STEPS + 1, hop_bars * STEPS_PER_BAR):
            m, b = melody[start:start + WINDOW_STEPS], bass[start:start + WINDOW_STEPS]
            if _playing_bars(m) < MIN_PLAYING_BARS:
                stats["windows with melody notes in fewer than 8 bars (dropped)"] += 1
            elif _playing_bars(b) < MIN_PLAYING_BARS:
                stats["windows with bass notes in fewer than 8 bars (dropped)"] += 1
            elif np.any((m >= 0) & ((m < MIN_PITCH) | (m >= MAX_PITCH))) or np.any(
                    (b >= 0) & ((b < MIN_PITCH) | (b >= MAX_PITCH))):
                stats["windows with a pitch outside MIDI 21-108 (dropped)"] += 1
            else:
                out.append((start, classes(m), classes(b)))
    return out


def _playing_bars(events: np.ndarray) -> int:
    return int(np.any(events.reshape(WINDOW_BARS, STEPS_PER_BAR) >= 0, axis=1).sum())


# --- drums --------------------------------------------------------------------------------------------------------
def drum_loops(takes: Iterable[GrooveTake], stats: Counter[str]) -> list[DrumLoop]:
    """The pop-like 4/4 beat takes of at least MIN_LOOP_BARS bars (silent bars at either end trimmed)."""
    out = []
    for take in takes:
        if take.beat_type != "beat" or take.style not in POP_STYLES:
            continue
        bars = take_bars(take)
        while bars and not any(bars[0].events):
            bars = bars[1:]
        if len(bars) < MIN_LOOP_BARS:
            stats[f"groove {take.split}: pop-like beat takes shorter than {MIN_LOOP_BARS} bars (unused)"] += 1
            continue
        out.append(DrumLoop(take, np.array([e for bar in bars for e in bar.events], np.int16)))
    return out


def pick_drums(loops: Sequence[DrumLoop], qpm: float, rng: np.random.Generator) -> tuple[DrumLoop, np.ndarray]:
    """A loop near the song's tempo (within TEMPO_TOLERANCE, else among the NEAREST) and 16 bars of it from a
    random bar, wrapping round its end."""
    distance = np.array([abs(np.log(loop.take.bpm / qpm)) for loop in loops])
    near = np.flatnonzero(distance <= np.log1p(TEMPO_TOLERANCE))
    if not len(near):
        near = np.argsort(distance)[:NEAREST]
    loop = loops[int(rng.choice(near))]
    bars = len(loop.events) // STEPS_PER_BAR
    start = int(rng.integers(bars)) * STEPS_PER_BAR
    return loop, np.take(loop.events, np.arange(start, start + WINDOW_STEPS), mode="wrap")


# --- the set ------------------------------------------------------------------------------------------------------
@dataclass
class TrioSet:
    """Trio windows of training songs and held-out songs: classes [N, 256] each (melody and bass 0..89, drums
    0..511), int16, row i of the three arrays one window; `info` holds the counts for the card, and `*_sources`
    each window's (song, first step in the song, Groove take id of its drums)."""

    train_melody: np.ndarray
    train_bass: np.ndarray
    train_drums: np.ndarray
    valid_melody: np.ndarray
    valid_bass: np.ndarray
    valid_drums: np.ndarray
    info: dict[str, float] = field(default_factory=dict)
    train_sources: list[tuple[str, int, str]] = field(default_factory=list)
    valid_sources: list[tuple[str, int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:  # the shifts each training window allows (melody and bass move together)
        pitched = np.concatenate([self.train_melody, self.train_bass], axis=1).astype(np.int32)
        notes = pitched >= 2
        low = np.where(notes, pitched, 10**3).min(axis=1, initial=10**3)
        high = np.where(notes, pitched, -1).max(axis=1, initial=-1)
        self._low = np.maximum(MONO_TRANSPOSITIONS[0], 2 - low)
        self._high = np.minimum(MONO_TRANSPOSITIONS[-1], MAX_PITCH - MIN_PITCH + 1 - high)

    def batch(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`size` training windows at random, melody and bass transposed together by one random shift (-5..+6,
        within MIDI 21-108): (melody, bass, drums) classes, int32 [B, 256] each."""
        picks = rng.integers(0, len(self.train_melody), size)
        shift = rng.integers(self._low[picks], self._high[picks] + 1).reshape(-1, 1)
        moved = [np.where(a >= 2, a + shift, a).astype(np.int32)
                 for a in (self.train_melody[picks].astype(np.int32), self.train_bass[picks].astype(np.int32))]
        return moved[0], moved[1], self.train_drums[picks].astype(np.int32)


def trio_set(datasets_dir: Path, hop_bars: int = 1, seed: int = 0, songs: Sequence[str] | None = None) -> TrioSet:
    """Every trio window of POP909 (or of the named song folders) under `datasets_dir`, with its drums."""
    root = datasets_dir / "pop909" / "POP909"
    stats: Counter[str] = Counter()
    meters = song_meters(root)
    takes = read_takes(datasets_dir / "groove", splits=("train", "validation"))
    loops = {split: [x for x in drum_loops(takes, stats) if x.take.split == split] for split in DRUM_SPLIT.values()}
    for split, found in loops.items():
        if not found:
            raise FileNotFoundError(f"no pop-like Groove beat takes of the {split} split under {datasets_dir}")
    rows: dict[bool, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {False: [], True: []}
    sources: dict[bool, list[tuple[str, int, str]]] = {False: [], True: []}
    seen: set[bytes] = set()
    pairs = np.zeros(2, np.int64)
    styles: Counter[str] = Counter()
    used: set[str] = set()
    tempo_off: list[float] = []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and (songs is None or p.name in songs))
    for folder in folders:
        stats["songs"] += 1
        if meters and meters.get(folder.name) != (2, 2):
            stats["songs not in 4/4 by index.csv (dropped)"] += 1
            continue
        try:
            song = read_song(folder, stats)
        except Exception as e:  # one bad file must not stop the build
            stats["unreadable songs (dropped)"] += 1
            log.debug("skipping %s: %s", folder, e)
            continue
        if song is None:
            continue
        held = held_out(song.piece)
        melody_pitch, bass_pitch = sounding(song.melody), sounding(song.bass)
        for start, m, b in song_windows(song, WINDOW_BARS if held else hop_bars, stats):
            key = m.tobytes() + b.tobytes()
            if key in seen:
                stats["repeated (melody, bass) windows (dropped)"] += 1
                continue
            seen.add(key)
            rng = np.random.default_rng([seed, zlib.crc32(song.piece.encode()), start])
            loop, drums = pick_drums(loops[DRUM_SPLIT[held]], song.qpm, rng)
            rows[held].append((m, b, drums))
            sources[held].append((song.piece, start, loop.take.id))
            used.add(song.piece)
            tempo_off.append(abs(loop.take.bpm / song.qpm - 1))
            styles[loop.take.style] += 1
            both = (melody_pitch[start:start + WINDOW_STEPS] >= 0) & (bass_pitch[start:start + WINDOW_STEPS] >= 0)
            pairs += (int(both.sum()), int((bass_pitch[start:start + WINDOW_STEPS] <
                                            melody_pitch[start:start + WINDOW_STEPS])[both].sum()))

    def stack(held: bool, k: int) -> np.ndarray:
        return np.array([r[k] for r in rows[held]], np.int16).reshape(len(rows[held]), WINDOW_STEPS)

    off = np.array(tempo_off) if tempo_off else np.zeros(1)
    info: dict[str, float] = {
        "songs_used": len(used),
        "train_songs": len({p for p in used if not held_out(p)}),
        "held_out_songs": len({p for p in used if held_out(p)}),
        "train_windows": len(rows[False]), "validation_windows": len(rows[True]),
        "groove_train_loops": len(loops["train"]), "groove_validation_loops": len(loops["validation"]),
        "bass_below_melody": round(float(pairs[1] / max(pairs[0], 1)), 4),
        "drum_tempo_median_off": round(float(np.median(off)), 4),
        f"windows with drums more than {TEMPO_TOLERANCE:.0%} off the song's tempo": int((off > TEMPO_TOLERANCE).sum()),
        **{f"windows with {style} drums": n for style, n in sorted(styles.items())},
        **stats,
    }
    return TrioSet(stack(False, 0), stack(False, 1), stack(False, 2), stack(True, 0), stack(True, 1),
                   stack(True, 2), info, sources[False], sources[True])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Build the trio windows (POP909 melody and bass, Groove drums) and "
                                            "print their counts.")
    p.add_argument("--datasets_dir", type=Path, default=Path(__file__).resolve().parents[4] / "shared" / "datasets")
    p.add_argument("--hop_bars", type=int, default=1)
    args = p.parse_args(argv)
    began = time.perf_counter()
    data = trio_set(args.datasets_dir, args.hop_bars)
    took = time.perf_counter() - began
    print(f"trio windows of {WINDOW_BARS} bars: train {data.train_melody.shape}, held out {data.valid_melody.shape}"
          f" (melody, bass and drums alike), built in {took:.1f} s")
    for key, value in data.info.items():
        print(f"  {key}: {value}")
    for source in SOURCES.values():
        print(f"  [{source}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
