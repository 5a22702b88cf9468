"""PolyphonyGenerator as the bot calls it: exact lengths, primer semantics, seeds, beam search, errors, .mag."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from generation.engine.sampling import SearchSettings
from generation.errors import InputError
from generation.families.polyphony.encoding import (
    NUM_CLASSES,
    chord_primer_notes,
    continued_note,
    melody_primer_notes,
    new_note,
)
from generation.families.polyphony.generator import PolyphonyGenerator
from generation.music.notes import Note, pianoroll_of

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "magenta"
TWINKLE = [60, -2, 60, -2, 67, -2, 67, -2, 69, -2, 69, -2, 67, -2, -2, -2]
PLAIN = SearchSettings()


@pytest.fixture(scope="module")
def generator(tmp_path_factory: pytest.TempPathFactory) -> PolyphonyGenerator:
    """Our shipped model (a snapshot, so a retraining run cannot change it under the tests)."""
    src = REPO / "models" / "polyphony"
    assert (src / "bundle.json").is_file(), f"no shipped polyphony model at {src}"
    dst = tmp_path_factory.mktemp("model") / "polyphony"
    shutil.copytree(src, dst)
    return PolyphonyGenerator.load(dst)


def run(g: PolyphonyGenerator, primer: list[Note], steps: int, cond: bool, inject: bool, outputs: int = 2,
        seed: int = 1, search: SearchSettings = PLAIN) -> list[list[Note]]:
    return g.generate(primer, steps, condition_on_primer=cond, inject_primer=inject, num_outputs=outputs,
                      search=search, seed=seed)


@pytest.mark.parametrize("cond, inject", [(False, True), (True, True), (True, False), (False, False)])
def test_every_output_lasts_exactly_num_steps(generator: PolyphonyGenerator, cond: bool, inject: bool) -> None:
    pieces = run(generator, chord_primer_notes([67, 64, 60]), 24, cond, inject, outputs=3)
    assert len(pieces) == 3
    for notes in pieces:
        assert notes and all(0 <= n.start < n.end <= 24 for n in notes)
        assert max(len(f) for f in pianoroll_of(notes, 24)) > 1  # polyphony: several notes at once


def test_chord_primer_injected_or_not(generator: PolyphonyGenerator) -> None:
    chord = chord_primer_notes([67, 64, 60])
    for notes in run(generator, chord, 16, cond=False, inject=True):
        assert all(n in notes or any(m.pitch == n.pitch and m.start == 0 and m.end >= 4 for m in notes)
                   for n in chord)
    for notes in run(generator, chord, 16, cond=True, inject=False):
        assert not all(Note(0, 4, p) in notes for p in (60, 64, 67))


def test_injected_melody_is_the_top_voice_note_for_note(generator: PolyphonyGenerator) -> None:
    melody = melody_primer_notes(TWINKLE)
    for notes in run(generator, melody, 32, cond=False, inject=True, outputs=3):
        roll = pianoroll_of(notes, 32)
        for m in melody:
            assert any(n.pitch == m.pitch and n.start == m.start for n in notes), m
            for t in range(m.start, m.end):
                assert m.pitch in roll[t] and max(roll[t]) == m.pitch, (t, sorted(roll[t]))
        assert any(len(roll[t]) >= 3 for t in range(16)), "harmony is added under the melody"


def test_same_seed_same_notes_other_seed_other_notes(generator: PolyphonyGenerator) -> None:
    melody = melody_primer_notes(TWINKLE)
    first = run(generator, melody, 32, cond=False, inject=True, seed=5)
    assert run(generator, melody, 32, cond=False, inject=True, seed=5) == first
    assert run(generator, melody, 32, cond=False, inject=True, seed=6) != first
    assert first[0] != first[1]  # the outputs of one call differ from each other


def test_beam_search(generator: PolyphonyGenerator) -> None:
    search = SearchSettings(temperature=1.0, beam_size=2, branch_factor=2, steps_per_iteration=8)
    pieces = run(generator, chord_primer_notes([67, 64, 60]), 16, cond=False, inject=True, search=search)
    assert len(pieces) == 2
    for notes in pieces:
        assert all(Note(0, 4, p) in notes or any(m.pitch == p and m.start == 0 for m in notes) for p in (60, 64, 67))
        assert max(n.end for n in notes) <= 16


@pytest.mark.parametrize("steps, primer, message", [
    (0, [], "num_steps=0 is out of range; allowed: 1 to 2048"),
    (5000, [], "num_steps=5000 is out of range"),
    (8, melody_primer_notes(TWINKLE), "the primer lasts 16 steps but num_steps is 8"),
    (16, [Note(3, 2, 60)], "is not a note"),
])
def test_bad_requests_name_what_is_wrong(generator: PolyphonyGenerator, steps: int, primer: list[Note],
                                         message: str) -> None:
    with pytest.raises(InputError, match=message):
        run(generator, primer, steps, cond=False, inject=True)


def test_magenta_bundle_reproduces_magentas_logits() -> None:
    """Magenta's own polyphony .mag, run by our network, gives the golden logits and log-likelihood."""
    g = PolyphonyGenerator.load(FIXTURES / "polyphony.mag")
    gold = json.loads((FIXTURES / "polyphony.golden.json").read_text())
    kinds = {"START": 0, "END": 1, "STEP_END": 2}
    events = [kinds[t] if t in kinds else (new_note(p) if t == "NEW_NOTE" else continued_note(p))
              for t, p in gold["events"]]
    logits = g.model.sequence_logits(tf.one_hot(events[:-1], NUM_CLASSES)[None])[0].numpy()
    np.testing.assert_allclose(logits[:32], gold["logits_first_steps"], atol=1e-5)
    logp = tf.nn.log_softmax(logits).numpy()
    assert abs(logp[np.arange(len(events) - 1), events[1:]].sum() - gold["total_log_likelihood"]) < 1e-3
    assert len(run(g, chord_primer_notes([60]), 8, cond=False, inject=True, outputs=1)) == 1


def test_other_magenta_bundles_are_refused() -> None:
    with pytest.raises(InputError, match="basic_improv bundle; this command runs polyphony"):
        PolyphonyGenerator.load(FIXTURES / "basic_improv.mag")
