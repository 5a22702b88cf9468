"""GrooVAE (groovae_2bar_humanize, groovae_2bar_tap_fixed_velocity) as its users notice it: a drum pattern comes back
with the same hits, now with velocities and timing; a rhythm comes back as drums; any length is played 2 bars at
a time; the MIDI has the played times and velocities on channel 10; the same seed gives the same groove; the
Groove takes are read as played; a small network learns; music_vae_train and music_vae_generate run end to end.

Models here are tiny bundles built or trained in a tmp dir (the shipped models are trained separately, one at a
time, and get their own end-to-end tests).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import training_data

from generation.engine.bundle import Bundle
from generation.errors import InputError
from generation.families.drums.encoding import CLASS_OF_PITCH, CLASS_PITCH, CLOSED_HAT, KICK, SNARE
from generation.families.music_vae.groove_config import GROOVE_CONFIGS, GrooveConfig
from generation.families.music_vae.groove_encoding import (
    Hit,
    groove_hits,
    groove_of_onsets,
    hits_groove,
    quantised,
    taps,
)

HUMANIZE, DRUMIFY = "groovae_2bar_humanize", "groovae_2bar_tap_fixed_velocity"
TINY = {"z_size": 4, "encoder_sizes": (8,), "decoder_sizes": (8,)}
ROCK = tuple(frozenset({42} | ({36} if t % 8 == 0 else {38} if t % 8 == 4 else set())) if t % 2 == 0
             else frozenset() for t in range(32))


def tiny_bundle(folder: Path, name: str, seed: int = 0) -> Path:
    from generation.families.music_vae.groove_network import GrooVae

    config = dataclasses.replace(GROOVE_CONFIGS[name], **TINY)  # type: ignore[arg-type]
    _save(folder, config, GrooVae(config, seed=seed).numpy_weights())
    return folder


def _save(folder: Path, config: GrooveConfig, weights: dict[str, np.ndarray]) -> None:
    info = {"z_size": config.z_size, "encoder_sizes": list(config.encoder_sizes), "beta": config.beta,
            "free_bits": config.free_bits}
    Bundle("music_vae", config.name, config.decoder_sizes, 0, weights, info).save(folder)


def struck(hits: list[Hit]) -> set[tuple[int, int]]:
    return {(h.step, h.pitch) for h in hits}


def test_onsets_become_a_groove_and_come_back_as_hits() -> None:
    onsets = [(0.2, KICK, 100), (3.6, SNARE, 80), (3.9, SNARE, 120), (7.5, CLOSED_HAT, 60), (31.6, KICK, 90)]
    groove = groove_of_onsets(onsets, 32)
    assert groove.shape == (32, 27)
    hits = groove_hits(groove)
    # the snare struck twice in step 4 keeps its louder hit; 7.5 is half way: the later 16th; 31.6 is past the end
    assert [(h.step, h.pitch, h.velocity) for h in hits] == [(0, 36, 100), (4, 38, 120), (8, 42, 60)]
    assert [round(h.offset, 3) for h in hits] == [0.2, -0.1, -0.5]
    assert np.allclose(hits_groove(hits, 32), groove, atol=1e-6)
    assert quantised(groove).shape == (32, 9) and quantised(groove)[:, :3].sum() == 3
    assert taps(groove).shape == (32, 1) and np.flatnonzero(taps(groove)[:, 0]).tolist() == [0, 4, 8]


def test_a_patterns_own_pitches_are_played_with_their_class_groove() -> None:
    groove = groove_of_onsets([(0.1, KICK, 90), (4.0, SNARE, 70)], 32)
    pattern = [frozenset({35})] + [frozenset()] * 3 + [frozenset({40, 88})] + [frozenset()] * 27
    hits = groove_hits(groove, pattern)
    assert [(h.step, h.pitch, h.velocity) for h in hits] == [(0, 35, 90), (4, 40, 70), (4, 88, 100)]
    assert hits[0].offset == pytest.approx(0.1)  # 88 is no drum class: kept at its 16th and the fixed velocity


@pytest.fixture(scope="module")
def groove_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """15 real Groove takes (10 train, 5 validation) with their info.csv rows."""
    out = tmp_path_factory.mktemp("datasets") / "groove"
    training_data._groove(out)
    return out


def test_groove_takes_are_read_as_played_in_windows_from_every_bar_line(groove_dir: Path) -> None:
    from generation.families.drums.groove import read_takes
    from generation.families.music_vae.groove_data import load_groove_set, take_groove, take_windows

    data = load_groove_set(groove_dir, GROOVE_CONFIGS[HUMANIZE])
    takes = read_takes(groove_dir, ("train", "validation"))
    assert data.info["takes"] == {"train": 10, "validation": sum(t.split == "validation" for t in takes)}
    train = [take_groove(t) for t in takes if t.split == "train"]
    assert len(data.train) == sum(len(take_windows(g, 32, 1)) for g in train) > 10 * 5  # every bar line
    assert len(data.valid) == sum(len(take_windows(take_groove(t), 32, 2)) for t in takes if t.split != "train")
    assert data.train.shape[1:] == (32, 27) and data.valid.shape[1:] == (32, 27)
    struck_ = data.train[..., :9] > 0.5
    velocities, offsets = data.train[..., 9:18][struck_], data.train[..., 18:][struck_]
    assert velocities.min() > 0 and velocities.max() <= 1 and velocities.std() > 0.05  # dynamics kept
    assert np.abs(offsets).max() <= 0.5 and np.abs(offsets).mean() > 0.02  # not on the grid: as played
    # the first hit of a take: its offset is its time against its nearest 16th at the take's tempo
    midi = pretty_midi.PrettyMIDI(str(takes[0].midi))
    first = min((n for i in midi.instruments for n in i.notes if n.pitch in CLASS_OF_PITCH), key=lambda n: n.start)
    position, k = first.start / (60 / takes[0].bpm / 4), CLASS_OF_PITCH[first.pitch]
    step = int(np.floor(position + 0.5))
    cell = take_groove(takes[0])[step]
    louder = cell[9 + k] * 127 > first.velocity  # another hit of the class in the same 16th, kept instead
    assert cell[k] == 1 and (cell[18 + k] == pytest.approx(position - step, abs=1e-4) or louder)
    controls, grooves = data.batch(np.random.default_rng(0), 16)
    assert controls.shape == (16, 32, 9) and np.array_equal(controls, grooves[..., :9])
    tap = dataclasses.replace(data, config=GROOVE_CONFIGS[DRUMIFY])
    controls, grooves = tap.batch(np.random.default_rng(0), 16)
    assert controls.shape == (16, 32, 1) and np.array_equal(controls[..., 0], grooves[..., :9].max(axis=2))


@pytest.mark.parametrize("name", [HUMANIZE, DRUMIFY])
def test_a_small_network_learns_real_grooves(name: str, groove_dir: Path) -> None:
    from generation.engine.training import LoopSettings, fit
    from generation.families.music_vae.groove_data import load_groove_set
    from generation.families.music_vae.groove_train import GrooveTrainer, scores

    config = dataclasses.replace(GROOVE_CONFIGS[name], z_size=8, encoder_sizes=(32,), decoder_sizes=(32,))
    data = load_groove_set(groove_dir, config)
    data = dataclasses.replace(data, train=data.train[:8], valid=data.train[:8])  # learn these 8 windows
    trainer = GrooveTrainer(config, data, batch_size=8)
    task = trainer.task(None, seed=2)
    from generation.families.music_vae.groove_network import GrooVae

    before = scores(GrooVae(config, seed=2), data.valid)
    result = fit(task, LoopSettings(steps=60, learning_rate=0.01, final_learning_rate=0.003, eval_every=30,
                                    clip_norm=5.0))
    after = result.history[-1]
    assert after["valid_nll"] < 0.7 * before["valid_nll"], (before, after)
    assert after["valid_velocity_rmse"] < before["valid_velocity_rmse"]
    if name == DRUMIFY:
        assert after["valid_hits_nll"] < 0.7 * before["valid_hits_nll"]


def test_humanize_keeps_the_hits_and_the_same_seed_plays_the_same_groove(tmp_path: Path) -> None:
    from generation.families.music_vae.groove_generator import GrooveGenerator

    generator = GrooveGenerator.load(HUMANIZE, tiny_bundle(tmp_path, HUMANIZE))
    (hits,) = generator.humanize([ROCK], temperature=1.0, seed=3)
    assert struck(hits) == {(t, p) for t, s in enumerate(ROCK) for p in s}
    assert all(1 <= h.velocity <= 127 and abs(h.offset) <= 0.5 for h in hits)
    assert generator.humanize([ROCK], 1.0, seed=3) == [hits]
    again = generator.humanize([ROCK], 1.0, seed=4)[0]
    assert struck(again) == struck(hits) and again != hits  # another draw: the same hits, another feel
    with pytest.raises(InputError, match="plays exactly 32"):
        generator.humanize([ROCK[:16]], 1.0, 0)
    with pytest.raises(InputError, match="does not drumify"):
        generator.drumify([[1] * 32], 1.0, 0)


def test_any_length_is_played_two_bars_at_a_time(tmp_path: Path) -> None:
    from generation.families.music_vae.groove_generator import GrooveGenerator

    generator = GrooveGenerator.load(HUMANIZE, tiny_bundle(tmp_path, HUMANIZE))
    four = ROCK + ROCK[::-1]
    hits, steps, notes = generator.humanize_track(four, 1.0, 1)
    assert steps == 64 and notes == [] and struck(hits) == {(t, p) for t, s in enumerate(four) for p in s}
    late_three: tuple[frozenset[int], ...] = (frozenset(),) * 16 + ROCK + ROCK[:16]  # an empty bar, then 3 bars
    hits, steps, notes = generator.humanize_track(late_three, 1.0, 1, "beat.mid")
    assert steps == 48 and notes == ["beat.mid: from bar 2"]
    assert struck(hits) == {(t, p) for t, s in enumerate(ROCK + ROCK[:16]) for p in s}
    with pytest.raises(InputError, match="has no notes"):
        generator.humanize_track([frozenset()] * 32, 1.0, 1)

    drummer = GrooveGenerator.load(DRUMIFY, tiny_bundle(tmp_path / "tap", DRUMIFY))
    hits, steps, _ = drummer.drumify_track([t % 3 == 0 for t in range(80)], 1.0, 2)  # 5 bars
    assert steps == 80 and all(h.pitch in CLASS_PITCH for h in hits)
    assert {h.step for h in hits} == set(range(0, 80, 3))  # drums on every tap, and only there


def test_the_plugin_writes_channel_10_midi_at_the_played_times(tmp_path: Path) -> None:
    from generation.families.music_vae.groove_generator import GrooveGenerator
    from generation.families.music_vae.plugin import PLUGIN, MusicVaeParams
    from generation.request import GenerationRequest

    generator = GrooveGenerator.load(HUMANIZE, tiny_bundle(tmp_path, HUMANIZE))
    groove = tuple(tuple(sorted(s)) for s in ROCK + ROCK)
    request = GenerationRequest("music_vae", HUMANIZE, MusicVaeParams(steps=1, groove=groove), qpm=100.0,
                                temperature=1.0, num_outputs=2, seed=5)
    assert request.total_steps == 64
    made = PLUGIN.make(generator, request)
    step_s = 60 / 100 / 4
    assert made.stem == "groove" and len(made.midis) == 2 and made.step_seconds == pytest.approx(step_s)
    one, two = made.midis
    for midi in made.midis:
        (kit,) = midi.instruments
        assert kit.is_drum and midi.get_end_time() == pytest.approx(64 * step_s)
        assert sorted((round(n.start / step_s), n.pitch) for n in kit.notes) == sorted(
            (t, p) for t, s in enumerate(groove) for p in s)
        assert any(abs(n.start / step_s - round(n.start / step_s)) > 0.01 for n in kit.notes)  # off the grid
    assert [n.velocity for n in one.instruments[0].notes] != [n.velocity for n in two.instruments[0].notes]

    drums = PLUGIN.make(GrooveGenerator.load(DRUMIFY, tiny_bundle(tmp_path / "tap", DRUMIFY)),
                        GenerationRequest("music_vae", DRUMIFY, MusicVaeParams(steps=1, taps=(1, 0) * 16),
                                          seed=1))
    assert drums.stem == "drums" and drums.midis[0].instruments[0].is_drum


def test_music_vae_train_and_generate_groovae_end_to_end(groove_dir: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from generation.cli import music_vae_generate, music_vae_train

    beat = pretty_midi.PrettyMIDI(initial_tempo=90)
    kit = pretty_midi.Instrument(0, is_drum=True)
    step_s = 60 / 90 / 4
    four = ROCK * 2
    kit.notes = [pretty_midi.Note(80, p, t * step_s, (t + 1) * step_s) for t, s in enumerate(four) for p in s]
    beat.instruments.append(kit)
    beat.write(str(tmp_path / "beat.mid"))
    tune = pretty_midi.PrettyMIDI(initial_tempo=90)
    lead = pretty_midi.Instrument(0)
    lead.notes = [pretty_midi.Note(90, 60 + t % 5, t * step_s, (t + 2) * step_s) for t in range(0, 32, 3)]
    tune.instruments.append(lead)
    tune.write(str(tmp_path / "tune.mid"))

    for name, source in ((HUMANIZE, "beat.mid"), (DRUMIFY, "tune.mid")):
        bundle = tmp_path / name
        assert music_vae_train.main([f"--config={name}", f"--groove_dir={groove_dir}", "--num_training_steps=6",
                                     "--eval_every=3", f"--output_dir={bundle}",
                                     "--hparams=batch_size=8,z_size=4,enc_rnn_size=[8],dec_rnn_size=[8]"]) == 0
        info = json.loads((bundle / "bundle.json").read_text())["info"]
        assert info["training"]["steps_run"] == 6 and info["mode"] == ("humanize" if name == HUMANIZE else "tap")
        card = (bundle / "MODEL_CARD.md").read_text()
        for must in ("velocity MAE", "offset MAE (ms)", "drummers: the held-out takes themselves", "CC BY 4.0",
                     "velocity r" if name == HUMANIZE else "kick per bar"):
            assert must in card, must

        def generate(out: str, seed: int, name: str = name, source: str = source, bundle: Path = bundle
                     ) -> list[pretty_midi.PrettyMIDI]:
            assert music_vae_generate.main([f"--config={name}", f"--bundle_file={bundle}", f"--seed={seed}",
                                            f"--input_midi_1={tmp_path / source}", f"--output_dir={tmp_path / out}",
                                            "--num_outputs=2", "--temperature=1.0"]) == 0
            return [pretty_midi.PrettyMIDI(str(p)) for p in sorted((tmp_path / out).glob("*.mid"))]

        first = generate(f"{name}-a", 3)
        assert len(first) == 2
        for midi in first:
            (drums,) = midi.instruments
            assert drums.is_drum and midi.get_end_time() == pytest.approx((64 if name == HUMANIZE else 32) * step_s)
            if name == HUMANIZE:  # the file's hits, each within half a 16th of its step
                assert sorted((round(n.start / step_s), n.pitch) for n in drums.notes) == sorted(
                    (t, p) for t, s in enumerate(four) for p in s)
        again = generate(f"{name}-b", 3)
        notes = [[(n.start, n.pitch, n.velocity) for n in m.instruments[0].notes] for m in first]
        assert [[(n.start, n.pitch, n.velocity) for n in m.instruments[0].notes] for m in again] == notes
        assert notes[0] != notes[1]  # two outputs, two draws
    assert "2 drum parts humanised (groovae_2bar_humanize), seed 3" in capsys.readouterr().out

    args = [f"--bundle_file={tmp_path / HUMANIZE}", f"--output_dir={tmp_path / 'refused'}"]
    for flags, says in ((["--config=" + HUMANIZE, f"--input_midi_1={tmp_path / 'tune.mid'}"],
                         "tune.mid has no drum part (no track on MIDI channel 10"),
                        (["--config=" + HUMANIZE, "--mode=interpolate", f"--input_midi_1={tmp_path / 'beat.mid'}"],
                         "plays one file (--input_midi_1), with --mode=sample"),
                        (["--config=" + HUMANIZE], "humanises the drums of a MIDI file: give it with --input_midi_1")):
        assert music_vae_generate.main([*flags, *args]) == 2
        assert says in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()
