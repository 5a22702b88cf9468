"""Official Magenta Performance RNN bundles (.mag) load and compute Magenta's own numbers (golden fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from generation.engine.sampling import SearchSettings
from generation.families.performance.config import CONFIGS
from generation.families.performance.encoding import NOTE_OFF0, SHIFT0, VELOCITY0, control_vector, event_input_table
from generation.families.performance.generator import PerformanceGenerator

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "magenta"
OFFSETS = {"NOTE_ON": 0, "NOTE_OFF": NOTE_OFF0, "TIME_SHIFT": SHIFT0 - 1, "VELOCITY": VELOCITY0 - 1}


def _golden(name: str) -> dict:
    path = FIXTURES / f"{name}.golden.json"
    if not path.is_file():
        pytest.skip(f"no Magenta fixture {path}")
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", list(CONFIGS))
def test_mag_bundle_reproduces_magentas_logits(name: str) -> None:
    golden = _golden(name)
    gen = PerformanceGenerator.load(name, FIXTURES / f"{name}.mag")
    cfg = gen.config
    classes = np.array([OFFSETS[kind] + value for kind, value in golden["events"]])
    assert classes[1:].tolist() == golden["labels"]
    # Our inputs, built from the events and the control values, are Magenta's inputs.
    values = dict(zip(golden.get("control_signals", []), golden.get("control_values", []), strict=True))
    control = control_vector(cfg, values.get("notes_per_second", 0.0), values.get("pitch_class_histogram",
                                                                                  [1.0] * 12))
    ours = np.concatenate([np.tile(control, (len(classes) - 1, 1)), event_input_table(cfg)[classes[:-1]]], axis=1)
    theirs = np.zeros((len(classes) - 1, golden["input_size"]), np.float32)
    for t, row in enumerate(golden["inputs_sparse"]):
        for index, value in row:
            theirs[t, index] = value
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    logits = gen.model.sequence_logits(tf.constant(ours[None]))[0].numpy()
    first = np.array(golden["logits_first_steps"])
    np.testing.assert_allclose(logits[: len(first)], first, rtol=1e-4, atol=1e-5)
    logp = tf.nn.log_softmax(logits).numpy()[np.arange(len(classes) - 1), classes[1:]]
    assert float(logp.sum()) == pytest.approx(golden["total_log_likelihood"], rel=1e-5)


def test_mag_bundle_generates() -> None:
    _golden("multiconditioned_performance_with_dynamics")
    gen = PerformanceGenerator.load("performance", FIXTURES / "multiconditioned_performance_with_dynamics.mag")
    assert gen.config.name == "multiconditioned_performance_with_dynamics"  # the bundle decides
    out = gen.generate_notes([], 300, num_outputs=2, search=SearchSettings(), seed=1, notes_per_second=4.0)
    assert len(out) == 2 and all(n.end <= 300 for notes in out for n in notes)
