"""hierdec-trio_16bar's card: how the trios were put together (no dataset holds trios), each part's held-out
reconstruction accuracy (teacher-forced and argmax-decoded), and each part's figures for prior samples beside
held-out human trios (card.py's melody and drum figures, part by part). Its part of MODEL_CARD.md.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from generation.engine.model_card import Card, Dataset, Section, table
from generation.families.music_vae.card import encoder_line, figures
from generation.families.music_vae.config import TRIO_PARTS, MusicVaeConfig

MAGENTA = ("- Beside Magenta's hierdec-trio_16bar: encoder 2 x 2048 each way, z 512, conductor 2 x 1024, three core "
           "decoders of 2 x 1024, batch 256 (about 230M parameters), the drums fed to the network as a 512-wide "
           "one-hot; the same 256 free bits and beta 0.2; its trios were cut from MIDI files holding all three "
           "parts, recognised by program number (ours are put together, see Data), and not transposed (ours: "
           "melody and bass moved together).")


def trio_figures(classes: np.ndarray, config: MusicVaeConfig) -> dict[str, Any]:
    """card.figures of each part of trios [N, T, 3]: melody and bass as melodies, the drums as drums."""
    out: dict[str, Any] = {"windows": len(classes)}
    for k, part in enumerate(TRIO_PARTS):
        as_part = dataclasses.replace(config, kind="drums" if part == "drums" else "melody")
        out[part] = {name: v for name, v in figures(classes[:, :, k], as_part).items() if name != "windows"}
    return out


def _model(config: MusicVaeConfig) -> list[str]:
    core, conductor = " x ".join(map(str, config.decoder_sizes)), " x ".join(map(str, config.conductor_sizes))
    return [f"- {config.steps} steps of 16th notes ({config.bars} bars of 4/4), three parts at each step: melody and "
            "bass as 90 classes each (no event, note off, MIDI 21-108; Magenta's OneHotMelodyConverter), drums as "
            "the 9 drum classes struck as one of 512 (Magenta's DrumsConverter), in Magenta's TrioConverter order; "
            "the encoder's input row is the two one-hots and the drums' 9-bit roll (189 wide).",
            encoder_line(config),
            f"- Decoder, hierarchical (Magenta's HierarchicalLstmDecoder over a SplitMultiOutLstmDecoder, level "
            f"lengths [{config.bars}, 16], no autoregression in the conductor): a conductor LSTM {conductor}, its "
            f"state a dense tanh of z and its input a zero, gives one embedding per bar; each part has its own core "
            f"LSTM {core}, its state starting as a dense tanh of the bar's embedding at every bar, each step's "
            "input its own part's previous output with the embedding beside it (a bar's first step: its previous "
            "bar's last output), and a dense layer giving the logits. The parts hear each other only through the "
            "embeddings. Teacher-forced in training.",
            f"- Loss: the three parts' reconstruction NLLs summed + beta {config.beta:g} x max(KL - "
            f"{config.free_bits:g} free bits ({config.free_bits * np.log(2):.1f} nats), 0), divided by "
            f"{config.steps} steps.", MAGENTA]


def _data(data: dict[str, Any]) -> list[str]:
    styles = ", ".join(f"{k.removeprefix('windows with ').removesuffix(' drums')} {v:,}" for k, v in data.items()
                       if k.startswith("windows with ") and k.endswith(" drums"))
    off = next((f"{v:,}" for k, v in data.items() if k.startswith("windows with drums more than")), "?")
    lines = [
        "- No dataset holds trios, so each window is put together: POP909's 4/4 songs (index.csv) on 16th steps "
        "through their annotated beats; the melody is the MELODY track's top line; the bass is the PIANO track's "
        "lowest sounding note below G3 (MIDI 55), struck again where it changes or is re-struck; the drums are a "
        "Groove MIDI Dataset beat take of a pop-like style (rock, pop, funk, soul, hiphop, dance, country, punk) "
        "within 15% of the song's tempo (else one of the three nearest), looped or cut to 16 bars from a random "
        "bar (drawn per window, seeded, so every build is the same). Groove's own split gives the drums: its "
        "train takes for training songs, its validation takes for held-out songs.",
        f"- 16-bar windows from every bar line of a 4/4 run (held-out songs: not overlapping), kept when melody and "
        f"bass each play in at least 8 of the 16 bars; {data['train_windows']:,} training windows from "
        f"{data.get('train_songs', 0):,} songs, {data['validation_windows']:,} held out from "
        f"{data.get('held_out_songs', 0):,} songs; Groove takes used: {data.get('groove_train_loops', 0):,} "
        f"train, {data.get('groove_validation_loops', 0):,} validation.",
        f"- The bass sounds below the melody at {data.get('bass_below_melody', 0):.2%} of the steps where both "
        f"sound; the drums' tempo is a median {data.get('drum_tempo_median_off', 0):.1%} off the song's ({off} "
        f"windows more than 15% off). Drum styles by window: {styles or 'not recorded'}.",
        f"- Split: {data.get('split', '?')}.", f"- Augmentation: {data.get('augmentation', '?')}."]
    return lines + [f"- {k}: {v:,}" for k, v in data.items() if k.endswith("(dropped)")]


def _validation(v: dict[str, Any]) -> list[str]:
    s = v.get("argmax_decoded", {})
    teacher, decoded = v.get("part_accuracy", {}), s.get("parts", {})
    rows = [[part, f"{teacher.get(part, 0):.3f}", f"{decoded.get(part, {}).get('accuracy', 0):.3f} ± "
             f"{decoded.get(part, {}).get('standard_error', 0):.3f}", f"{decoded.get(part, {}).get('exact', 0):.3f}"]
            for part in TRIO_PARTS]
    rows.append(["all three", f"{v.get('accuracy', 0):.3f}",
                 f"{s.get('accuracy', 0):.3f} ± {s.get('standard_error', 0):.3f}", f"{s.get('exact', 0):.3f}"])
    return [f"All {v.get('windows', 0):,} held-out windows with z the posterior mean (teacher-forced), and "
            f"{s.get('windows', 0)} of them spread evenly reconstructed by argmax decoding from the posterior mean "
            f"(what a user's encode -> decode gives). Loss {v.get('loss', 0):.4f} nats/step, reconstruction NLL "
            f"{v.get('nll', 0):.4f} nats/step (three parts), KL {v.get('kl', 0):.1f} nats.", "",
            *table(["part", "teacher-forced accuracy", "argmax-decoded accuracy", "exactly reconstructed"], rows)]


def _quality(quality: dict[str, Any]) -> list[Section]:
    sections = []
    for part in TRIO_PARTS:
        first: dict[str, Any] = next(iter(quality.values()), {})
        names = list(first.get(part, {}))
        rows = [[name, q["windows"], *(f"{q[part][k][0]:.2f} ± {q[part][k][1]:.2f}" for k in names)]
                for name, q in quality.items()]
        sections.append(Section(f"Quality beside human: {part}", [
            "Sampled rows: z ~ N(0, I), seed 7. Human row: the held-out windows. Mean ± standard error over "
            "windows (`generation/families/music_vae/card.py`).", "", *table(["set", "windows", *names], rows)]))
    return sections


def card(config: MusicVaeConfig, info: dict[str, Any]) -> Card:
    data, training = info["data"], info.get("training", {})
    datasets = [Dataset("POP909 (music-x-lab/POP909-Dataset): melody and bass", f"{data.get('songs_used', 0):,} "
                        "songs", "MIT"),
                Dataset("Groove MIDI Dataset (magenta/groove): drums",
                        f"{data.get('groove_train_loops', 0) + data.get('groove_validation_loops', 0):,} beat takes",
                        "CC BY 4.0 (Gillick, Roberts, Engel, Eck, Bamman 2019)")]
    extra = [f"- Batch {training.get('batch_size')} windows drawn at random; z = mu + sigma * eps with eps drawn by "
             "the loop's seeded generator. The NLL columns of the curve are this loss (nats/step, three parts); "
             "the validation scores use z = mu"
             + (f", on {data['loop_validation_windows']:,} of the held-out windows spread evenly (the tables below: "
                "all of them)." if "loop_validation_windows" in data else ".")]
    limits = [f"- {config.bars} bars of 4/4 in 16th notes only; no dynamics or timing; one note at a time in the "
              "melody and in the bass.",
              "- The drums were never played with these songs: they come from Groove takes of a similar tempo and a "
              "pop-like style, so the model learns drums that fit a tempo and a groove, not a song's arrangement.",
              "- Samples from the prior are less coherent than reconstructions of real music."]
    return Card(config=config.name, command="music_vae_train", description=config.description, unit="step",
                model=_model(config), datasets=datasets, data=_data(data), training=extra,
                validation=_validation(info.get("stored_weights_validation", {})),
                quality=_quality(info.get("quality", {})), limits=limits)
