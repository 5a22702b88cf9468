"""RNN-NADE pieces a user's results rest on: frames <-> notes, the exact log-probability, seeded sampling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from generation.engine.bundle import Bundle
from generation.errors import InputError
from generation.families.pianoroll.dataset import frames_to_notes, frames_to_roll, roll_to_frames, shifts_in_range
from generation.music.notes import notes_midi, pianoroll_of, read_midi_notes

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "magenta"
LECTURE = [frozenset({55}), frozenset({55, 64}), frozenset({55, 64, 72}), frozenset()]


def test_frames_notes_midi_round_trip(tmp_path: Path) -> None:
    frames = [*LECTURE, frozenset({60, 64, 67}), frozenset({60, 64, 67}), frozenset({21, 108})]
    notes = frames_to_notes(frames)
    # Held pitches make one note each: 55 over steps 0-2, 64 over 1-2, 72 at 2, the C chord over 4-5.
    assert (0, 3, 55) in [(n.start, n.end, n.pitch) for n in notes]
    assert (4, 6, 60) in [(n.start, n.end, n.pitch) for n in notes]
    assert pianoroll_of(notes, len(frames)) == frames
    path = tmp_path / "roll.mid"
    notes_midi({"piano": notes}, 4, 60.0, len(frames)).write(str(path))
    back, qpm = read_midi_notes(path, 4, 64)
    assert qpm == pytest.approx(60.0)
    assert pianoroll_of(back, len(frames)) == frames
    assert roll_to_frames(frames_to_roll(frames)) == frames


def test_pitches_off_the_keyboard_are_refused() -> None:
    with pytest.raises(ValueError, match="88 keys"):
        frames_to_roll([frozenset({20})])
    roll = frames_to_roll([frozenset({21, 30})])
    assert min(shifts_in_range(roll, 6)) == 0 and max(shifts_in_range(roll, 6)) == 6


def _reference_log_probs(w: dict[str, np.ndarray], sizes: tuple[int, ...], hidden: int, roll: np.ndarray
                         ) -> np.ndarray:
    """Per-frame log p written out plainly in numpy: LSTM steps, dense layer, then the NADE key by key."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    state = [(np.zeros(u), np.zeros(u)) for u in sizes]
    prev, out = np.zeros(88), []
    for frame in roll.astype(np.float64):
        x = prev
        for k in range(len(sizes)):
            c, h = state[k]
            z = np.concatenate([x, h]) @ w[f"decoder/multi_rnn_cell/cell_{k}/basic_lstm_cell/kernel"] \
                + w[f"decoder/multi_rnn_cell/cell_{k}/basic_lstm_cell/bias"]
            i, j, f, o = np.split(z, 4)
            c = c * sig(f + 1.0) + sig(i) * np.tanh(j)
            h = np.tanh(c) * sig(o)
            state[k], x = (c, h), h
        dense = x @ w["decoder/dense/kernel"] + w["decoder/dense/bias"]
        a, b_dec, logp = dense[:hidden].copy(), dense[hidden:], 0.0
        for key in range(88):
            p = sig(b_dec[key] + sig(a) @ w["nade/w_dec_t"][key, :, 0])
            logp += np.log(p) if frame[key] else np.log(1 - p)
            a += frame[key] * w["nade/w_enc"][key, 0]
        out.append(logp)
        prev = frame
    return np.array(out)


def test_log_prob_matches_a_plain_numpy_rnn_nade() -> None:
    """The benchmark's NLL is the exact sum of the 88 conditionals of every frame, first frame included."""
    from generation.families.pianoroll.network import RnnNade
    from generation.families.pianoroll.train import evaluate, piece_log_probs

    sizes, hidden = (6, 5), 4
    model = RnnNade(sizes, hidden, seed=3)
    rng = np.random.default_rng(0)
    w = {k: v * 3 for k, v in model.numpy_weights().items()}  # larger weights: conditionals far from 0.5
    w["decoder/dense/bias"] = rng.normal(0, 1, w["decoder/dense/bias"].shape).astype(np.float32)
    model = RnnNade(sizes, hidden, weights=w)
    rolls = [(rng.random((n, 88)) < 0.08).astype(np.uint8) for n in (7, 4)]
    expected = [_reference_log_probs(w, sizes, hidden, r) for r in rolls]
    got = piece_log_probs(model, np.stack([rolls[0], np.pad(rolls[1], [(0, 3), (0, 0)])]).astype(np.float32))
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-4)
    np.testing.assert_allclose(got[1, :4], expected[1], rtol=1e-4)
    mean_nll = -np.concatenate(expected).sum() / 11
    assert evaluate(model, rolls) == pytest.approx(mean_nll, rel=1e-5)


def test_a_frame_on_two_keys_sums_to_one() -> None:
    """Brute force: with every other key fixed, the NADE's four probabilities for two top keys sum to the
    probability of the keys below (the NADE is a proper distribution over the frame)."""
    import tensorflow as tf

    from generation.families.pianoroll.network import RnnNade

    model = RnnNade((4,), 3, seed=5)
    rng = np.random.default_rng(1)
    b_enc = tf.constant(rng.normal(0, 1, (1, 3)), tf.float32)
    b_dec = tf.constant(rng.normal(0, 1, (1, 88)), tf.float32)
    base = (rng.random(88) < 0.2).astype(np.float32)
    frames = np.repeat(base[None], 4, 0)
    frames[:, 86:] = [[0, 0], [0, 1], [1, 0], [1, 1]]
    total = np.exp(model.frame_log_prob(tf.constant(frames), tf.tile(b_enc, [4, 1]), tf.tile(b_dec, [4, 1]))
                   .numpy().astype(np.float64)).sum()
    logits = model.nade_logits(tf.constant(frames[:1]), b_enc, b_dec).numpy()[0]
    below = np.sum(np.where(base[:86] > 0, -np.log1p(np.exp(-logits[:86])), -np.log1p(np.exp(logits[:86]))))
    assert total == pytest.approx(np.exp(below), rel=1e-4)


def _tiny_bundle() -> Bundle:
    from generation.families.pianoroll.network import RnnNade

    model = RnnNade((8,), 6, seed=2)
    weights = model.numpy_weights()
    weights["decoder/dense/bias"][6:] = -2.5  # a sparse roll, like music
    return Bundle("pianoroll", "rnn-nade", (8,), 0, weights, {"nade_hidden": 6, "steps_per_quarter": 4})


def test_sampling_is_seeded_keeps_the_primer_and_scores_its_draws() -> None:
    from generation.engine.sampling import SearchSettings
    from generation.families.pianoroll.generator import PianorollGenerator

    gen = PianorollGenerator(_tiny_bundle())
    a = gen.generate(LECTURE, 12, 3, SearchSettings(), seed=4)
    assert a == gen.generate(LECTURE, 12, 3, SearchSettings(), seed=4)
    assert a != gen.generate(LECTURE, 12, 3, SearchSettings(), seed=5)
    for out in a:
        assert len(out) == 12 and out[:4] == LECTURE
        assert all(21 <= p <= 108 for f in out for p in f)
    beams = gen.generate(LECTURE[:2], 9, 2, SearchSettings(beam_size=2, branch_factor=2, steps_per_iteration=3), 1)
    assert [len(o) for o in beams] == [9, 9] and all(o[:2] == LECTURE[:2] for o in beams)


def test_drawn_frames_are_scored_like_known_frames() -> None:
    import tensorflow as tf

    from generation.families.pianoroll.network import RnnNade

    model = RnnNade((4,), 5, seed=1)
    b_enc, b_dec = tf.random.normal([6, 5], seed=1), tf.random.normal([6, 88], seed=2) - 2
    frames, logp = model.nade_sample(b_enc, b_dec, tf.random.uniform([6, 88], seed=3), tf.constant(1.0))
    np.testing.assert_allclose(logp.numpy(), model.frame_log_prob(frames, b_enc, b_dec).numpy(), rtol=1e-5)


@pytest.mark.parametrize("primer,steps,match", [
    ([frozenset({20})], 8, "outside the piano's 88 keys"),
    ([frozenset({60})] * 9, 8, "primer is 9 steps long"),
    ([], 0, "num_steps=0 is out of range"),
    ([], 5000, "num_steps=5000 is out of range"),
])
def test_generator_refuses_bad_requests_clearly(primer: list[frozenset[int]], steps: int, match: str) -> None:
    from generation.engine.sampling import SearchSettings
    from generation.families.pianoroll.generator import PianorollGenerator

    with pytest.raises(InputError, match=match):
        PianorollGenerator(_tiny_bundle()).generate(primer, steps, 1, SearchSettings(), 0)


def test_magenta_rnn_nade_bundle_gives_magentas_log_likelihood() -> None:
    """Magenta's own figure for its .mag (its log adds 1e-6 inside: we compute the exact value)."""
    if not (FIXTURES / "rnn-nade.mag").is_file():
        pytest.skip(f"Magenta fixtures not found at {FIXTURES}")
    from generation.families.pianoroll.generator import PianorollGenerator
    from generation.families.pianoroll.train import piece_log_probs

    golden = json.loads((FIXTURES / "rnn-nade.golden.json").read_text())
    events = golden["events"] if isinstance(golden["events"], list) else json.loads(golden["events"])
    gen = PianorollGenerator.load("rnn-nade", FIXTURES / "rnn-nade.mag")
    assert gen.steps_per_quarter == 4 and gen.bundle.layer_sizes == (32, 32)
    roll = np.zeros((1, len(events), 88), np.float32)
    for t, keys in enumerate(events):
        roll[0, t, keys] = 1
    steps = piece_log_probs(gen.model, roll)[0]
    expected = golden["step_log_probs"]
    expected = np.array(expected if isinstance(expected, list) else json.loads(expected))
    np.testing.assert_allclose(steps, expected, atol=5e-4)
    assert steps.sum() == pytest.approx(golden["total_log_likelihood"], abs=0.02)
    with pytest.raises(InputError, match="rnn-nade_attn"):
        PianorollGenerator.load("rnn-nade", FIXTURES / "rnn-nade_attn.mag")
