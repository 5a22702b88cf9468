"""Drums RNN against Magenta (note-seq's encoders, golden numbers of a real drum_kit.mag), the generator, the
Groove reader and the per-style figures.

The encoder, Groove and figure tests need no TensorFlow; the golden and generator tests load Magenta's tiny
drum_kit bundle from shared/fixtures/magenta.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from note_seq import drums_encoder_decoder, encoder_decoder

from generation.errors import InputError
from generation.families.drums.config import CONFIGS, STYLE_CONTROLS
from generation.families.drums.encoding import (
    CLASS_OF_PITCH,
    CLASS_PITCH,
    class_to_step,
    model_inputs,
    step_to_class,
    steps_to_classes,
)
from generation.families.drums.groove import GROOVE_DIR, read_takes, take_bars, windows
from generation.families.drums.style_figures import DrumBar, bar_from_steps, densities, style_figures

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "magenta"
DRUM_KIT = CONFIGS["drum_kit"]


def _golden() -> dict[str, Any]:
    return json.loads((FIXTURES / "drum_kit.golden.json").read_text())


def _dense(golden: dict[str, Any]) -> np.ndarray:
    rows = np.zeros((len(golden["inputs_sparse"]), golden["input_size"]), np.float32)
    for t, row in enumerate(golden["inputs_sparse"]):
        for index, value in row:
            rows[t, int(index)] = value
    return rows


def _total_log_likelihood(logits: np.ndarray, labels: list[int]) -> float:
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(log_probs[np.arange(len(labels)), labels].sum())


# --- the drum map and events ------------------------------------------------------------------------------
def test_every_pitch_falls_in_note_seqs_drum_class() -> None:
    """Each MIDI pitch 0-127 alone gives note-seq's event (unknown pitches give silence, as Magenta ignores them)."""
    theirs = drums_encoder_decoder.MultiDrumOneHotEncoding()
    for pitch in range(128):
        assert step_to_class([pitch]) == theirs.encode_event(frozenset([pitch])), pitch
    assert len(CLASS_OF_PITCH) == 63  # the GM drum pitches the 9 classes gather


def test_all_512_events_decode_as_note_seq_does() -> None:
    """Every event writes note-seq's pitches (one representative GM pitch per class) and encodes back to itself."""
    theirs = drums_encoder_decoder.MultiDrumOneHotEncoding()
    assert theirs.num_classes == DRUM_KIT.num_classes == 512
    for event in range(512):
        assert class_to_step(event) == theirs.decode_event(event)
        assert step_to_class(class_to_step(event)) == event
    assert CLASS_PITCH == (36, 38, 42, 46, 45, 48, 50, 49, 51)


def test_a_kit_step_is_the_sum_of_its_class_bits() -> None:
    """Kick + closed hi-hat (class 0 and 2) is event 5; two snare pitches count once; Groove's rim (37) is a snare."""
    assert step_to_class([36, 42]) == 5
    assert step_to_class([38, 40, 37]) == 2
    assert step_to_class([36, 38, 42, 46, 45, 48, 50, 49, 51]) == 511


def test_inputs_equal_note_seqs_for_a_random_track() -> None:
    """Our inputs and labels for a random 100-step track are note-seq's drum_kit encoder's (one-hot + 6 counters)."""
    theirs = encoder_decoder.LookbackEventSequenceEncoderDecoder(
        drums_encoder_decoder.MultiDrumOneHotEncoding(), lookback_distances=[], binary_counter_bits=6)
    rng = np.random.default_rng(0)
    pitches = sorted(CLASS_OF_PITCH)
    track = [frozenset(rng.choice(pitches, size=rng.integers(0, 4), replace=False).tolist()) for _ in range(100)]
    ours = model_inputs(steps_to_classes(track), DRUM_KIT)
    expected = np.array([theirs.events_to_input(track, t) for t in range(len(track) - 1)], np.float32)
    assert ours.shape == (99, 518)
    np.testing.assert_array_equal(ours, expected)
    assert steps_to_classes(track)[1:].tolist() == [theirs.events_to_label(track, t) for t in range(1, 100)]


# --- golden numbers from Magenta --------------------------------------------------------------------------
def test_model_inputs_equal_magentas() -> None:
    """For the golden drum track, every input row we build is the one Magenta fed its graph, and the labels match."""
    golden = _golden()
    events = steps_to_classes(golden["events"])
    assert events.tolist() == golden["events_one_hot_index"]
    assert events[1:].tolist() == golden["labels"]
    np.testing.assert_array_equal(model_inputs(events, DRUM_KIT), _dense(golden))


def test_drum_kit_mag_reproduces_magentas_numbers() -> None:
    """drum_kit.mag loads with its 32-step attention and scores the track as Magenta: logits to 1e-5, total to 1e-3.

    The window matters: read as 40 steps (the melody default), the total moves by more than the tolerance.
    """
    import tensorflow as tf

    from generation.engine.rnn import EventRnn
    from generation.families.drums.generator import read_drums_mag

    golden = _golden()
    bundle = read_drums_mag(FIXTURES / "drum_kit.mag")
    assert (bundle.family, bundle.config, bundle.layer_sizes, bundle.attn_length) == ("drums", "drum_kit", (32, 32), 32)
    inputs = model_inputs(steps_to_classes(golden["events"]), DRUM_KIT)
    totals = {}
    for window in (32, 40):
        net = EventRnn(518, 512, bundle.layer_sizes, window, weights=bundle.weights)
        logits = net.sequence_logits(tf.constant(inputs[None]))[0].numpy()
        totals[window] = _total_log_likelihood(logits, golden["labels"])
        if window == 32:
            first = np.array(golden["logits_first_steps"])
            np.testing.assert_allclose(logits[: len(first)], first, atol=1e-5, rtol=0)
    assert totals[32] == pytest.approx(golden["total_log_likelihood"], abs=1e-3)
    assert abs(totals[40] - golden["total_log_likelihood"]) > 1e-2


def test_generators_sampler_scores_the_golden_track_as_magenta() -> None:
    """The generator's network (inputs reordered for the shared sampler) gives the golden track Magenta's total."""
    from generation.families.drums.generator import DrumsGenerator

    golden = _golden()
    generator = DrumsGenerator.load(FIXTURES / "drum_kit.mag")
    track = [frozenset(step) for step in golden["events"]]
    assert generator.log_likelihood(track) == pytest.approx(golden["total_log_likelihood"], abs=1e-3)


def test_a_melody_bundle_is_not_a_drums_rnn() -> None:
    """Another family's .mag is refused with both names, before any generation."""
    from generation.families.drums.generator import DrumsGenerator

    with pytest.raises(InputError, match=r"polyphony.*drum_kit"):
        DrumsGenerator.load(FIXTURES / "polyphony.mag")


# --- generation -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fixture_generator() -> Any:
    from generation.families.drums.generator import DrumsGenerator

    return DrumsGenerator.load(FIXTURES / "drum_kit.mag")


def test_same_seed_same_drums_and_the_primer_is_kept(fixture_generator: Any) -> None:
    """Same seed, same tracks; another seed, others. Each track is num_steps long and starts with the primer as given
    (an unknown pitch included); generated steps hold only the 9 representative pitches."""
    from generation.engine.sampling import SearchSettings

    primer = [frozenset({36, 60}), frozenset(), frozenset({42}), frozenset()]
    first = fixture_generator.generate(primer, 64, 3, SearchSettings(), seed=11)
    again = fixture_generator.generate(primer, 64, 3, SearchSettings(), seed=11)
    other = fixture_generator.generate(primer, 64, 3, SearchSettings(), seed=12)
    assert first == again
    assert first != other
    assert len({tuple(t) for t in first}) == 3  # three different tracks
    for track in first:
        assert len(track) == 64
        assert track[:4] == primer
        assert set().union(*track[4:]) <= set(CLASS_PITCH)
        assert any(track[4:])


def test_beam_search_is_seeded_too(fixture_generator: Any) -> None:
    """Beam search (beam 2, branch 2) returns one track per output, repeatably."""
    from generation.engine.sampling import SearchSettings

    beam = SearchSettings(beam_size=2, branch_factor=2, steps_per_iteration=4)
    tracks = fixture_generator.generate([frozenset({36})], 32, 2, beam, seed=5)
    assert tracks == fixture_generator.generate([frozenset({36})], 32, 2, beam, seed=5)
    assert [len(t) for t in tracks] == [32, 32]


def test_lengths_out_of_range_are_refused(fixture_generator: Any) -> None:
    """A primer as long as the track, or a track of 0 or 4097 steps, is an InputError saying what is allowed."""
    from generation.engine.sampling import SearchSettings

    with pytest.raises(InputError, match="primer is 4 steps"):
        fixture_generator.generate([frozenset()] * 4, 4, 1, SearchSettings(), seed=0)
    for steps in (0, 4097):
        with pytest.raises(InputError, match="1 to 4096"):
            fixture_generator.generate([], steps, 1, SearchSettings(), seed=0)
    with pytest.raises(InputError, match="no style control"):
        fixture_generator.generate([], 16, 1, SearchSettings(), seed=0, style="funk")


def test_the_style_and_tempo_inputs_reach_the_network() -> None:
    """drum_kit_style takes a style one-hot and then the tempo after the counters: each changes the music (same
    seed), and a missing or unknown style is refused. (An untrained network: this checks the plumbing, not the
    music.)"""
    from generation.engine.bundle import Bundle
    from generation.engine.rnn import EventRnn
    from generation.engine.sampling import SearchSettings
    from generation.families.drums.generator import DrumsGenerator

    config = CONFIGS["drum_kit_style"]
    assert config.styles == STYLE_CONTROLS and config.tempo and config.input_size == 518 + len(STYLE_CONTROLS) + 1
    net = EventRnn(config.input_size, 512, (16,), 4, seed=3)
    weights = net.numpy_weights()
    weights["rnn/multi_rnn_cell/cell_0/attention_cell_wrapper/kernel"][518:524] *= 40  # make style, tempo loud
    generator = DrumsGenerator(Bundle("drums", "drum_kit_style", (16,), 4, weights))
    tracks = {s: generator.generate([frozenset({36})], 32, 2, SearchSettings(), 7, style=s) for s in STYLE_CONTROLS}
    assert len({str(t) for t in tracks.values()}) == len(STYLE_CONTROLS)
    tempi = {q: generator.generate([frozenset({36})], 32, 2, SearchSettings(), 7, style="rock", qpm=q)
             for q in (70.0, 120.0, 180.0)}
    assert len({str(t) for t in tempi.values()}) == 3
    with pytest.raises(InputError, match="style None is not one of rock"):
        generator.generate([frozenset({36})], 32, 1, SearchSettings(), 7)
    with pytest.raises(InputError, match="'polka'"):
        generator.generate([frozenset({36})], 32, 1, SearchSettings(), 7, style="polka")


# --- per-style figures on hand-made bars ------------------------------------------------------------------
def _grid(hits: dict[int, list[int]]) -> DrumBar:
    """A bar from {step: [pitches]}."""
    return bar_from_steps([step_to_class(hits.get(t, [])) for t in range(16)])


def test_a_rock_bar_has_two_kicks_two_snares_eight_hats_and_no_swing() -> None:
    """Kick on 1 and 3, snare on 2 and 4, closed hats on every 8th: 2 / 2 / 8 / 0 hits and straight 8ths (0)."""
    bar = _grid({0: [36, 42], 2: [42], 4: [38, 42], 6: [42], 8: [36, 42], 10: [42], 12: [38, 42], 14: [42]})
    assert densities(bar) == {"kick": 2, "snare": 2, "hihat": 8, "ride": 0}
    figures = style_figures([bar])
    assert figures["swing"].mean == 0.0 and figures["swing"].n == 1
    assert figures["swing_grid"].mean == 0.0


def test_a_swung_ride_bar_is_a_sixth_of_a_beat_late() -> None:
    """A jazz ride "ding, ding-ga ding, ding-ga" with the "ga" on the triplet (2/3 of the beat): swing 1/6 beat,
    measured from the unquantised times; on the grid the "ga" sits on the 4th 16th, so 1/4."""
    ride, pedal = 51, 44  # the pedal hat (44) is a closed hi-hat: it keeps time on 2 and 4
    onsets = [(0.0, 8), (1.0, 8), (1 + 2 / 3, 8), (2.0, 8), (3.0, 8), (3 + 2 / 3, 8), (1.0, 2), (3.0, 2)]
    events = _grid({0: [ride], 4: [ride, pedal], 7: [ride], 8: [ride], 12: [ride, pedal], 15: [ride]}).events
    bar = DrumBar(events, tuple(onsets))
    figures = style_figures([bar])
    assert densities(bar)["ride"] == 6 and densities(bar)["hihat"] == 2
    assert figures["swing"].mean == pytest.approx(1 / 6)
    assert figures["swing_grid"].mean == pytest.approx(0.25)


def test_straight_sixteenths_say_nothing_about_swing() -> None:
    """A bar of 16th hats has no beat that shows 8th swing, so it adds nothing to the swing figure."""
    bar = _grid({t: [42] for t in range(16)})
    figures = style_figures([bar])
    assert figures["hihat"].mean == 16
    assert figures["swing"].n == 0 and figures["swing_grid"].n == 0


def test_figures_carry_a_standard_error_over_bars() -> None:
    """Over a 2-kick and a 4-kick bar: 3 kicks per bar, standard error 1."""
    figures = style_figures([_grid({0: [36], 8: [36]}), _grid({0: [36], 4: [36], 8: [36], 12: [36]})])
    assert (figures["kick"].mean, figures["kick"].se, figures["kick"].n) == (3.0, 1.0, 2)


# --- the Groove reader ------------------------------------------------------------------------------------
def test_groove_takes_carry_style_split_and_only_4_4() -> None:
    """info.csv's 1,150 takes minus the 12 not in 4/4; Groove's own split sizes; styles cut at the "/"."""
    takes = read_takes(GROOVE_DIR)
    assert len(takes) == 1138
    counts = {s: sum(t.split == s for t in takes) for s in ("train", "validation", "test")}
    assert sum(counts.values()) == 1138 and counts["train"] > 880
    first = takes[0]
    assert (first.id, first.style, first.sub_style, first.split, first.bpm) == (
        "drummer1/eval_session/1", "funk", "funk/groove1", "test", 138.0)
    assert all("/" not in t.style for t in takes)


def test_a_groove_take_becomes_16th_bars_with_its_unquantised_times() -> None:
    """drummer1's funk groove 1 (138 bpm, 27.9 s = 16 bars): every hit lands in a bar, on the grid and unquantised
    within 1/8 beat of its step; its 2- and 4-bar windows are 32 and 64 steps."""
    import pretty_midi

    take = read_takes(GROOVE_DIR, ["test"])[0]
    bars = take_bars(take)
    assert len(bars) == 16
    midi = pretty_midi.PrettyMIDI(str(take.midi))
    known = [n for n in midi.instruments[0].notes if n.pitch in CLASS_OF_PITCH]
    assert sum(len(b.onsets) for b in bars) == len(known)
    for bar in bars:
        for beat, cls in bar.onsets:
            step = round(beat * 4)
            assert abs(beat - step / 4) <= 0.125
            assert bar.events[step] >> cls & 1
    assert densities(bars[1])["kick"] > 0 and densities(bars[1])["snare"] > 0
    two = list(windows([take], bars=2))
    four = list(windows([take], bars=4))
    assert [w.first_bar for w in two] == list(range(0, 16, 2)) and len(four) == 4
    assert two[0].events.shape == (32,) and four[0].events.shape == (64,)
    assert two[3].events.tolist() == [e for b in bars[6:8] for e in b.events]
    with pytest.raises(ValueError):
        list(windows([take], bars=3))
