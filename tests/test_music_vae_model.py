"""MusicVAE as its users notice it: tracks encode to z and decode back to tracks of the config's kind, a network
trained on a few windows gives them back, interpolation starts and ends at its two tracks, the same seed gives
the same music, Magenta's config spellings work, and music_vae_train writes a bundle the generator loads and a
card with its figures."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import training_data

from generation.engine.bundle import Bundle
from generation.errors import InputError
from generation.families.music_vae.config import CONFIGS, MusicVaeConfig, installed_model, resolve
from generation.families.music_vae.encoding import class_tracks, melody_classes, track_classes

TINY = {"z_size": 8, "encoder_sizes": (16,), "decoder_sizes": (16, 16)}
MELODY_A = tuple([60, -2, -2, -2, 62, -2, 64, -1] * 4)
MELODY_B = tuple([72, -2, 71, -2, 69, -2, -2, -2, 67, -1, -2, -2, 65, 64, 62, -1] * 2)
KICK_SNARE = tuple(frozenset({36, 42}) if t % 8 == 0 else frozenset({38}) if t % 8 == 4 else frozenset()
                   for t in range(32))


def tiny_bundle(folder: Path, name: str, seed: int = 0, **sizes: object) -> Path:
    from generation.families.music_vae.network import MusicVae

    config = dataclasses.replace(CONFIGS[name], **{**TINY, **sizes})  # type: ignore[arg-type]
    _save(folder, config, MusicVae(config, seed=seed).numpy_weights())
    return folder


def _save(folder: Path, config: MusicVaeConfig, weights: dict[str, np.ndarray]) -> None:
    info = {"z_size": config.z_size, "encoder_sizes": list(config.encoder_sizes), "beta": config.beta,
            "free_bits": config.free_bits}
    Bundle("music_vae", config.name, config.decoder_sizes, 0, weights, info).save(folder)


def test_tracks_encode_to_z_and_decode_to_tracks_of_the_configs_kind(tmp_path: Path) -> None:
    from generation.families.music_vae.generator import MusicVaeGenerator

    melody = MusicVaeGenerator.load("cat-mel_2bar", tiny_bundle(tmp_path / "mel", "cat-mel_2bar"))
    assert melody.config.kind == "melody" and melody.config.steps == 32 and melody.config.z_size == 8
    z = melody.encode([MELODY_A, MELODY_B, MELODY_A])
    assert z.shape == (3, 8) and np.allclose(z[0], z[2])
    tracks = melody.decode(z, temperature=1.0, seed=1)
    assert len(tracks) == 3 and all(len(t) == 32 and all(-2 <= e <= 127 for e in t) for t in tracks)
    drums = MusicVaeGenerator.load("cat-drums_2bar_small", tiny_bundle(tmp_path / "drums", "cat-drums_2bar"))
    assert drums.encode([KICK_SNARE]).shape == (1, 8)
    beats = drums.sample(2, temperature=1.0, seed=2)
    assert len(beats) == 2 and all(len(b) == 32 and all(isinstance(s, frozenset) for s in b) for b in beats)
    with pytest.raises(InputError, match="32"):
        melody.encode([MELODY_A[:16]])
    with pytest.raises(InputError, match="outside"):
        melody.encode([(10,) + MELODY_A[1:]])


def test_a_small_network_trained_on_four_windows_gives_them_back(tmp_path: Path) -> None:
    from generation.engine.training import LoopSettings, fit
    from generation.families.music_vae.data import WindowSet, event_classes
    from generation.families.music_vae.generator import MusicVaeGenerator
    from generation.families.music_vae.train import MusicVaeTrainer, VaeSettings

    windows = [MELODY_A, MELODY_B, tuple(reversed(MELODY_B[:-1])) + (-1,), tuple([67, -2, -1, -2] * 8)]
    classes = event_classes(np.array(windows, np.int16))
    data = WindowSet(classes, classes, False, {})  # as classes, not transposed: the same four windows every time
    config = dataclasses.replace(CONFIGS["cat-mel_2bar"], z_size=16, encoder_sizes=(64,), decoder_sizes=(64,))
    trainer = MusicVaeTrainer(config, data, {}, VaeSettings(batch_size=16))
    result = fit(trainer.task(None, seed=3), LoopSettings(steps=160, learning_rate=0.03, final_learning_rate=0.01,
                                                          eval_every=80, clip_norm=5.0))
    assert result.history[-1]["valid_accuracy"] > 0.9  # teacher-forced
    _save(tmp_path, config, result.weights)
    generator = MusicVaeGenerator.load("cat-mel_2bar", tmp_path)
    back = generator.decode(generator.encode(windows), temperature=0.0, seed=0)
    right = np.mean(track_classes(back, config) == track_classes(windows, config))
    assert right > 0.9, right


def test_interpolation_runs_from_the_first_track_to_the_second(tmp_path: Path) -> None:
    from generation.families.music_vae.generator import MusicVaeGenerator, slerp

    generator = MusicVaeGenerator.load("cat-mel_2bar", tiny_bundle(tmp_path, "cat-mel_2bar"))
    za, zb = generator.encode([MELODY_A, MELODY_B])
    path = slerp(za, zb, 5)
    assert path.shape == (5, 8) and np.array_equal(path[0], za) and np.array_equal(path[-1], zb)
    assert not np.allclose(path[2], (za + zb) / 2)  # on the arc, not the chord
    outputs = generator.interpolate(MELODY_A, MELODY_B, 5, temperature=0.0, seed=0)
    assert len(outputs) == 5
    assert outputs[0] == generator.decode(za[None], 0.0, 0)[0] and outputs[-1] == generator.decode(zb[None], 0.0, 0)[0]
    with pytest.raises(InputError, match="at least 2"):
        generator.interpolate(MELODY_A, MELODY_B, 1, temperature=0.0, seed=0)


def test_fitting_each_ends_z_brings_the_tunes_back(datasets: Path) -> None:
    """Our cat-mel_2bar on held-out windows of real tunes: decoded by argmax, the z that encode fits to each
    window (the config's 30 steps) gives back clearly more of it than the encoder's mean does (refine_steps=0,
    Magenta's way), and the fit lowers every window's reconstruction NLL."""
    from collections import Counter

    from generation.engine.tf_runtime import tf
    from generation.families.melody.dataset import load_melodies
    from generation.families.music_vae.data import melody_set
    from generation.families.music_vae.generator import MusicVaeGenerator

    generator = MusicVaeGenerator.load("cat-mel_2bar")
    assert generator.config.refine_steps == 30
    held_out = melody_set(load_melodies(datasets, Counter(), ["openewld"]), generator.config).valid
    want = held_out[np.linspace(0, len(held_out) - 1, 48).round().astype(int)]
    tunes = class_tracks(want, generator.config)
    mean, fitted = generator.encode(tunes, refine_steps=0), generator.encode(tunes)
    right = {name: float((track_classes(generator.decode(z, 0.0, 0), generator.config) == want).mean())
             for name, z in (("mean", mean), ("fitted", fitted))}
    assert right["fitted"] >= right["mean"] + 0.05, right
    nll = {name: generator.model.reconstruction_nll(tf.constant(z), tf.constant(want)).numpy()
           for name, z in (("mean", mean), ("fitted", fitted))}
    assert (nll["fitted"] < nll["mean"]).all(), nll


def test_the_same_seed_gives_the_same_music(tmp_path: Path) -> None:
    from generation.families.music_vae.generator import MusicVaeGenerator

    generator = MusicVaeGenerator.load("cat-drums_2bar", tiny_bundle(tmp_path, "cat-drums_2bar"))
    first = generator.sample(4, temperature=1.0, seed=11)
    assert generator.sample(4, temperature=1.0, seed=11) == first
    assert generator.sample(4, temperature=1.0, seed=12) != first
    z = np.random.default_rng(0).standard_normal((3, 8))
    assert generator.decode(z, 1.0, seed=5) == generator.decode(z, 1.0, seed=5)
    # argmax decoding does not depend on the seed
    assert generator.decode(z, 0.0, seed=5) == generator.decode(z, 0.0, seed=6)


def test_magentas_small_and_big_spellings_name_the_same_config(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from generation.engine import bundle
    from generation.families.music_vae.generator import MusicVaeGenerator

    for alias, name in (("cat-mel_2bar_small", "cat-mel_2bar"), ("cat-mel_2bar_big", "cat-mel_2bar"),
                        ("cat-drums_2bar_small", "cat-drums_2bar"), ("cat-drums_2bar_big", "cat-drums_2bar")):
        assert resolve(alias) is CONFIGS[name] and resolve(name) is CONFIGS[name]
    with pytest.raises(InputError, match="unknown MusicVAE config"):
        resolve("cat-mel_16bar")
    monkeypatch.setattr(bundle, "REPO_MODELS", tmp_path)  # nothing installed
    with pytest.raises(InputError, match="music_vae_train --config=cat-mel_2bar"):
        installed_model("cat-mel_2bar_small")
    with pytest.raises(InputError, match="music_vae_train --config=cat-drums_2bar"):
        MusicVaeGenerator.load("cat-drums_2bar_big")
    tiny_bundle(tmp_path / "cat-drums_2bar", "cat-drums_2bar")
    assert MusicVaeGenerator.load("cat-drums_2bar_big").config.name == "cat-drums_2bar"
    with pytest.raises(InputError, match="not cat-mel_2bar"):
        MusicVaeGenerator.load("cat-mel_2bar", tmp_path / "cat-drums_2bar")


def test_melody_classes_are_magentas_90(tmp_path: Path) -> None:
    config = CONFIGS["cat-mel_2bar"]
    assert config.num_classes == 90 and CONFIGS["cat-drums_2bar"].num_classes == 512
    assert melody_classes([-2, -1, 21, 108]).tolist() == [0, 1, 2, 89]
    assert class_tracks(track_classes([MELODY_A], config), config) == [MELODY_A]


def test_training_windows_are_transposed_within_range_and_held_out_by_piece() -> None:
    from generation.families.melody.dataset import Melody, held_out
    from generation.families.music_vae.data import melody_set

    low = tuple([23, -2, 25, -1] * 8 + [-2] * 16)  # 3 bars; two windows, the second from bar 2
    melodies = [Melody(f"piece{i}", "nottingham", low) for i in range(40)]
    data = melody_set(melodies, CONFIGS["cat-mel_2bar"])
    assert len(data.train) == 2  # duplicates of every piece dropped; the second window starts on bar 2
    assert data.info["train_windows"] == 2 and any(held_out(f"piece{i}") for i in range(40))
    drawn = data.batch(np.random.default_rng(0), 400)
    pitches = [sorted({int(c) - 2 + 21 for c in row if c >= 2}) for row in drawn]
    assert all(high - low == 2 for low, high in pitches)  # one shift per window
    lows = {low for low, _ in pitches}
    assert lows == set(range(21, 23 + 7))  # -5..+6 from 23 where MIDI 21-108 allows: -2..+6


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return training_data.build(tmp_path_factory.mktemp("datasets"))


@pytest.mark.parametrize("config", ["cat-mel_2bar", "cat-drums_2bar_small"])
def test_music_vae_train_writes_a_bundle_that_loads_and_a_card(config: str, datasets: Path, tmp_path: Path) -> None:
    from generation.cli import music_vae_train
    from generation.families.music_vae.generator import MusicVaeGenerator

    out = tmp_path / config
    assert music_vae_train.main([f"--config={config}", f"--datasets_dir={datasets}",
                                 f"--groove_dir={datasets / 'groove'}", "--num_training_steps=12",
                                 "--eval_every=6", "--eval_windows=8", "--prior_samples=8", f"--run_dir={out}",
                                 "--hparams=batch_size=8,z_size=8,enc_rnn_size=[16],dec_rnn_size=[16]"]) == 0
    info = json.loads((out / "bundle.json").read_text())["info"]
    training = info["training"]
    assert training["finished"] and training["steps_run"] == 12 and training["layer_sizes"] == [16]
    assert training["history"][-1]["valid_nll"] < training["history"][0]["valid_nll"]
    valid = info["stored_weights_validation"]
    assert valid["windows"] == info["data"]["validation_windows"] > 0
    assert 0 <= valid["argmax_decoded"]["accuracy"] <= 1 and valid["argmax_decoded"]["windows"] == 8
    generator = MusicVaeGenerator.load(config, out)
    assert len(generator.sample(2, 1.0, seed=1)) == 2
    card = (out / "MODEL_CARD.md").read_text()
    for must in ("argmax-decoded accuracy", "human: held-out windows", "Adam (Keras)", "free bits",
                 "GPL-3.0" if "mel" in config else "CC BY 4.0"):
        assert must in card, must
