"""The MusicVAE card: figures of prior samples beside held-out human windows (the same code measures both), and
its part of MODEL_CARD.md (engine/model_card.py lays it out).

Melodies: note onsets per bar, distinct pitches per window (2 or 16 bars), mean leap between successive notes
(semitones). Drums: steps per bar on which the kick, the snare, a hi-hat (closed or open) or anything is struck.
Each is a mean over windows with its standard error. A trio's card (trio_card.py) gives them part by part.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from generation.engine.model_card import Card, Dataset, Section, table
from generation.families.drums.encoding import CLOSED_HAT, KICK, OPEN_HAT, SNARE, class_bits
from generation.families.music_vae.config import MIN_PITCH, MusicVaeConfig
from generation.families.music_vae.encoding import track_classes

TEMPERATURES = (1.0, 0.5)  # 0.5: the temperature of Magenta's MusicVAE notebook
SEED = 7


def _notes(row: np.ndarray) -> np.ndarray:
    return row[row >= 2] - 2 + MIN_PITCH


def _leap(row: np.ndarray) -> float:
    notes = _notes(row)
    return float(np.abs(np.diff(notes)).mean()) if len(notes) > 1 else float("nan")


def _figure_functions(config: MusicVaeConfig) -> dict[str, Callable[[np.ndarray], float]]:
    bars = config.bars
    if config.kind == "melody":
        return {"notes per bar": lambda r: float((r >= 2).sum() / bars),
                "pitches per window": lambda r: float(len(set(_notes(r).tolist()))),
                "mean leap (semitones)": _leap}
    def struck(classes: tuple[int, ...]) -> Callable[[np.ndarray], float]:
        return lambda r: float(class_bits(r)[:, list(classes)].any(axis=1).sum() / bars)

    return {"kick per bar": struck((KICK,)), "snare per bar": struck((SNARE,)),
            "hi-hat per bar": struck((CLOSED_HAT, OPEN_HAT)),
            "hits per bar (any)": lambda r: float((r > 0).sum() / bars)}


def figures(classes: np.ndarray, config: MusicVaeConfig) -> dict[str, Any]:
    """Mean and standard error of each figure over windows [N, T] of classes (a trio's [N, T, 3]: each part's)."""
    if config.kind == "trio":
        from generation.families.music_vae.trio_card import trio_figures

        return trio_figures(classes, config)
    out: dict[str, Any] = {"windows": len(classes)}
    for name, f in _figure_functions(config).items():
        values = np.array([f(row) for row in classes])
        values = values[np.isfinite(values)]
        out[name] = [float(values.mean()) if len(values) else float("nan"),
                     float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")]
    return out


def quality_figures(generator: Any, held_out: np.ndarray, samples: int) -> dict[str, Any]:
    """Prior samples at each temperature beside the held-out windows."""
    out: dict[str, Any] = {}
    for temperature in TEMPERATURES:
        tracks = generator.sample(samples, temperature, SEED)
        out[f"sampled, temperature {temperature}"] = figures(track_classes(tracks, generator.config),
                                                            generator.config)
    out["human: held-out windows"] = figures(held_out, generator.config)
    return out


def _datasets(config: MusicVaeConfig, data: dict[str, Any]) -> list[Dataset]:
    if config.kind == "melody":
        return [Dataset(name, f"{d['pieces']:,} pieces -> {d['melodies']:,} melodies", d["licence"])
                for name, d in data["sources"].items()]
    return [Dataset(data["dataset"], f"{sum(data['takes'].values()):,} takes", data["licence"])]


def encoder_line(config: MusicVaeConfig) -> str:
    """The card's line on the encoder: flat, or hierarchical (a bar reader, then a reader of the bars)."""
    enc = " + ".join(str(u) for u in config.encoder_sizes)
    gaussian = f"give mu (dense) and sigma (dense, softplus) of a {config.z_size}-dimensional diagonal Gaussian z."
    if not config.bar_encoder_sizes:
        return f"- Encoder: bidirectional LSTM, {enc} units each way; its last forward and backward outputs {gaussian}"
    bars = " + ".join(str(u) for u in config.bar_encoder_sizes)
    return (f"- Encoder, hierarchical (Magenta's HierarchicalLstmEncoder, level lengths [{config.bars}, 16]): a "
            f"bidirectional LSTM of {enc} units each way reads each bar on its own; its last forward and backward "
            f"outputs for the {config.bars} bars are read in order by a bidirectional LSTM of {bars} units each way, "
            f"whose last forward and backward outputs {gaussian}")


def _decoder_lines(config: MusicVaeConfig) -> list[str]:
    core = " x ".join(map(str, config.decoder_sizes))
    if not config.hierarchical:
        return [f"- Decoder: LSTM {core}, its state starting as a dense tanh of z; each step's input is the "
                "previous output's row with z beside it (teacher-forced in training); a dense layer gives the "
                "logits."]
    conductor = " x ".join(map(str, config.conductor_sizes))
    return [f"- Decoder, hierarchical (Magenta's HierarchicalLstmDecoder, level lengths [{config.bars}, 16], "
            f"no autoregression in the conductor): a conductor LSTM {conductor}, its state starting as a dense tanh "
            f"of z and its input a zero, gives one embedding per bar ({config.bars}); a core LSTM {core} decodes "
            "each bar, its state starting as a dense tanh of the bar's embedding, each step's input the previous "
            "output's row with the embedding beside it (a bar's first step: the previous bar's last output); a "
            "dense layer gives the logits. Teacher-forced in training."]


def _beside_magenta(config: MusicVaeConfig, training: dict[str, Any]) -> str:
    batch = training.get("batch_size", "?")
    if config.hierarchical:
        return ("- Beside Magenta's hierdec-mel_16bar: a flat encoder of 2 x 2048 each way, z 512, conductor "
                f"2 x 1024 and core 2 x 1024 there, batch 512 (ours: batch {batch}); the same 256 free bits and "
                "beta 0.2; training windows transposed here (none there). Ours reads the bars hierarchically, as "
                "Magenta's hier-mel_16bar does: a flat 256-unit encoder over all 256 steps learnt little of the "
                "middle bars in CPU minutes.")
    return ("- Beside Magenta's `_small` config: smaller encoder (Magenta: 512 each way), batch "
            f"{batch} (Magenta: 512), a fixed beta (Magenta's cat-mel_2bar anneals beta "
            "up from 0 over ~100k steps), no scheduled sampling (Magenta's inverse-sigmoid schedule still "
            "teacher-forces > 99% of steps in its first 1,000).")


def card(config: MusicVaeConfig, info: dict[str, Any]) -> Card:
    if config.kind == "trio":
        from generation.families.music_vae import trio_card

        return trio_card.card(config, info)
    data, training = info["data"], info.get("training", {})
    inputs = ("one-hot of 90 classes (no event, note off, MIDI 21-108), Magenta's OneHotMelodyConverter"
              if config.kind == "melody" else "the 9 drum classes struck at a step as one of 512 classes "
              "(Magenta's DrumsConverter); the network's inputs are the 9-bit roll (roll_input), its outputs "
              "the 512 classes")
    model = [f"- {config.steps} steps of 16th notes ({config.bars} bars of 4/4); {inputs}.",
             encoder_line(config),
             *_decoder_lines(config),
             f"- Loss: reconstruction NLL + beta {config.beta:g} x max(KL - {config.free_bits:g} free bits "
             f"({config.free_bits * np.log(2):.1f} nats), 0), divided by {config.steps} steps.",
             _beside_magenta(config, training)]
    lines = [f"- {config.bars}-bar windows from every bar line; {data['train_windows']:,} distinct training windows, "
             f"{data['validation_windows']:,} held out.",
             f"- Split: {data['split']}.", f"- Augmentation: {data['augmentation']}."]
    lines += [f"- {k}: {v:,}" for k, v in data.items() if k.endswith("(dropped)")]
    extra = [f"- Batch {training.get('batch_size')} windows drawn at random; z = mu + sigma * eps with eps drawn "
             "by the loop's seeded generator. The NLL columns of the curve are this loss (nats/step); the "
             "validation scores use z = mu"
             + (f", on {data['loop_validation_windows']:,} of the held-out windows spread evenly (the table below: "
                "all of them)." if "loop_validation_windows" in data else ".")]
    extra += [f"- Warm start: {w['variables']} variables ({w['values']:,} values) copied from the {w['kind']} model "
              f"`{w['model']}` (its decoder into each {w['kind']} core decoder, its encoder where the inputs match); "
              "the rest, the conductor included, drawn fresh." for w in training.get("warm_start", [])]
    if training.get("freeze"):
        extra.append(f"- Frozen: the {training.get('frozen_variables', 0)} variables under "
                     f"{', '.join(training['freeze'])} kept as they started.")
    if training.get("input_dropout"):
        extra.append(f"- Word dropout: {training['input_dropout']:.0%} of the decoder's teacher-forced inputs, "
                     "drawn afresh each batch, replaced by the start row (zeros), so that the decoder reads z for "
                     "them; validation and generation see every input.")
    v = info.get("stored_weights_validation", {})
    s = v.get("argmax_decoded", {})
    validation = [f"All {v.get('windows', 0):,} held-out windows with z the posterior mean (teacher-forced), and "
                  f"{s.get('windows', 0)} of them spread evenly reconstructed by argmax decoding from the posterior "
                  "mean (what a user's encode -> decode gives):", "",
                  *table(["loss (nats/step)", "reconstruction NLL (nats/step)", "KL (nats)",
                          "teacher-forced accuracy", "argmax-decoded accuracy", "exactly reconstructed"],
                         [[f"{v.get('loss', 0):.4f}", f"{v.get('nll', 0):.4f}", f"{v.get('kl', 0):.1f}",
                           f"{v.get('accuracy', 0):.3f}",
                           f"{s.get('accuracy', 0):.3f} ± {s.get('standard_error', 0):.3f}",
                           f"{s.get('exact', 0):.3f}"]], left=0)]
    quality = info.get("quality", {})
    names = [k for k in next(iter(quality.values()), {}) if k != "windows"]
    rows = [[name, q["windows"], *(f"{q[k][0]:.2f} ± {q[k][1]:.2f}" for k in names)] for name, q in quality.items()]
    section = [f"Sampled rows: z ~ N(0, I), seed {SEED}. Human row: the held-out windows. Mean ± standard error "
               "over windows (`generation/families/music_vae/card.py`).", "", *table(["set", "windows", *names], rows)]
    limits = [f"- {config.bars} bars of 4/4 in 16th notes only; no dynamics or timing.",
              "- Samples from the prior are less coherent than reconstructions of real music.",
              *(["- Nottingham is GPL-3.0: treat these weights as a derivative of GPL data when redistributing."]
                if "nottingham" in data.get("sources", {}) else [])]
    return Card(config=config.name, command="music_vae_train", description=config.description, unit="step",
                model=model, datasets=_datasets(config, data), data=lines, training=extra, validation=validation,
                quality=[Section("Quality beside human", section)], limits=limits)
