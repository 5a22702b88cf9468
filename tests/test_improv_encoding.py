"""Improv RNN encodings and network against Magenta: note-seq's own encoders and golden numbers from real bundles.

The encoder tests need no TensorFlow. The golden tests use tiny `.mag` bundles made by Magenta itself
(shared/fixtures/magenta) and skip, saying why, where that folder is absent.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from note_seq import chords_encoder_decoder, melody_encoder_decoder

from generation.errors import InputError
from generation.families.improv.config import CONFIGS, ImprovConfig
from generation.families.improv.encoding import (
    class_to_event,
    classes_to_events,
    encode_chord,
    encode_chords,
    event_to_class,
    events_to_classes,
    model_inputs,
)
from generation.music.chords import ChordError, parse_chord

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "magenta"
TRIAD_CONFIGS = [name for name, c in CONFIGS.items() if c.chord_encoding == "triad"]
MELODY_EVENTS = [-2, -1, *range(48, 84)]
LECTURE_FIGURES = [
    "N.C.", "C", "G", "Am", "F", "G7/F", "Bm7b5", "Eb", "E", "C#m11", "Cmaj7", "C#maj7", "Dm7", "D#m7", "Cm7",
    "Cbm6", "Cmaj9", "Cmaj#9", "Cmaj#11", "Cmajb13", "Fmaj9", "Fmaj#11", "Gmaj#9", "G13",
    "Cmaj7/G", "C#maj7/G#", "Cm7/G", "Cbm6/A", "Cmaj9/D", "Cmaj#9/D#", "Cmaj#11/F#", "Cmajb13/Ab",
]  # fmt: skip


# --- melody events ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("config", list(CONFIGS.values()), ids=list(CONFIGS))
def test_melody_classes_round_trip(config: ImprovConfig) -> None:
    """Hold, note-off and every playable pitch map to distinct classes 0..37 and back."""
    classes = [event_to_class(e, config) for e in MELODY_EVENTS]
    assert sorted(classes) == list(range(config.num_classes))
    assert [class_to_event(c, config) for c in classes] == MELODY_EVENTS
    assert classes_to_events(np.array(classes), config).tolist() == MELODY_EVENTS
    assert events_to_classes(MELODY_EVENTS, config).tolist() == classes


@pytest.mark.parametrize("event", [47, 84, 30, 127, -3])
def test_pitch_outside_the_range_is_refused(event: int) -> None:
    """A pitch the model cannot play raises ValueError naming the pitch and the range."""
    with pytest.raises(ValueError, match=str(event)):
        event_to_class(event, CONFIGS["basic_improv"])


def test_melody_classes_equal_note_seq() -> None:
    """Our melody classes are note-seq's MelodyOneHotEncoding(48, 84), the one Magenta's improv models use."""
    theirs = melody_encoder_decoder.MelodyOneHotEncoding(48, 84)
    config = CONFIGS["basic_improv"]
    assert theirs.num_classes == config.num_classes
    for event in MELODY_EVENTS:
        assert event_to_class(event, config) == theirs.encode_event(event)
        assert class_to_event(theirs.encode_event(event), config) == theirs.decode_event(theirs.encode_event(event))


# --- chords ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("figure", LECTURE_FIGURES)
def test_triad_chord_equals_note_seq(figure: str) -> None:
    """basic_improv sees each lecture chord exactly as note-seq's TriadChordOneHotEncoding does."""
    theirs = chords_encoder_decoder.TriadChordOneHotEncoding()
    expected = np.eye(theirs.num_classes, dtype=np.float32)[theirs.encode_event(figure)]
    np.testing.assert_array_equal(encode_chord(parse_chord(figure), CONFIGS["basic_improv"]), expected)


@pytest.mark.parametrize("figure", [*LECTURE_FIGURES, "Csus4", "C5"])
def test_pitch_chord_equals_note_seq(figure: str) -> None:
    """chord_pitches_improv sees each chord exactly as note-seq's PitchChordsEncoderDecoder does."""
    theirs = chords_encoder_decoder.PitchChordsEncoderDecoder()
    expected = np.array(theirs.events_to_input([figure], 0), np.float32)
    np.testing.assert_array_equal(encode_chord(parse_chord(figure), CONFIGS["chord_pitches_improv"]), expected)


def test_pitch_chord_layout_for_a_slash_chord() -> None:
    """G7/F: root G, the four chord pitches, bass F, in note-seq's [no-chord, root, pitches, bass] layout."""
    vec = encode_chord(parse_chord("G7/F"), CONFIGS["chord_pitches_improv"])
    assert np.flatnonzero(vec).tolist() == [1 + 7, 13 + 2, 13 + 5, 13 + 7, 13 + 11, 25 + 5]


@pytest.mark.parametrize("config", TRIAD_CONFIGS)
def test_triad_configs_reject_sus_chords(config: str) -> None:
    """A triad model cannot see Csus4; the error names the chord and points to chord_pitches_improv."""
    with pytest.raises(ChordError) as info:
        encode_chords([parse_chord("C"), parse_chord("Csus4")], CONFIGS[config])
    assert "'Csus4'" in str(info.value)
    assert "chord_pitches_improv" in str(info.value)


def test_encode_chords_gives_one_row_per_step() -> None:
    """A chord per step gives a row per step, each the chord's own encoding."""
    config = CONFIGS["chord_pitches_improv"]
    chords = [parse_chord(f) for f in ["C", "C", "N.C.", "G7/F"]]
    rows = encode_chords(chords, config)
    assert rows.shape == (4, config.chord_input_size)
    for row, chord in zip(rows, chords, strict=True):
        np.testing.assert_array_equal(row, encode_chord(chord, config))


# --- golden numbers from Magenta ------------------------------------------------------------------------------
def _golden(name: str) -> dict[str, Any]:
    """The golden JSON Magenta wrote for bundle `name`; skips the test where the fixtures are absent."""
    path = FIXTURES / f"{name}.golden.json"
    if not path.is_file():
        pytest.skip(f"Magenta golden fixtures not found at {FIXTURES}")
    return json.loads(path.read_text())


def _dense(golden: dict[str, Any]) -> np.ndarray:
    """The golden `inputs_sparse` rows as a dense [steps, input_size] array."""
    rows = np.zeros((len(golden["inputs_sparse"]), golden["input_size"]), np.float32)
    for t, row in enumerate(golden["inputs_sparse"]):
        for index, value in row:
            rows[t, int(index)] = value
    return rows


def _our_inputs(golden: dict[str, Any], config: ImprovConfig) -> np.ndarray:
    """Our model inputs for the golden melody and chords, built the way our trainer and scorer build them."""
    chords = encode_chords([parse_chord(c) for c in golden["chords"]], config)
    return model_inputs(events_to_classes(golden["events"], config), chords, config)


def _logits(
    weights: dict[str, np.ndarray], layer_sizes: tuple[int, ...], attn_length: int, num_classes: int, inputs: np.ndarray
) -> np.ndarray:
    """Teacher-forced logits of our EventRnn with these weights, from the zero state."""
    import tensorflow as tf

    from generation.engine.rnn import EventRnn

    net = EventRnn(inputs.shape[1], num_classes, layer_sizes, attn_length, weights=weights)
    return net.sequence_logits(tf.constant(inputs[None]))[0].numpy()


def _total_log_likelihood(logits: np.ndarray, labels: list[int]) -> float:
    """Sum over steps of ln softmax(logits)[label], in float64."""
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(log_probs[np.arange(len(labels)), labels].sum())


@pytest.mark.parametrize("name", ["basic_improv", "chord_pitches_improv"])
def test_model_inputs_equal_magentas(name: str) -> None:
    """For Magenta's fixed melody over N.C./C/G7/Am/F, every input row we build is the one Magenta fed its graph."""
    golden = _golden(name)
    config = CONFIGS[name]
    assert golden["input_size"] == config.input_size
    ours = _our_inputs(golden, config)
    np.testing.assert_array_equal(ours, _dense(golden))
    assert events_to_classes(golden["events"], config)[1:].tolist() == golden["labels"]


@pytest.mark.parametrize("name", ["basic_improv", "chord_pitches_improv"])
def test_mag_bundle_reproduces_magentas_numbers(name: str) -> None:
    """A user's .mag loads and scores the fixed melody as Magenta does: logits to 1e-5, log-likelihood to 1e-3."""
    from generation.engine.magenta_bundle import read_mag

    golden = _golden(name)
    config = CONFIGS[name]
    bundle = read_mag(FIXTURES / f"{name}.mag")
    assert (bundle.family, bundle.config, bundle.layer_sizes, bundle.attn_length) == ("improv", name, (32, 32), 0)
    inputs = _our_inputs(golden, config)
    logits = _logits(bundle.weights, bundle.layer_sizes, bundle.attn_length, config.num_classes, inputs)
    first = np.array(golden["logits_first_steps"])
    np.testing.assert_allclose(logits[: len(first)], first, atol=1e-5, rtol=0)
    assert _total_log_likelihood(logits, golden["labels"]) == pytest.approx(golden["total_log_likelihood"], abs=1e-3)


def test_attention_network_reproduces_magentas_logits() -> None:
    """Our attention cell is Magenta's AttentionCellWrapper: fed Magenta's own inputs, the logits match to 1e-5."""
    import tensorflow as tf

    from generation.engine.magenta_bundle import _modern_name, _read_proto

    golden = _golden("attention_improv")
    proto = _read_proto(FIXTURES / "attention_improv.mag")
    with tempfile.TemporaryDirectory() as tmp:  # read the checkpoint exactly as read_mag does
        ckpt = Path(tmp) / "model.ckpt"
        ckpt.write_bytes(proto.checkpoint_file[0])
        reader = tf.train.load_checkpoint(str(ckpt))
        weights = {_modern_name(n): reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}
    # Magenta's attention_improv melody input is its KeyMelody encoding (74 wide, 40 classes), not our one-hot,
    # so the network is fed Magenta's input rows directly.
    inputs = _dense(golden)
    assert inputs.shape[1] == 123
    logits = _logits(weights, (32, 32), 40, golden["num_classes"], inputs)
    first = np.array(golden["logits_first_steps"])
    np.testing.assert_allclose(logits[: len(first)], first, atol=1e-5, rtol=0)
    assert _total_log_likelihood(logits, golden["labels"]) == pytest.approx(golden["total_log_likelihood"], abs=1e-3)


def test_attention_improv_mag_is_refused_with_the_reason() -> None:
    """Magenta's attention_improv bundle is refused plainly: its KeyMelody encoding is not supported."""
    from generation.engine.magenta_bundle import read_mag

    _golden("attention_improv")
    with pytest.raises(InputError, match=r"KeyMelody.*not|not.*KeyMelody") as info:
        read_mag(FIXTURES / "attention_improv.mag")
    assert "attention_improv.mag" in str(info.value)


def test_polyphony_mag_is_not_an_improv_rnn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Given another family's bundle, the CLI exits 2 saying it is not an Improv RNN."""
    from generation.cli.improv_rnn_generate import main

    _golden("polyphony")
    rc = main(
        [
            f"--bundle_file={FIXTURES / 'polyphony.mag'}",
            f"--output_dir={tmp_path}",
            "--primer_melody=[60]",
            "--num_outputs=1",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert "not an Improv RNN" in err
    assert "polyphony" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
