"""Polyphony RNN voice leading: chorales in key, without clashes or parallels; Magenta's sampling one flag away."""

from __future__ import annotations

import shutil
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from generation.cli.polyphony_rnn_generate import main
from generation.engine.sampling import SearchSettings
from generation.families.polyphony.encoding import chord_primer_notes, melody_primer_notes
from generation.families.polyphony.generator import PolyphonyGenerator
from generation.music.notes import Note, read_midi_notes
from generation.quality import texture as tx

REPO = Path(__file__).resolve().parents[1]
C_MAJOR = chord_primer_notes([67, 64, 60])
TWINKLE = [60, -2, 60, -2, 67, -2, 67, -2, 69, -2, 69, -2, 67, -2, -2, -2]
PLAIN = SearchSettings()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of the shipped model, so a retraining run cannot change it under the tests."""
    src = REPO / "models" / "polyphony"
    assert (src / "bundle.json").is_file(), f"no shipped polyphony model at {src}"
    dst = tmp_path_factory.mktemp("model") / "polyphony"
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="module")
def generator(model: Path) -> PolyphonyGenerator:
    return PolyphonyGenerator.load(model)


def _padded(pitches: list[int], width: int) -> list[int]:
    return pitches + [-1] * (width - len(pitches))


def test_parallels_are_the_reports_for_chords_of_one_size() -> None:
    """Chord after chord (each a random chord or the last one moved), a step's notes taken highest first: the
    parallels steering sees at each note sum to texture.parallel_perfects' count of the change."""
    import tensorflow as tf

    from generation.families.polyphony.steering import VOICES, parallels

    rng = np.random.default_rng(0)
    refs, aboves, ranks, picks, expected = [], [], [], [], []
    def chord(size: int) -> list[int]:  # chord tones over a random root: 5ths and octaves abound
        root = int(rng.integers(40, 60))
        return sorted({root + int(i) for i in rng.choice([0, 4, 7, 12, 16, 19, 24], size)}, reverse=True)

    for _ in range(400):
        was = chord(int(rng.integers(2, 6)))
        if rng.random() < 0.5:  # a block move, or one voice moved: parallels wherever a pair is perfect
            shift = int(rng.choice([-2, -1, 1, 2]))
            now = [p + shift for p in was] if rng.random() < 0.5 else [was[0] + shift, *was[1:]]
        else:
            now = chord(len(was))
        if len(now) != len(was):
            continue
        expected.append(tx.parallel_perfects([Note(0, 1, p) for p in was] + [Note(1, 2, p) for p in now])[0])
        for rank, pitch in enumerate(now):
            refs.append(_padded(was, VOICES))
            aboves.append(_padded(now[:rank], VOICES))
            ranks.append(rank)
            picks.append((len(expected) - 1, pitch))
    counts = parallels(tf.constant(refs), tf.constant(aboves), tf.constant(ranks)).numpy()
    seen = np.zeros(len(expected))
    for row, (change, pitch) in enumerate(picks):
        seen[change] += counts[row, pitch]
    assert sum(expected) > 100  # the changes do have parallels to find
    np.testing.assert_array_equal(seen, expected)


def test_clashes_and_key() -> None:
    import tensorflow as tf

    from generation.families.polyphony.steering import clashes, key_bias, pitch_classes

    now = np.zeros((1, 128), bool)
    now[0, [72, 67]] = True  # C5 struck in this step, G4 held into it
    struck = np.zeros((1, 128), bool)
    struck[0, 72] = True
    under_new, under_held = (t.numpy()[0] for t in clashes(tf.constant(now), tf.constant(struck)))
    assert under_new[70] == 1 and under_held[70] == 0  # Bb4: a major 2nd under C5
    assert under_held[61] == 1 and under_new[61] == 1  # C#4: a tritone under G4, a major 7th under C5
    assert under_new[64] == under_held[64] == 0  # E4: consonant with both
    history = pitch_classes(tf.constant(now)) + pitch_classes(tf.constant(np.isin(np.arange(128), [60, 64])[None]))
    bias = key_bias(history).numpy()[0]
    assert bias[60] > 1.5 and bias[61] < 0 and bias[67] > bias[66]  # C major: tonic up, C# and F# down
    assert not key_bias(tf.zeros([1, 12])).numpy().any()  # no key yet: no pull


def test_chorales_in_key_without_clashes_or_parallels(generator: PolyphonyGenerator) -> None:
    figures = {}
    for lead in (False, True):
        made = generator.generate(C_MAJOR, 128, condition_on_primer=True, inject_primer=True, num_outputs=40,
                                  search=SearchSettings(), seed=3, voice_leading=lead)
        bad, pairs = np.sum([tx.dissonant_pairs(p) for p in made], axis=0)
        par, changes = np.sum([tx.parallel_perfects(p) for p in made], axis=0)
        figures[lead] = (bad / pairs, 100 * par / changes, np.mean([tx.same_key_halves(p, 64) for p in made]))
        for notes in made:  # the primer chord is kept
            assert all(any(n.pitch == c.pitch and n.start == 0 and n.end >= 4 for n in notes) for c in C_MAJOR)
    # Measured (n=100, seeds 1-3, 7, 2024): off 0.21 / 5.8-6.1 / 0.08-0.10; on 0.079-0.088 / 0.5-0.7 /
    # 0.72-0.84; JSB 0.093 / 0.68 / 0.55.
    assert figures[False][0] > 0.17 and figures[False][1] > 4 and figures[False][2] < 0.3, figures
    assert figures[True][0] <= 0.121 and figures[True][1] <= 3 and figures[True][2] >= 0.55, figures


def test_seeds_beams_and_an_injected_melody_hold(generator: PolyphonyGenerator) -> None:
    melody = melody_primer_notes(TWINKLE)

    def run(outputs: int, seed: int, search: SearchSettings = PLAIN) -> list[list[Note]]:
        return generator.generate(melody, 32, condition_on_primer=False, inject_primer=True, num_outputs=outputs,
                                  search=search, seed=seed)

    first = run(2, 5)
    assert run(2, 5) == first and run(2, 6) != first
    beams = run(2, 1, SearchSettings(beam_size=2, branch_factor=2, steps_per_iteration=8))
    for notes in [*first, *beams]:
        for m in melody:  # note for note, and the top voice
            assert any(n.pitch == m.pitch and n.start == m.start and n.end >= m.end for n in notes), m
            assert all(n.pitch <= m.pitch for n in notes if n.start <= m.start < n.end)
        assert max(n.end for n in notes) <= 32


def test_cli_flag_brings_back_magentas_sampling(tmp_path: Path, model: Path, generator: PolyphonyGenerator,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    def plain(notes: list[Note]) -> list[tuple[int, int, int]]:
        return sorted((n.start, n.end, n.pitch) for n in notes)

    flags = ["--num_outputs=1", "--num_steps=32", "--primer_pitches=[67,64,60]", "--condition_on_primer", "--seed=3",
             f"--bundle_file={model}"]
    for flag, lead in (("--no_voice_leading", False), ("--novoice_leading", False), ("--voice_leading=false", False),
                       ("--no-voice_leading", False), ("--voice_leading", True), ("", True)):
        out = tmp_path / (flag.strip("-").replace("=", "_") or "default")
        assert main([*flags, f"--output_dir={out}", *([flag] if flag else [])]) == 0
        (midi,) = out.glob("*.mid")
        notes, _ = read_midi_notes(midi, 4, 100)
        made = generator.generate(C_MAJOR, 32, condition_on_primer=True, inject_primer=True, num_outputs=1,
                                  search=SearchSettings(), seed=3, voice_leading=lead)[0]
        assert plain(notes) == plain(made), flag
    with pytest.raises(SystemExit) as e:
        main(["--voice_leading=maybe"])
    assert e.value.code == 2 and "true or false" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--no_voice_leading" in help_text and "exactly as Magenta does" in help_text


def test_steps_are_pairwise_distinct_chords(generator: PolyphonyGenerator) -> None:
    """Voice leading does not freeze the music: chords still change (JSB: a change every 2-3 16ths)."""
    made = generator.generate(C_MAJOR, 128, condition_on_primer=True, inject_primer=True, num_outputs=5,
                              search=SearchSettings(), seed=11)
    for notes in made:
        chords = [c for c in tx.onset_chords(notes) if c]
        assert sum(a != b for a, b in pairwise(chords)) >= 20
