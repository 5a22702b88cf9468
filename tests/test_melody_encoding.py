"""Melody RNN encodings and networks against Magenta: note-seq's own encoders and golden numbers from real bundles.

The golden tests use the tiny `.mag` bundles Magenta made (shared/fixtures/magenta): basic_rnn, lookback_rnn and
attention_rnn. Magenta made no mono_rnn fixture, so mono_rnn is held to note-seq's encoder, its round trip, and
the compiled loop agreeing with the numpy encoding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from note_seq import encoder_decoder, melodies_lib, melody_encoder_decoder

from generation.errors import InputError
from generation.families.melody.config import CONFIGS, MelodyConfig
from generation.families.melody.encoding import (
    class_to_event,
    classes_to_events,
    encode,
    event_inputs,
    labels,
    melody_events,
    squash,
    transpose,
)

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "magenta"
GOLDEN = ["basic_rnn", "lookback_rnn", "attention_rnn"]
SIZES = {  # config: (input size, classes, attention length), from the fixtures' README and Magenta's configs
    "basic_rnn": (38, 38, 0),
    "mono_rnn": (130, 130, 0),
    "lookback_rnn": (121, 40, 0),
    "attention_rnn": (74, 40, 40),
}


def note_seq_encoder(config: MelodyConfig) -> Any:
    """Magenta's encoder for this config (melody_rnn_model.default_configs)."""
    one_hot = melody_encoder_decoder.MelodyOneHotEncoding(config.min_note, config.max_note)
    if config.encoding == "onehot":
        return encoder_decoder.OneHotEventSequenceEncoderDecoder(one_hot)
    if config.encoding == "lookback":
        return encoder_decoder.LookbackEventSequenceEncoderDecoder(one_hot)
    return melody_encoder_decoder.KeyMelodyEncoderDecoder(config.min_note, config.max_note)


def random_melody(rng: np.random.Generator, config: MelodyConfig, steps: int) -> list[int]:
    """Holds, note-offs and pitches of the config's range, with bars 3 and 4 partly repeating bars 1 and 2."""
    choices = [-2] * 6 + [-1] * 2 + list(range(config.min_note, config.max_note))
    events = [int(e) for e in rng.choice(choices, steps)]
    if steps > 48:
        events[32:40] = events[0:8]
        events[20:28] = events[4:12]
    return melody_events(events)


# --- sizes and classes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CONFIGS))
def test_sizes_are_magentas(name: str) -> None:
    """Each config's input width, classes and attention are those of Magenta's config and of its bundles."""
    config = CONFIGS[name]
    assert (config.input_size, config.num_classes, config.attn_length) == SIZES[name]
    theirs = note_seq_encoder(config)
    assert (theirs.input_size, theirs.num_classes) == SIZES[name][:2]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_inputs_and_labels_equal_note_seqs(name: str) -> None:
    """On 40 random melodies (repeats included), every input row and label is the one note-seq computes."""
    config = CONFIGS[name]
    theirs = note_seq_encoder(config)
    rng = np.random.default_rng(5)
    for _ in range(40):
        events = random_melody(rng, config, int(rng.integers(1, 90)))
        melody = melodies_lib.Melody(events)
        expected = np.array([theirs.events_to_input(melody, t) for t in range(len(events))], np.float32)
        np.testing.assert_array_equal(event_inputs(events, config), expected)
        assert labels(events, config).tolist() == [theirs.events_to_label(melody, t) for t in range(1, len(events))]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_labels_decode_back_to_the_melody(name: str) -> None:
    """Decoding a melody's labels step by step (repeat classes included) gives the melody back, as note-seq does."""
    config = CONFIGS[name]
    theirs = note_seq_encoder(config)
    rng = np.random.default_rng(6)
    for _ in range(20):
        events = random_melody(rng, config, 80)
        classes = labels(events, config)
        assert classes_to_events(classes, config, events[0]) == events
        for t, c in enumerate(classes.tolist(), 1):
            history = melodies_lib.Melody(events[:t]) if config.encoding == "key" else events[:t]
            assert class_to_event(c, events[:t], config) == theirs.class_index_to_event(c, history)


def test_mono_rnn_covers_every_midi_pitch() -> None:
    """mono_rnn: hold, note off and all 128 pitches are 130 distinct classes, one-hot inputs, and decode back."""
    config = CONFIGS["mono_rnn"]
    events = [-2, -1, *range(128)]
    classes = [int(labels([60, e], config)[0]) for e in events]
    assert sorted(classes) == list(range(130))
    assert [class_to_event(c, [], config) for c in classes] == events
    rows = event_inputs([0, 127, -1, -2], config)
    assert rows.shape == (4, 130)
    assert rows.sum(axis=1).tolist() == [1.0] * 4
    assert np.flatnonzero(rows[1]).tolist() == [2 + 127]
    assert squash([100, -2, 3], config) == ([100, -2, 3], 0)  # no key, no range folding


@pytest.mark.parametrize("name", ["basic_rnn", "lookback_rnn", "attention_rnn"])
@pytest.mark.parametrize("pitch", [47, 84])
def test_pitch_outside_the_range_is_refused(name: str, pitch: int) -> None:
    with pytest.raises(ValueError, match=str(pitch)):
        encode([60, pitch], CONFIGS[name])


@pytest.mark.parametrize("name", list(CONFIGS))
def test_squash_equals_magentas(name: str) -> None:
    """Moving a melody into the config's key and range (and back) is note-seq's Melody.squash/transpose."""
    config = CONFIGS[name]
    rng = np.random.default_rng(7)
    for _ in range(300):
        low = int(rng.integers(0, 110))
        pitches = list(range(low, min(low + int(rng.integers(1, 30)), 128)))
        events = melody_events([int(e) for e in rng.choice([-2, -2, -1, *pitches], int(rng.integers(1, 40)))])
        melody = melodies_lib.Melody(events)
        amount = melody.squash(config.min_note, config.max_note, config.transpose_to_key)
        assert squash(events, config) == (list(melody), amount)
        melody.transpose(-amount)
        assert transpose(list(squash(events, config)[0]), -amount) == list(melody)


# --- golden numbers from Magenta --------------------------------------------------------------------------------
def _golden(name: str) -> dict[str, Any]:
    path = FIXTURES / f"{name}.golden.json"
    assert path.is_file(), f"Magenta golden fixtures not found at {FIXTURES}"
    return json.loads(path.read_text())


def _dense(golden: dict[str, Any]) -> np.ndarray:
    rows = np.zeros((len(golden["inputs_sparse"]), golden["input_size"]), np.float32)
    for t, row in enumerate(golden["inputs_sparse"]):
        for index, value in row:
            rows[t, int(index)] = value
    return rows


@pytest.mark.parametrize("name", GOLDEN)
def test_inputs_equal_those_magenta_fed_its_graph(name: str) -> None:
    """For Magenta's fixed 4-bar melody (bar 3 repeats bar 1), our rows and labels are Magenta's, bit for bit."""
    golden = _golden(name)
    inputs, classes = encode(golden["events"], CONFIGS[name])
    np.testing.assert_array_equal(inputs, _dense(golden))
    assert classes.tolist() == golden["labels"]


@pytest.mark.parametrize("name", GOLDEN)
def test_mag_bundle_reproduces_magentas_numbers(name: str) -> None:
    """Magenta's bundle loads; our network's logits match to 1e-5 and the compiled loop's log-likelihood
    (its inputs built step by step inside the loop) matches Magenta's total to 1e-3."""
    import tensorflow as tf

    from generation.families.melody.generator import MelodyGenerator

    golden = _golden(name)
    generator = MelodyGenerator.load(name, FIXTURES / f"{name}.mag")
    bundle = generator.bundle
    assert (bundle.family, bundle.config, bundle.layer_sizes, bundle.attn_length) == \
        ("melody", name, (32, 32), SIZES[name][2])
    inputs, _ = encode(golden["events"], generator.config)
    logits = generator.model.sequence_logits(tf.constant(inputs[None]))[0].numpy()
    first = np.array(golden["logits_first_steps"])
    np.testing.assert_allclose(logits[: len(first)], first, atol=1e-5, rtol=0)
    assert generator.log_likelihood(golden["events"]) == pytest.approx(golden["total_log_likelihood"], abs=1e-3)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_compiled_loop_builds_the_numpy_inputs(name: str) -> None:
    """The sampler's in-loop features equal encoding.event_inputs row for row on random melodies (mono_rnn too)."""
    import tensorflow as tf

    from generation.engine.rnn import EventRnn
    from generation.families.melody.sampler import WINDOW, MelodySampler

    config = CONFIGS[name]
    sampler = MelodySampler(EventRnn(config.input_size, config.num_classes, (8,), config.attn_length), config)
    rng = np.random.default_rng(8)
    for steps in (70, 200):  # 200: past the step counters' period
        events = random_melody(rng, config, steps)
        _, _, key = sampler.start(np.array([events[0]], np.int32))
        padded = [-2] * (WINDOW - 1) + events  # holds before the melody began
        rows = []
        for t in range(len(events)):
            if t:
                key = sampler.update_key(key, tf.constant([events[t]], tf.int32))
            window = tf.constant([padded[t:t + WINDOW]], tf.int32)
            rows.append(sampler.row(window, key, tf.constant(t))[0][0].numpy())
        np.testing.assert_array_equal(np.array(rows), event_inputs(events, config))


def test_a_melody_bundle_is_not_taken_for_another_family() -> None:
    """Given the polyphony bundle, the melody generator says it is not a Melody RNN and which bundle it is."""
    from generation.families.melody.generator import MelodyGenerator

    with pytest.raises(InputError, match="polyphony") as info:
        MelodyGenerator.load("basic_rnn", FIXTURES / "polyphony.mag")
    assert "basic_rnn" in str(info.value)


# --- generation with Magenta's bundles ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lookback() -> Any:
    from generation.families.melody.generator import MelodyGenerator

    return MelodyGenerator.load("lookback_rnn", FIXTURES / "lookback_rnn.mag")


def test_generation_keeps_the_primer_and_repeats_with_the_seed(lookback: Any) -> None:
    from generation.engine.sampling import SearchSettings

    primer = [60, -2, 60, -2, 67, -2, 67, -2]
    first = lookback.generate(primer, 64, 4, SearchSettings(), seed=11)
    assert len(first) == 4
    for melody in first:
        assert len(melody) == 64 and melody[:8] == primer
        assert all(e in (-2, -1) or 48 <= e <= 83 for e in melody)
    assert lookback.generate(primer, 64, 4, SearchSettings(), seed=11) == first
    assert lookback.generate(primer, 64, 4, SearchSettings(), seed=12) != first
    assert len({tuple(m) for m in first}) > 1  # the outputs are not copies of one another


def test_beam_search_repeats_with_the_seed(lookback: Any) -> None:
    from generation.engine.sampling import SearchSettings

    search = SearchSettings(temperature=1.0, beam_size=2, branch_factor=3, steps_per_iteration=4)
    melodies = lookback.generate([60], 33, 2, search, seed=4)
    assert [len(m) for m in melodies] == [33, 33]
    assert all(m[0] == 60 for m in melodies)
    assert lookback.generate([60], 33, 2, search, seed=4) == melodies


def test_generation_continues_in_the_primers_key_and_register(lookback: Any) -> None:
    """A primer in D major two octaves up: the model plays in C 48-83, the melody comes back moved up to D.

    As Magenta does, D F# A C# (MIDI 86-93) is moved down 26 semitones to C E G B for the model, so the
    generated notes are the model's 48-83 moved up by 26 (74-109); the primer's own notes stay as they were.
    """
    from generation.engine.sampling import SearchSettings

    primer = [86, -2, 90, -2, 93, -2, 85, -2]
    assert squash(primer, CONFIGS["lookback_rnn"]) == ([60, -2, 64, -2, 67, -2, 59, -2], -26)
    melodies = lookback.generate(primer, 96, 3, SearchSettings(), seed=2)
    generated = [e for m in melodies for e in m[8:] if e >= 0]
    assert all(m[:8] == primer for m in melodies)
    assert len(generated) > 20 and all(74 <= e <= 109 for e in generated)


def test_bad_primers_are_refused_plainly(lookback: Any) -> None:
    from generation.engine.sampling import SearchSettings

    with pytest.raises(InputError, match="8 steps long"):
        lookback.generate([60, -2, 60, -2, 67, -2, 67, -2], 8, 1, SearchSettings(), seed=0)
    with pytest.raises(InputError, match="130"):
        lookback.generate([60, 130], 16, 1, SearchSettings(), seed=0)
