"""EventRnn.fold_one_hot: a one-hot input fed as a table row (and, with attention, the wrapper's input projection
folded into the first LSTM) computes the same step as the plain matmul, to float rounding, and a real Magenta
drum_kit.mag scored through it still gives Magenta's golden total."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "magenta"


@pytest.mark.parametrize("attn_length", [0, 8])
def test_folded_step_is_the_plain_step(attn_length: int) -> None:
    """Ten steps of random classes from the same state: logits and every state tensor agree to 1e-5 (random
    weights and biases, 6 dense columns beside a 64-way one-hot, two layers)."""
    import tensorflow as tf

    from generation.engine.rnn import EventRnn, weight_shapes

    dense, classes, sizes = 6, 64, (32, 24)
    rng = np.random.default_rng(attn_length)
    weights = {name: rng.normal(0, 0.3, shape).astype(np.float32)
               for name, shape in weight_shapes(dense + classes, 40, sizes, attn_length).items()}
    net = EventRnn(dense + classes, 40, sizes, attn_length, weights=weights)
    fold = net.fold_one_hot(dense)
    plain = folded = net.zero_state(3)
    for _ in range(10):
        controls = tf.constant(rng.choice([-1.0, 1.0], (3, dense)).astype(np.float32))
        last = tf.constant(rng.integers(0, classes, 3).astype(np.int32))
        want, plain = net.step(tf.concat([controls, tf.one_hot(last, classes)], 1), plain)
        got, folded = net.step_one_hot(fold, controls, last, folded)
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5, rtol=0)
        for a, b in zip(tf.nest.flatten(folded), tf.nest.flatten(plain), strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5, rtol=0)
    assert np.abs(want.numpy()).max() > 0.1  # the comparison is not between zeros


def test_folded_drum_kit_mag_scores_the_golden_track_as_magenta() -> None:
    """Magenta's drum_kit.mag (attention 32) through a folding stepper: the golden track's total to 1e-3."""
    from generation.engine.sampling import OneHotStepper
    from generation.families.drums.generator import DrumsGenerator

    golden = json.loads((FIXTURES / "drum_kit.golden.json").read_text())
    generator = DrumsGenerator.load(FIXTURES / "drum_kit.mag")
    generator.stepper = OneHotStepper(generator.model, generator.config.num_classes, fold=True)
    track = [frozenset(step) for step in golden["events"]]
    assert generator.log_likelihood(track) == pytest.approx(golden["total_log_likelihood"], abs=1e-3)
