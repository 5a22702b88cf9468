"""The shared sampling driver (generation/engine/sampling.py) on a tiny step we can reason about: seeds, Magenta's
beam-search iterations, and that a beam's winner is its most likely row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from generation.engine.sampling import SearchSettings, Stepper, sample
from generation.engine.tf_runtime import tf

# A Markov chain over 4 classes: row = last class.
CHAIN = np.log(np.array([[0.1, 0.6, 0.2, 0.1],
                         [0.3, 0.1, 0.5, 0.1],
                         [0.25, 0.25, 0.25, 0.25],
                         [0.7, 0.1, 0.1, 0.1]], np.float32))


class Chain(Stepper):
    """Emits the drawn class; forced[s] >= 0 overrides the draw (and is scored)."""

    def __init__(self) -> None:
        super().__init__(name="chain")
        self.table = tf.constant(CHAIN)

    def log_probs(self, carry: Any, inputs: Any, s: tf.Tensor, temperature: tf.Tensor) -> tuple[tf.Tensor, Any]:
        return tf.nn.log_softmax(tf.gather(self.table, carry) / temperature), None

    def take(self, carry: Any, pending: Any, inputs: Any, s: tf.Tensor, drawn: tf.Tensor,
             log_probs: tf.Tensor) -> tuple[Any, tf.Tensor, tf.Tensor]:
        take = tf.where(inputs[s] >= 0, tf.zeros_like(drawn) + inputs[s], drawn)
        return take, take, tf.gather(log_probs, take, batch_dims=1)


class Iteration(Chain):
    """Emits the search iteration each step was made in (the driver asks for the iteration's seed)."""

    def step(self, carry: Any, inputs: Any, s: tf.Tensor, seed: tf.Tensor, temperature: tf.Tensor) -> tuple:
        return carry, tf.zeros_like(carry) + seed[0], tf.zeros([tf.shape(carry)[0]])

    def iteration_seed(self, seeds: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
        return tf.stack([k, 0])


def run(stepper: Stepper, outputs: int, forced: list[int], settings: SearchSettings, seed: int
        ) -> tuple[np.ndarray, np.ndarray]:
    primer = next((i for i, f in enumerate(forced) if f < 0), len(forced))
    return sample(stepper, tf.zeros([outputs], tf.int32), tf.constant(forced, tf.int32), steps=len(forced),
                  primer_steps=primer, settings=settings, seed=seed)


def chain_log_prob(row: np.ndarray) -> float:
    return float(sum(CHAIN[a, b] for a, b in zip([0, *row[:-1]], row, strict=True)))


@pytest.mark.parametrize("settings", [SearchSettings(), SearchSettings(beam_size=3, branch_factor=2,
                                                                          steps_per_iteration=3)])
def test_same_seed_same_rows_and_more_outputs_keep_the_first(settings: SearchSettings) -> None:
    stepper = Chain()
    forced = [1, 2, *[-1] * 20]
    rows, _ = run(stepper, 4, forced, settings, seed=3)
    assert (rows == run(stepper, 4, forced, settings, seed=3)[0]).all()
    assert not (rows == run(stepper, 4, forced, settings, seed=4)[0]).all()
    assert (rows[:, :2] == [1, 2]).all()
    # Output 0's draws depend on its place, not on how many outputs were asked for.
    assert (run(stepper, 1, forced, settings, seed=3)[0][0] == rows[0]).all()


def test_the_log_probability_returned_is_the_rows_own() -> None:
    rows, logp = run(Chain(), 3, [1, *[-1] * 15], SearchSettings(beam_size=2, branch_factor=3), seed=1)
    for row, lp in zip(rows, logp, strict=True):
        assert lp == pytest.approx(chain_log_prob(row), abs=1e-4)


def test_beam_search_prefers_likely_rows() -> None:
    """Over 40 seeds, beam 4 x branch 4 finds rows far more likely than plain sampling draws."""
    stepper = Chain()
    forced = [-1] * 12
    plain = [run(stepper, 1, forced, SearchSettings(), seed)[1][0] for seed in range(40)]
    beam = [run(stepper, 1, forced, SearchSettings(beam_size=4, branch_factor=4), seed)[1][0] for seed in range(40)]
    assert np.mean(beam) > np.mean(plain) + 2.0


@pytest.mark.parametrize("primer,steps,spi,expected", [
    (3, 13, 4, [0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]),  # Magenta: the first iteration takes (10 - 1) % 4 + 1
    (0, 8, 4, [1, 1, 1, 1, 2, 2, 2, 2]),
    (2, 5, 1, [0, 0, 1, 2, 3]),
])
def test_iterations_are_magentas(primer: int, steps: int, spi: int, expected: list[int]) -> None:
    """The primer is fed in iteration 0 (no branching); then iterations of steps_per_iteration steps, the
    first one shorter when the free steps do not divide evenly (Magenta's beam_search)."""
    forced = [1] * primer + [-1] * (steps - primer)
    rows, _ = run(Iteration(), 2, forced, SearchSettings(beam_size=2, branch_factor=2, steps_per_iteration=spi), 0)
    assert rows.tolist() == [expected, expected]
    plain, _ = run(Iteration(), 2, forced, SearchSettings(steps_per_iteration=spi), 0)
    assert plain.tolist() == [[0] * steps] * 2  # plain sampling: one iteration
