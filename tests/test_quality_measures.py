"""Texture measures on hand-made notes whose answers are known, and one small run of the quality report."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from generation.music.chords import parse_chord
from generation.music.notes import Note
from generation.quality import texture as tx
from generation.quality.report import mean_stat, ratio_stat

ROOT = Path(__file__).resolve().parents[1]


def line(pitches: list[int], length: int = 4) -> list[Note]:
    return [Note(i * length, (i + 1) * length, p) for i, p in enumerate(pitches)]


def chords(*voicings: tuple[int, ...], length: int = 4) -> list[Note]:
    return [Note(i * length, (i + 1) * length, p) for i, v in enumerate(voicings) for p in v]


def test_c_major_scale_is_clearly_c_major() -> None:
    key = tx.estimate_key(line([60, 62, 64, 65, 67, 69, 71, 72]))
    assert (key.tonic, key.minor, str(key)) == (0, False, "C major")
    assert key.clarity > 0.85


def test_a_minor_melody_is_a_minor() -> None:
    key = tx.estimate_key(line([69, 72, 76, 74, 72, 71, 69, 68, 69], 4) + [Note(36, 48, 57)])
    assert str(key) == "A minor"


def test_chromatic_clusters_have_low_clarity() -> None:
    assert tx.estimate_key([Note(0, 4, p) for p in range(60, 72)]).clarity == 0.0  # every class alike: no key
    assert tx.estimate_key([Note(0, 4, p) for p in range(60, 67)]).clarity < 0.3
    assert tx.estimate_key([]).clarity == 0.0


def test_three_notes_together_give_three() -> None:
    assert tx.simultaneous_notes([Note(0, 10, 60), Note(0, 10, 64), Note(0, 10, 67)]) == 3.0
    # Silence between does not count; a held note under a moving line does.
    assert tx.simultaneous_notes([Note(0, 4, 60), Note(8, 12, 62)]) == 1.0
    assert tx.simultaneous_notes([Note(0, 8, 48), Note(0, 4, 60), Note(4, 8, 62)]) == 2.0
    assert math.isnan(tx.simultaneous_notes([]))


def test_a_six_second_note_is_long() -> None:
    longest, share = tx.note_lengths([Note(0, 600, 60), Note(0, 100, 64), Note(100, 400, 67)], 0.01)
    assert longest == pytest.approx(6.0)
    assert share == pytest.approx(1 / 3)
    assert tx.note_lengths([Note(0, 500, 60)], 0.01)[1] == 0.0  # exactly 5 s is not longer than 5 s


def test_parallel_fifths_counted_contrary_motion_not() -> None:
    assert tx.parallel_perfects(chords((60, 67), (62, 69))) == (1, 1)  # C-G -> D-A
    assert tx.parallel_perfects(chords((60, 72), (57, 69))) == (1, 1)  # octaves down
    assert tx.parallel_perfects(chords((48, 67), (50, 69))) == (1, 1)  # a compound 5th
    assert tx.parallel_perfects(chords((60, 67), (58, 69))) == (0, 1)  # contrary motion
    assert tx.parallel_perfects(chords((60, 67), (60, 69))) == (0, 1)  # oblique: the lower voice stays
    assert tx.parallel_perfects(chords((60, 64), (62, 66))) == (0, 1)  # parallel 3rds are fine
    # Four voices, bass and tenor in 5ths: one pair of the six; a repeated chord is no change.
    assert tx.parallel_perfects(chords((48, 55, 64, 72), (48, 55, 64, 72), (50, 57, 65, 71))) == (1, 1)
    # Different sizes: only the outer voices are compared (C..G5 -> D..A5).
    assert tx.parallel_perfects(chords((48, 64, 67), (50, 65, 69, 71))) == (0, 1)
    assert tx.parallel_perfects(chords((48, 64, 67), (50, 66, 74, 69))) == (0, 1)
    assert tx.parallel_perfects(chords((48, 64, 79), (50, 60, 65, 81))) == (1, 1)


def test_dissonant_pairs_at_onsets() -> None:
    assert tx.dissonant_pairs(chords((60, 62, 67))) == (1, 3)  # C-D is a 2nd; C-G and D-G are not
    assert tx.dissonant_pairs(chords((60, 64, 67), (59, 62, 65))) == (1, 6)  # B-F tritone; the 3rds are fine
    assert tx.dissonant_pairs(chords((48, 71))) == (1, 1)  # a compound major 7th
    assert tx.dissonant_pairs(line([60, 62, 64])) == (0, 0)  # a melody has no pairs


def test_same_key_in_both_halves() -> None:
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    assert tx.same_key_halves(line(scale) + [Note(32 + n.start, 32 + n.end, n.pitch) for n in line(scale)], 32)
    f_sharp = line([p + 6 for p in scale])
    assert not tx.same_key_halves(line(scale) + [Note(32 + n.start, 32 + n.end, n.pitch) for n in f_sharp], 32)


def test_notes_per_bar() -> None:
    assert tx.notes_per_bar(line([60] * 12), 2) == 6.0


def test_pedal_holds_a_released_note_until_it_goes_up() -> None:
    notes = [Note(0, 50, 60), Note(300, 350, 64), Note(400, 430, 67), Note(440, 450, 72)]
    pedal = [(20, 127), (200, 0), (420, 100)]
    held = tx.apply_sustain(notes, pedal)
    assert held[0] == Note(0, 200, 60)  # released at 50 under the pedal: sounds until it goes up at 200
    assert held[1] == Note(300, 350, 64)  # released with the pedal up
    assert held[2] == Note(400, 450, 67)  # pedal down at the end, never released: held to the last note's end
    assert held[3] == Note(440, 450, 72)
    # Struck again under the pedal: the first note stops where the key is struck again.
    again = tx.apply_sustain([Note(0, 10, 60), Note(100, 110, 60)], [(5, 127), (300, 0)])
    assert again == [Note(0, 100, 60), Note(100, 300, 60)]
    assert tx.apply_sustain(notes, [(20, 30), (200, 0)]) == notes  # CC64 below 64 is not down


def test_harmony_against_chord_symbols() -> None:
    steps = [parse_chord("C")] * 16 + [parse_chord("G7/B")] * 16
    harmony = [Note(0, 16, 48), Note(0, 16, 64), Note(0, 8, 62),  # C, E, D under C: 2 of 3 belong
               Note(16, 32, 47), Note(16, 32, 65), Note(16, 32, 61)]  # B (slash bass), F (7th), C# under G7/B
    assert tx.chord_tone_notes(harmony, steps) == (4, 6)
    # Beats 0 and 8: bass C on the C root; beats 16 and 24: B, the slash bass of G7/B.
    assert tx.bass_on_chord(harmony, steps, [0, 8, 16, 24]) == (4, 4, 4)
    low_e = [Note(0, 32, 40)]  # E under both chords: a chord tone of C, not of G7/B; never a root
    assert tx.bass_on_chord(low_e, steps, [0, 16]) == (0, 1, 2)
    key = tx.estimate_key(line([60, 62, 64, 65, 67, 69, 71, 72]))
    c_chords, f_sharp_chords = chords((48, 64, 67), (43, 59, 65)), chords((54, 58, 61), (49, 65, 68))
    assert tx.harmony_in_key(key, c_chords + [Note(n.start + 8, n.end + 8, n.pitch) for n in f_sharp_chords],
                             8, 16) == 0.5


def test_statistics() -> None:
    s = mean_stat([1.0, 2.0, 3.0, float("nan")])
    assert (s.mean, s.n) == (2.0, 3) and s.se == pytest.approx(1 / math.sqrt(3))
    assert mean_stat([1.0, 3.0, 5.0], clusters=["a", "a", "b"]).mean == 3.5  # clusters averaged first
    r = ratio_stat([(1, 4), (3, 4), (0, 0)], scale=100)
    assert (r.mean, r.n) == (50.0, 2) and r.se > 0


def test_report_prints_ours_beside_human() -> None:
    run = subprocess.run([sys.executable, "-m", "generation.quality.report", "--samples", "2", "--only", "polyphony"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert "## polyphony" in out and "ours (mean ± se, n)" in out and "human (mean ± se, n)" in out
    rows = [r for r in out.splitlines() if r.startswith("| parallel 5ths")]
    assert len(rows) == 1
    ours, human = rows[0].split("|")[2:4]
    assert "(n=2)" in ours and "±" in ours
    assert "(n=77)" in human and "±" in human  # every JSB test chorale
