"""The one training loop, as a person training a model notices it: every family's `*_train` command trains through
it and writes a bundle that loads and a card; a time limit or an interrupt still ends in a bundle and card; a
start bundle is carried on; the best validation weights are the ones kept; the same seed gives the same weights.

The smoke runs train tiny networks for 20 steps on a few real pieces of each dataset (tests/training_data.py),
in this process so TensorFlow loads once.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import training_data

from generation.cli import (
    improv_rnn_train,
    performance_rnn_train,
    pianoroll_rnn_nade_train,
    polyphony_rnn_train,
)
from generation.engine.bundle import Bundle

REPO = Path(__file__).resolve().parents[1]
SMOKE = ["--num_training_steps=20", "--eval_every=10"]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return training_data.build(tmp_path_factory.mktemp("datasets"))


def _commands(data: Path, cache: Path) -> dict[str, tuple[Any, list[str]]]:
    return {
        "basic_improv": (improv_rnn_train, ["--config=basic_improv", f"--datasets_dir={data}", "--layer_sizes=16",
                                            "--batch_size=8", "--eval_outputs=1", "--quality_samples=2"]),
        "polyphony": (polyphony_rnn_train, [f"--data={data / 'jsb_chorales/Jsb16thSeparated.json'}",
                                            "--layer_sizes=16", "--batch_size=4", "--card_outputs=2",
                                            f"--datasets_dir={data}", "--quality_samples=2"]),
        "rnn-nade-bach": (pianoroll_rnn_nade_train, ["--config=rnn-nade-bach", f"--datasets_dir={data}",
                                                     "--layer_sizes=16", "--nade_hidden=8", "--batch_size=4",
                                                     "--quality_samples=2"]),
        "performance": (performance_rnn_train, ["--config=performance", f"--datasets_dir={data}", f"--cache={cache}",
                                                "--layer_sizes=16", "--window=50", "--batch_size=4",
                                                "--eval_outputs=1", "--quality_outputs=2"]),
    }


def _load(folder: Path) -> Any:
    """The bundle through its family's own generator, as the worker loads it."""
    from generation.families.improv.generator import ImprovGenerator
    from generation.families.performance.generator import PerformanceGenerator
    from generation.families.pianoroll.generator import PianorollGenerator
    from generation.families.polyphony.generator import PolyphonyGenerator

    bundle = Bundle.load(folder)
    cls = {"improv": ImprovGenerator, "polyphony": PolyphonyGenerator, "pianoroll": PianorollGenerator,
           "performance": PerformanceGenerator}[bundle.family]
    return cls(bundle)


def _card_sections(folder: Path) -> list[str]:
    return re.findall(r"^## (.+)$", (folder / "MODEL_CARD.md").read_text(), re.M)


@pytest.mark.parametrize("config", ["basic_improv", "polyphony", "rnn-nade-bach", "performance"])
def test_each_trainer_trains_through_the_shared_loop_and_writes_bundle_and_card(
        config: str, datasets: Path, tmp_path: Path) -> None:
    module, flags = _commands(datasets, tmp_path / "asap.npz")[config]
    out = tmp_path / config
    assert module.main([*flags, *SMOKE, f"--output_dir={out}"]) == 0
    info = json.loads((out / "bundle.json").read_text())["info"]
    training = info["training"]
    assert training["finished"] and training["stopped"] == "steps" and training["steps_run"] == 20
    assert [h["step"] for h in training["history"]] == [10, 20]
    first, last = training["history"]
    assert last["valid_nll"] < first["valid_nll"], "20 steps of Adam should already lower the held-out NLL"
    assert last["learning_rate"] < first["learning_rate"]  # the cosine schedule decays
    assert training["best_step"] == 20
    _load(out)
    assert _card_sections(out) == ["Model", "Data", "Training", "Validation of the shipped weights",
                                   *[s for s in _card_sections(out) if s.startswith("Quality beside human")],
                                   "Limits"]
    card = (out / "MODEL_CARD.md").read_text()
    assert "Licence:" in card and "Adam (Keras)" in card and "| 20 |" in card
    assert any(s.startswith("Quality beside human") for s in _card_sections(out))
    # The config's rows of the quality report, on the card beside the human figures, and how it is steered.
    rows = info["quality_rows"]
    assert rows and all(r["ours"]["n"] > 0 for r in rows)
    assert "How generation is steered:" in card and f"| {rows[0]['figure']} | " in card


def test_card_only_rescores_and_rewrites_the_card_but_not_the_weights(datasets: Path, tmp_path: Path) -> None:
    module, flags = _commands(datasets, tmp_path / "asap.npz")["basic_improv"]
    out = tmp_path / "improv"
    assert module.main([*flags, *SMOKE, f"--output_dir={out}"]) == 0
    weights = out / "weights.npz"
    before, stamp = weights.read_bytes(), weights.stat().st_mtime_ns
    info = json.loads((out / "bundle.json").read_text())["info"]
    (out / "MODEL_CARD.md").unlink()
    assert module.main([*flags, "--card_only", f"--output_dir={out}"]) == 0
    assert weights.read_bytes() == before and weights.stat().st_mtime_ns == stamp
    after = json.loads((out / "bundle.json").read_text())["info"]
    assert after["training"] == info["training"]  # the run's record is kept, not re-run
    assert after["stored_weights_validation"]["nll"] == pytest.approx(info["stored_weights_validation"]["nll"])
    card = (out / "MODEL_CARD.md").read_text()
    assert "| 20 |" in card and "notes per bar [basic_improv" in card


def test_a_run_stopped_by_max_minutes_writes_a_bundle_that_loads_and_a_card(datasets: Path, tmp_path: Path) -> None:
    """6 seconds of a planned 100,000 steps: the run stops itself, validates, keeps the best and writes."""
    out = tmp_path / "polyphony"
    module, flags = _commands(datasets, tmp_path / "asap.npz")["polyphony"]
    assert module.main([*flags, "--num_training_steps=100000", "--eval_every=1000", "--max_minutes=0.1",
                        f"--output_dir={out}"]) == 0
    training = json.loads((out / "bundle.json").read_text())["info"]["training"]
    assert training["stopped"] == "time limit" and training["finished"]
    assert 0 < training["steps_run"] < 100000 and training["history"][-1]["step"] == training["steps_run"]
    assert training["history"][-1]["learning_rate"] < 0.5 * training["learning_rate"]  # decayed by the clock
    _load(out)
    assert "stopped by: time limit" in (out / "MODEL_CARD.md").read_text()


def test_init_from_carries_on_and_the_card_shows_both_runs(datasets: Path, tmp_path: Path) -> None:
    module, flags = _commands(datasets, tmp_path / "asap.npz")["rnn-nade-bach"]
    first, second = tmp_path / "first", tmp_path / "second"
    assert module.main([*flags, *SMOKE, f"--output_dir={first}"]) == 0
    assert module.main([*flags, *SMOKE, f"--output_dir={second}", f"--init_from={first}"]) == 0
    before = json.loads((first / "bundle.json").read_text())["info"]["training"]
    after = json.loads((second / "bundle.json").read_text())["info"]["training"]
    start = after["history"][0]
    assert start["step"] == 0  # the starting weights are scored before training
    assert start["valid_nll"] == pytest.approx(before["history"][-1]["valid_nll"], rel=1e-3)  # float16 stored
    assert after["history"][-1]["valid_nll"] <= start["valid_nll"]
    assert after["initialised_from"]["bundle"] == str(first)
    assert f"Started from `{first}`" in (second / "MODEL_CARD.md").read_text()


def test_a_missing_dataset_fails_with_a_message(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no nottingham lead sheets under"):
        improv_rnn_train.main(["--config=basic_improv", f"--datasets_dir={tmp_path}", *SMOKE,
                               f"--output_dir={tmp_path / 'out'}"])
    with pytest.raises(SystemExit, match="no JSB chorales at"):
        polyphony_rnn_train.main([f"--data={tmp_path / 'none.json'}", *SMOKE])
    assert not (tmp_path / "out").exists()


def test_no_trainer_uses_tf1_optimizers() -> None:
    """Old tf.compat.v1 optimizers are gone: every trainer steps through engine/training.py's Keras Adam."""
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "generation").rglob("*.py")
                 if "compat.v1" in p.read_text() or "AdamOptimizer" in p.read_text()]
    assert offenders == []


# --- the loop itself, on a toy task --------------------------------------------------------------------------------
def _toy_task(scores: list[float] | None = None) -> tuple[Any, Any]:
    """Fit y = 3x with one weight; validation returns `scores` in turn when given (to steer best-keeping)."""
    from generation.engine.tf_runtime import tf
    from generation.engine.training import Task

    w = tf.Variable(np.zeros((1, 1), np.float32))
    xs = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
    calls = iter(scores or [])

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = xs[rng.integers(0, len(xs), 8)]
        return x, 3 * x

    def loss(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean((tf.matmul(x, w) - y) ** 2)

    def validate() -> dict[str, float]:
        real = float(np.mean((xs @ w.numpy() - 3 * xs) ** 2))
        return {"valid_nll": next(calls, real)}

    return Task({"w": w}, batch, loss, validate), w


def test_the_weights_kept_are_those_of_the_best_validation() -> None:
    from generation.engine.training import LoopSettings, fit

    seen: list[float] = []

    def checkpoint(weights: dict[str, np.ndarray], history: list[dict[str, float]], best: int) -> None:
        seen.append(float(weights["w"][0, 0]))

    task, w = _toy_task(scores=[5.0, 1.0, 3.0, 4.0])
    result = fit(task, LoopSettings(steps=40, learning_rate=0.05, final_learning_rate=0.05, eval_every=10),
                 on_checkpoint=checkpoint)
    assert result.best_step == 20 and result.stopped == "steps"
    assert seen[1] == seen[2] == seen[3] == float(result.weights["w"][0, 0])  # best kept, written each time
    assert float(w.numpy()[0, 0]) == float(result.weights["w"][0, 0])  # and restored into the model
    assert seen[1] != seen[0]


def test_patience_interrupt_and_divergence_stop_cleanly() -> None:
    from generation.engine import training
    from generation.engine.training import LoopSettings, fit

    task, _ = _toy_task(scores=[2.0, 3.0, 4.0, 5.0])
    result = fit(task, LoopSettings(steps=100, eval_every=5, patience=2))
    assert (result.stopped, result.steps_run, result.best_step) == ("patience", 15, 5)

    task, _ = _toy_task()
    training.request_stop()
    result = fit(task, LoopSettings(steps=100, eval_every=50))
    assert (result.stopped, result.steps_run) == ("interrupted", 1)
    assert [h["step"] for h in result.history] == [1]  # validated before stopping

    task, w = _toy_task()
    task.batch = lambda rng: (np.full((8, 1), np.inf, np.float32), np.zeros((8, 1), np.float32))
    result = fit(task, LoopSettings(steps=10))
    assert result.stopped == "diverged" and np.isfinite(w.numpy()).all()
    assert result.steps_run == training.MAX_FAILING_STEPS

    task, w = _toy_task()  # one overflowing batch among good ones is skipped; the run carries on
    good, calls = task.batch, []

    def one_bad(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        calls.append(1)
        return (np.full((8, 1), np.inf, np.float32), np.zeros((8, 1), np.float32)) if len(calls) == 4 else good(rng)

    task.batch = one_bad
    result = fit(task, LoopSettings(steps=10))
    assert (result.stopped, result.steps_run) == ("steps", 10) and np.isfinite(w.numpy()).all()


def test_the_same_seed_gives_the_same_weights_and_another_seed_others() -> None:
    from generation.engine.training import LoopSettings, fit

    runs = []
    for seed in (4, 4, 5):
        task, _ = _toy_task()
        runs.append(fit(task, LoopSettings(steps=15, learning_rate=0.01, eval_every=15, seed=seed)).weights["w"])
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])


def test_the_schedule_warms_up_then_follows_the_steps_or_the_clock() -> None:
    from generation.engine.training import LoopSettings

    s = LoopSettings(steps=110, learning_rate=1e-3, final_learning_rate=1e-4, warmup_steps=10)
    assert s.rate_at(1) == pytest.approx(1e-4) and s.rate_at(10) == pytest.approx(1e-3)
    assert s.rate_at(11) == pytest.approx(1e-3)
    assert s.rate_at(60) == pytest.approx(1e-4 + 0.5 * 9e-4 * (1 + math.cos(math.pi * 49 / 99)))
    assert s.rate_at(110) == pytest.approx(1e-4)
    assert s.rate_at(20, time_fraction=1.0) == pytest.approx(1e-4)  # out of time: at the floor already
    with pytest.raises(ValueError):
        LoopSettings(clip_norm=0)
