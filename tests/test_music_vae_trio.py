"""hierdec-trio_16bar as its users rely on it, on small untrained networks built here: the shapes of three parts
under one conductor, the sampling loop computing exactly what training scores, each part's decoder hearing only
its own part, a file's three parts fitted to 16 bars together, the command line writing three-track MIDI, /trio
parsed into a request and made by the worker, the trio build's cache, and training writing a bundle and card.

The tests that need our trained trio model are in test_music_vae_trio_model.py.
"""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pretty_midi
import pytest
import training_data
from tiny_vae import busy_network, save_tiny

from bot.commands import CHAT_COMMANDS, CommandError, help_text, parse_command
from generation.errors import InputError
from generation.families.music_vae.config import CONFIGS, MusicVaeConfig, resolve
from generation.families.music_vae.trio_inputs import align_trios, fit_trio

if TYPE_CHECKING:
    from generation.families.music_vae.network import MusicVae
    from generation.families.music_vae.trio_network import TrioDecoder

TINY = {"z_size": 8, "encoder_sizes": (16,), "bar_encoder_sizes": (10,), "decoder_sizes": (16,),
        "conductor_sizes": (12,)}
STEPS = 256
STEP_S = 0.125  # a 16th at 120 qpm
HELD, OFF = -2, -1


def tiny_config(**sizes: object) -> MusicVaeConfig:
    return dataclasses.replace(CONFIGS["hierdec-trio_16bar"], **{**TINY, **sizes})  # type: ignore[arg-type]




def trio_decoder(model: MusicVae) -> TrioDecoder:
    from generation.families.music_vae.trio_network import TrioDecoder

    assert isinstance(model.decoder, TrioDecoder), type(model.decoder)
    return model.decoder


def random_trios(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.stack([rng.integers(0, 90, (n, STEPS)), rng.integers(0, 90, (n, STEPS)),
                     rng.integers(0, 512, (n, STEPS))], axis=2).astype(np.int32)




def test_the_trio_config_and_network_have_three_parts_under_one_conductor() -> None:
    from generation.engine.tf_runtime import tf

    config = CONFIGS["hierdec-trio_16bar"]
    assert (config.kind, config.steps, config.bars, config.hierarchical) == ("trio", STEPS, 16, True)
    assert config.part_classes == (90, 90, 512) and config.num_classes == 692 and config.input_size == 189
    for alias in ("hierdec-trio_16bar_small", "hierdec-trio_16bar_big"):
        assert resolve(alias) is config
    model = busy_network(tiny_config())
    shapes = {name: tuple(v.shape) for name, v in model.vars.items()}
    assert shapes["encoder/cell_0/bidirectional_rnn/fw/multi_rnn_cell/cell_0/lstm_cell/kernel"] == (189 + 16, 64)
    assert shapes["decoder/hierarchical_level_0/initial_state/kernel"] == (8, 24)
    for k, (width, classes) in enumerate(((90, 90), (90, 90), (9, 512))):  # the drums fed as their 9-bit roll
        core = f"core_decoder/core_decoder_{k}/decoder/"
        assert shapes[core + "multi_rnn_cell/cell_0/lstm_cell/kernel"] == (width + 12 + 16, 64)
        assert shapes[core + "z_to_initial_state/kernel"] == (12, 32)
        assert shapes[core + "output_projection/kernel"] == (16, classes)
    assert not any(name.startswith(("decoder/multi_rnn_cell", "core_decoder/decoder")) for name in shapes)
    classes = tf.constant(random_trios(np.random.default_rng(1), 3))
    mu, sigma = model.posterior(classes)
    assert mu.shape == (3, 8) and sigma.shape == (3, 8)
    assert trio_decoder(model).embeddings(mu).shape == (16, 3, 12)
    assert [tuple(x.shape) for x in model.decoder.logits(mu, classes)] == [(3, STEPS, 90), (3, STEPS, 90),
                                                                          (3, STEPS, 512)]
    drawn = model.decode(mu, tf.zeros((3, STEPS, 692)), tf.constant(1.0)).numpy()
    assert drawn.shape == (3, STEPS, 3) and drawn[:, :, :2].max() < 90 and drawn[:, :, 2].max() < 512
    recon, kl, correct = model.evaluate(classes)
    assert recon.shape == (3,) and kl.shape == (3,) and correct.shape == (3, 3)  # each part's right steps


@pytest.mark.parametrize("temperature", [1.0, 0.0])
def test_the_sampling_loop_computes_the_logits_training_scores_for_every_part(temperature: float) -> None:
    from generation.engine.tf_runtime import tf

    model = busy_network(tiny_config(conductor_sizes=(12, 10), decoder_sizes=(16, 14)))
    rng = np.random.default_rng(2)
    z = tf.constant(rng.standard_normal((4, 8)).astype(np.float32))
    noise = tf.constant((rng.gumbel(size=(4, STEPS, 692)) if temperature else np.zeros((4, STEPS, 692)))
                        .astype(np.float32))
    inv = tf.constant(1.0 / temperature if temperature else 1.0)
    drawn, sampled = trio_decoder(model).sample_with_logits(z, noise, inv)
    assert sampled is not None
    forced = model.decoder.logits(z, drawn)
    for part, (f, s) in enumerate(zip(forced, sampled, strict=True)):
        assert np.abs(f.numpy() - s.numpy()).max() < 1e-4, part
        if not temperature:  # argmax: each drawn class is its step's most likely
            assert np.array_equal(drawn.numpy()[:, :, part], f.numpy().argmax(axis=2)), part
    assert np.array_equal(model.decoder.sample(z, noise, inv).numpy(), drawn.numpy())
    assert len({row.tobytes() for row in drawn.numpy()}) == 4  # four z, four trios


def test_each_part_hears_only_its_own_notes_and_the_bars_embeddings() -> None:
    """A bass note changed in bar 2 moves the rest of bar 2's bass (and bar 3's first step at its end) and no
    melody or drum logit: Magenta's split decoders share only the conductor."""
    from generation.engine.tf_runtime import tf

    model = busy_network(tiny_config())
    rng = np.random.default_rng(3)
    z = tf.constant(rng.standard_normal((1, 8)).astype(np.float32))
    trio = random_trios(rng, 1)
    base = [x.numpy()[0] for x in model.decoder.logits(z, tf.constant(trio))]
    other = trio.copy()
    other[0, 20, 1] = (other[0, 20, 1] + 7) % 90
    moved = [np.abs(x.numpy()[0] - b).max(axis=1) > 1e-6 for x, b in zip(model.decoder.logits(z, tf.constant(other)),
                                                                          base, strict=True)]
    assert not moved[0].any() and not moved[2].any()
    assert moved[1][21:32].all() and not moved[1][:21].any() and not moved[1][32:].any()


def bars_of(bar: list[int], n: int) -> list[int]:
    return bar * n


MELODY_BAR = [72, HELD, HELD, HELD, 74, HELD, HELD, HELD, 76, HELD, HELD, HELD, 77, HELD, HELD, OFF]
BASS_BAR = [36, HELD, HELD, OFF, HELD, HELD, HELD, HELD, 43, HELD, HELD, OFF, HELD, HELD, HELD, HELD]
KIT_BAR = [(36, 42), (), (42,), (), (38, 42), (), (42,), ()] * 2


def test_a_files_three_parts_are_fitted_from_the_same_bar_line_and_looped_together() -> None:
    """The tune and the drums enter in bar 2, the bass in bar 3: all three start from bar 2 and loop as one 3-bar
    body, so the bass keeps its bar of rest under the tune's first bar in every loop."""
    silence = [HELD] * 16
    melody = silence + bars_of(MELODY_BAR, 3)
    bass = silence * 2 + bars_of(BASS_BAR, 2)
    drums = [()] * 16 + KIT_BAR * 3
    (m, b, d), notes = fit_trio("song.mid", melody, bass, drums, STEPS)
    assert notes == ["song.mid was 3 bars: from bar 2, all three parts looped 6 times to fill 16 bars"]
    assert len(m) == len(b) == len(d) == STEPS
    for loop in range(0, STEPS - 48, 48):
        assert m[loop:loop + 16] == tuple(MELODY_BAR)
        assert all(e < 0 for e in b[loop:loop + 16]) and b[loop + 16:loop + 32] == tuple(BASS_BAR)
        assert d[loop] == frozenset({36, 42})
    (m, b, d), notes = fit_trio("long.mid", bars_of(MELODY_BAR, 20), bars_of(BASS_BAR, 20), KIT_BAR * 20, STEPS)
    assert notes == ["long.mid was 20 bars: its first 16 bars of all three parts are used"]
    assert m == tuple(bars_of(MELODY_BAR, 16)) and b == tuple(bars_of(BASS_BAR, 16))
    with pytest.raises(InputError, match=r"short\.mid has 6 sixteenth notes .* less than one bar"):
        fit_trio("short.mid", MELODY_BAR[:6], BASS_BAR[:6], KIT_BAR[:6], STEPS)
    with pytest.raises(InputError, match=r"empty\.mid has no notes"):
        fit_trio("empty.mid", silence, silence, [()] * 16, STEPS)


def test_a_second_trio_moves_to_the_first_ones_key_melody_and_bass_together() -> None:
    up = 2  # the second trio a tone higher, in D
    a = (bars_of(MELODY_BAR, 4), bars_of(BASS_BAR, 4), KIT_BAR * 4)
    b = ([e + up if e >= 0 else e for e in a[0]], [e + up if e >= 0 else e for e in a[1]], KIT_BAR * 4)
    (first, second), notes = align_trios([("a.mid", *a), ("b.mid", *b)], STEPS, transpose=True)
    assert second[0] == first[0] and second[1] == first[1] and second[2] == first[2]
    assert any("b.mid: melody and bass transposed down 2 semitones" in n for n in notes), notes
    (_, kept), _ = align_trios([("a.mid", *a), ("b.mid", *b)], STEPS, transpose=False)
    assert kept[0][0] == 72 + up and kept[1][0] == 36 + up


def trio_file(path: Path, bars: int, tune: list[int], roots: list[int], qpm: float = 120.0) -> Path:
    step = 60 / qpm / 4
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    lead, bass = pretty_midi.Instrument(0, name="Lead"), pretty_midi.Instrument(33, name="Bass")
    kit = pretty_midi.Instrument(0, is_drum=True, name="Kit")
    for t in range(0, bars * 16, 4):
        lead.notes.append(pretty_midi.Note(100, tune[t // 4 % len(tune)], t * step, (t + 4) * step))
        bass.notes.append(pretty_midi.Note(100, roots[t // 16 % len(roots)], t * step, (t + 2) * step))
        kit.notes += [pretty_midi.Note(100, 42, t * step, (t + 1) * step),
                      pretty_midi.Note(100, 36 if t % 8 == 0 else 38, t * step, (t + 1) * step)]
    midi.instruments += [lead, bass, kit]
    midi.write(str(path))
    return path


def parts_of(midi: pretty_midi.PrettyMIDI) -> list[tuple[str, int, bool]]:
    return [(i.name, i.program, i.is_drum) for i in midi.instruments]


def test_music_vae_generate_writes_three_track_trios_and_ends_on_the_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from generation.cli.music_vae_generate import main
    from generation.families.music_vae.generator import MusicVaeGenerator
    from generation.families.music_vae.trio_inputs import trio_midi
    from generation.families.music_vae.trio_parts import read_trio_file

    bundle = save_tiny(tmp_path / "model", tiny_config())
    a = trio_file(tmp_path / "a.mid", 4, [72, 74, 76, 77], [36, 43])
    b = trio_file(tmp_path / "b.mid", 20, [79, 76, 72, 67], [41, 36])
    out = tmp_path / "out"
    assert main([f"--output_dir={out}", f"--bundle_file={bundle}", "--config=hierdec-trio_16bar", "--seed=4",
                 "--mode=interpolate", f"--input_midi_1={a}", f"--input_midi_2={b}", "--num_outputs=4",
                 "--temperature=0", "--whole_path"]) == 0
    printed = capsys.readouterr().out
    assert "a.mid was 4 bars: all three parts looped 4 times to fill 16 bars" in printed
    assert "4 trios (melody, bass, drums) of 16 bars" in printed
    pieces = sorted(out.glob("*-of-004.mid"))
    assert len(pieces) == 4
    for path in pieces:
        midi = pretty_midi.PrettyMIDI(str(path))
        assert parts_of(midi) == [("Melody", 0, False), ("Bass", 33, False), ("Drums", 0, True)]
        assert midi.get_end_time() == pytest.approx(STEPS * STEP_S)
    (whole,) = out.glob("*-path.mid")
    assert pretty_midi.PrettyMIDI(str(whole)).get_end_time() == pytest.approx(4 * STEPS * STEP_S)
    # The ends are the argmax decodings of the two files as fitted
    generator = MusicVaeGenerator.load("hierdec-trio_16bar", bundle)
    parts = [read_trio_file(p) for p in (a, b)]
    ends, _ = align_trios([(p.name, t.melody, t.bass, t.drums) for p, t in zip((a, b), parts, strict=True)],
                          STEPS, True)
    decoded = generator.decode(generator.encode(ends), 0.0, seed=0)
    for path, trio in ((pieces[0], decoded[0]), (pieces[-1], decoded[1])):
        expected = io.BytesIO()
        trio_midi(trio, 120.0).write(expected)
        got = pretty_midi.PrettyMIDI(str(path))
        want = pretty_midi.PrettyMIDI(io.BytesIO(expected.getvalue()))
        assert [[(n.start, n.pitch) for n in i.notes] for i in got.instruments] == \
            [[(n.start, n.pitch) for n in i.notes] for i in want.instruments]
    duo = tmp_path / "duo.mid"
    midi = pretty_midi.PrettyMIDI(str(a))
    midi.instruments = midi.instruments[:1] + midi.instruments[2:]  # no bass
    midi.write(str(duo))
    assert main([f"--output_dir={tmp_path / 'no'}", f"--bundle_file={bundle}", "--config=hierdec-trio_16bar",
                 "--mode=interpolate", f"--input_midi_1={duo}", f"--input_midi_2={b}"]) == 2
    assert "error: duo.mid has no bass part (give a track with a bass program" in capsys.readouterr().err


def test_the_same_seed_gives_the_same_trios(tmp_path: Path) -> None:
    from generation.families.music_vae.generator import MusicVaeGenerator

    generator = MusicVaeGenerator.load("hierdec-trio_16bar_big", save_tiny(tmp_path, tiny_config()))
    first = generator.sample(3, 1.0, seed=11)
    assert len(first) == 3 and all(len(part) == STEPS for trio in first for part in trio)
    assert generator.sample(3, 1.0, seed=11) == first and generator.sample(3, 1.0, seed=12) != first
    trio = first[0]
    assert generator.vary(trio, 2, 0.3, 0.5, seed=5) == generator.vary(trio, 2, 0.3, 0.5, seed=5)
    same = generator.vary(trio, 2, 0.0, 0.0, seed=5)  # change 0, argmax: the file's own decoding, twice
    assert same[0] == same[1] == generator.decode(generator.encode([trio]), 0.0, seed=0)[0]


ATTACHED = (("melody", tuple(bars_of(MELODY_BAR, 2))), ("bass", tuple(bars_of(BASS_BAR, 2))),
            ("drums", tuple(KIT_BAR * 2)))


def test_the_chat_does_not_offer_the_trio_until_its_model_ships() -> None:
    """hierdec-trio_16bar is in NOT_SHIPPED: no /trio command, nothing in /help, not a config of /interpolate."""
    assert "trio" not in CHAT_COMMANDS and "/trio" not in help_text()
    for text, files in (("/trio seed:3", None), ("/interpolate config:hierdec-trio_16bar", (ATTACHED, ATTACHED))):
        with pytest.raises(CommandError):
            parse_command(text, primer_from_attachment=files)


def test_the_worker_writes_three_parts_per_output_sampled_or_varied(tmp_path: Path) -> None:
    from generation.families.music_vae.generator import MusicVaeGenerator
    from generation.families.music_vae.plugin import PLUGIN

    generator = MusicVaeGenerator.load("hierdec-trio_16bar", save_tiny(tmp_path, tiny_config()))
    from generation.families.music_vae.plugin import MusicVaeParams
    from generation.request import GenerationRequest

    varied = MusicVaeParams(steps=1, bars=16, melodies=(ATTACHED[0][1], ATTACHED[1][1]), drums=(ATTACHED[2][1],))
    for request in (GenerationRequest("music_vae", "hierdec-trio_16bar", MusicVaeParams(steps=1, bars=16),
                                      temperature=0.5, num_outputs=3, seed=2),
                    GenerationRequest("music_vae", "hierdec-trio_16bar", varied, temperature=0.5, num_outputs=2,
                                      seed=2)):
        made = PLUGIN.make(generator, request)
        assert made.stem == "trio" and len(made.midis) == request.num_outputs
        assert made.step_seconds == pytest.approx(STEP_S)
        for midi in made.midis:
            assert parts_of(midi) == [("Melody", 0, False), ("Bass", 33, False), ("Drums", 0, True)]
            assert midi.get_end_time() == pytest.approx(STEPS * STEP_S)


def test_the_trio_build_is_kept_under_a_key_of_its_code_and_data(tmp_path: Path) -> None:
    from generation.families.music_vae.trio_data import TrioSet
    from generation.families.music_vae.trio_windows import TrioWindows, _load, _save, cache_key

    data = tmp_path / "datasets"
    for folder in ("pop909/POP909/001", "groove/drummer1"):
        (data / folder).mkdir(parents=True)
    (data / "pop909/POP909/001/001.mid").write_bytes(b"a")
    key = cache_key(data, 1, 0)
    assert cache_key(data, 1, 0) == key and cache_key(data, 2, 0) != key
    (data / "groove/drummer1/1.mid").write_bytes(b"b")
    assert cache_key(data, 1, 0) != key  # a data file more: built again
    rng = np.random.default_rng(0)
    rows = [rng.integers(0, n, (k, STEPS)).astype(np.int16) for k in (5, 2) for n in (90, 90, 512)]
    trios = TrioSet(rows[0], rows[1], rows[2], rows[3], rows[4], rows[5],
                    info={"train_windows": 5, "validation_windows": 2, "songs": 3},
                    train_sources=[("pop909/001", 16 * i, "drummer1/1") for i in range(5)],
                    valid_sources=[("pop909/002", 0, "d"), ("pop909/002", 256, "d")])
    _save(trios, tmp_path / "cache.npz")
    back = _load(tmp_path / "cache.npz")
    assert back.info == trios.info and back.train_sources == trios.train_sources
    windows = TrioWindows(back)
    assert windows.train.shape == (5, STEPS, 3) and windows.valid.shape == (2, STEPS, 3)
    assert np.array_equal(windows.valid[:, :, 2], rows[5])
    batch = windows.batch(np.random.default_rng(1), 4)
    assert batch.shape == (4, STEPS, 3) and batch.dtype == np.int32


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trainers' small datasets folder with a held-out POP909 song (007, by the melody family's hash)."""
    root = training_data.build(tmp_path_factory.mktemp("datasets"))
    shutil.copytree(training_data.SHARED / "pop909" / "POP909" / "007", root / "pop909" / "POP909" / "007")
    return root


def test_music_vae_train_writes_a_trio_bundle_and_a_card_with_each_parts_figures(datasets: Path,
                                                                                 tmp_path: Path) -> None:
    from generation.cli import music_vae_train
    from generation.families.music_vae.generator import MusicVaeGenerator

    out = tmp_path / "trio"
    assert music_vae_train.main(["--config=hierdec-trio_16bar", f"--datasets_dir={datasets}",
                                 "--num_training_steps=3", "--eval_every=3", "--eval_windows=3", "--prior_samples=3",
                                 f"--output_dir={out}", f"--trio_cache_dir={tmp_path}",
                                 "--hparams=batch_size=4,z_size=8,enc_rnn_size=[16],dec_rnn_size=[16]"]) == 0
    assert list(tmp_path.glob("tunesmith-trio-*.npz"))  # kept for the next run
    info = json.loads((out / "bundle.json").read_text())["info"]
    assert info["steps"] == STEPS and info["kind"] == "trio" and info["conductor_sizes"] == [256]
    assert info["data"]["train_windows"] > 0 and info["data"]["validation_windows"] > 0
    validation = info["stored_weights_validation"]
    assert set(validation["part_accuracy"]) == set(validation["argmax_decoded"]["parts"]) == {"melody", "bass",
                                                                                              "drums"}
    assert set(info["quality"]["human: held-out windows"]) == {"windows", "melody", "bass", "drums"}
    generator = MusicVaeGenerator.load("hierdec-trio_16bar", out)
    assert generator.config.kind == "trio" and len(generator.sample(2, 1.0, seed=1)) == 2
    card = (out / "MODEL_CARD.md").read_text()
    for must in ("POP909", "Licence: MIT", "CC BY 4.0", "lowest sounding note below G3", "within 15% of the song's "
                 "tempo", "Magenta's hierdec-trio_16bar", "argmax-decoded accuracy", "| drums |",
                 "Quality beside human: bass", "kick per bar", "core LSTM 16"):
        assert must in card, must
