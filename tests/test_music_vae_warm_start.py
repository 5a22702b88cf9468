"""music_vae_train --warm_start: a 16-bar model's core decoders start as trained 2-bar decoders, so a bar decoded
from an embedding is what the 2-bar model decodes from that vector as z."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from tiny_vae import save_tiny

from generation.errors import InputError
from generation.families.music_vae.config import CONFIGS, MusicVaeConfig


def small(name: str, conductor: tuple[int, ...] | None = None, bar_encoder: tuple[int, ...] | None = None
          ) -> MusicVaeConfig:
    """The config with z 8, encoder 8 and decoder 2 x 8 (and a conductor or bar encoder of these sizes)."""
    c = CONFIGS[name]
    return dataclasses.replace(c, z_size=8, encoder_sizes=(8,), decoder_sizes=(8, 8),
                               conductor_sizes=c.conductor_sizes if conductor is None else conductor,
                               bar_encoder_sizes=c.bar_encoder_sizes if bar_encoder is None else bar_encoder)


MEL_16 = small("hierdec-mel_16bar", conductor=(8,), bar_encoder=())
MEL_16_BARS = dataclasses.replace(MEL_16, bar_encoder_sizes=(6,))  # the shipped layout: a hierarchical encoder
MEL_2 = small("cat-mel_2bar")
DRUMS_2 = small("cat-drums_2bar")
TRIO = small("hierdec-trio_16bar", conductor=(8,))


def test_core_decoder_decodes_a_bar_as_the_two_bar_model(tmp_path: Path) -> None:
    from generation.engine.bundle import Bundle
    from generation.engine.tf_runtime import tf
    from generation.families.music_vae.hierdec import HierarchicalDecoder
    from generation.families.music_vae.network import CategoricalDecoder, MusicVae
    from generation.families.music_vae.train import warm_start

    folder = save_tiny(tmp_path / "mel2", MEL_2)
    two_bar = MusicVae(MEL_2, weights=Bundle.load(folder).weights)
    model = MusicVae(MEL_16, seed=3)
    conductor_before = {k: v.numpy().copy() for k, v in model.vars.items() if "hierarchical" in k}
    record = warm_start(model, [str(folder)])

    rng = np.random.default_rng(0)
    vector = tf.constant(rng.normal(size=(4, 8)).astype(np.float32))
    previous = tf.constant(rng.integers(0, 90, size=(4, 16)).astype(np.int32))
    core, flat = model.decoder, two_bar.decoder
    assert isinstance(core, HierarchicalDecoder) and isinstance(flat, CategoricalDecoder)
    np.testing.assert_allclose(core.core.logits_after(vector, previous).numpy(),
                               flat.logits_after(vector, previous).numpy()[:, :16], atol=1e-5)
    windows = tf.constant(rng.integers(0, 90, size=(2, MEL_16.steps)).astype(np.int32))
    mu_16 = model.posterior(windows)[0].numpy()
    assert np.allclose(mu_16, two_bar.encoder(windows)[0].numpy(), atol=1e-5)  # the encoder came along too
    for k, v in conductor_before.items():  # the conductor is not in a 2-bar model: left as drawn
        np.testing.assert_array_equal(model.vars[k].numpy(), v)
    assert record == [{"model": str(folder), "kind": "melody", "variables": 16,
                       "values": sum(int(np.prod(v.shape)) for k, v in two_bar.vars.items())}]


def test_trio_cores_take_the_model_of_their_part(tmp_path: Path) -> None:
    from tiny_vae import busy_network

    from generation.families.music_vae.network import weight_shapes
    from generation.families.music_vae.warm_start import transfers

    mel, drums = busy_network(MEL_2).numpy_weights(), busy_network(DRUMS_2, seed=1).numpy_weights()
    arrays, record = transfers(TRIO, weight_shapes(TRIO), [("mel", "melody", mel), ("drums", "drums", drums)])
    for k, source in ((0, mel), (1, mel), (2, drums)):  # melody, bass, drums
        name = f"core_decoder/core_decoder_{k}/decoder/output_projection/kernel"
        np.testing.assert_array_equal(arrays[name], source["decoder/output_projection/kernel"])
    assert not any(name.startswith("encoder/") for name in arrays)  # the trio's encoder reads 189-wide rows
    assert [r["variables"] for r in record] == [16, 8]


def test_a_model_of_another_kind_is_refused_by_name() -> None:
    from tiny_vae import busy_network

    from generation.families.music_vae.network import weight_shapes
    from generation.families.music_vae.warm_start import transfers

    drums = busy_network(DRUMS_2).numpy_weights()
    with pytest.raises(InputError, match="models/cat-drums_2bar: a drums model fills no variable of hierdec-mel_16bar"):
        transfers(MEL_16, weight_shapes(MEL_16), [("models/cat-drums_2bar", "drums", drums)])
    with pytest.raises(InputError, match="cat-mel_2bar is not hierarchical"):
        transfers(MEL_2, weight_shapes(MEL_2), [("mel", "melody", drums)])


def test_a_hierarchical_encoder_reads_each_bar_as_the_two_bar_encoder(tmp_path: Path) -> None:
    """Its bar reader is the 2-bar encoder; mu and sigma (fed by the bar level) and the bar level are not copied."""
    from generation.engine.bundle import Bundle
    from generation.engine.tf_runtime import tf
    from generation.families.music_vae.network import BidirectionalEncoder, HierarchicalEncoder, MusicVae
    from generation.families.music_vae.train import warm_start

    folder = save_tiny(tmp_path / "mel2", MEL_2)
    two_bar = MusicVae(MEL_2, weights=Bundle.load(folder).weights)
    model = MusicVae(MEL_16_BARS, seed=3)
    fresh = {k: v.numpy().copy() for k, v in model.vars.items() if k.startswith(("encoder/bar_level", "encoder/mu"))}
    (record,) = warm_start(model, [str(folder)])
    assert record["variables"] == 12  # the decoder's 8 and the bar reader's 4
    windows = tf.constant(np.random.default_rng(1).integers(0, 90, size=(2, MEL_16.steps)).astype(np.int32))
    bars = tf.reshape(windows, [-1, 16])
    reader, flat = model.encoder, two_bar.encoder
    assert isinstance(reader, HierarchicalEncoder) and isinstance(flat, BidirectionalEncoder)
    np.testing.assert_allclose(reader.bar_encoder.final(bars).numpy(), flat.final(bars).numpy(),
                               atol=1e-5)
    for k, v in fresh.items():
        np.testing.assert_array_equal(model.vars[k].numpy(), v)
    mu, sigma = model.posterior(windows)
    assert mu.shape == (2, 8) and np.all(sigma.numpy() > 0)
