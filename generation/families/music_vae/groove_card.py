"""The GrooVAE card: held-out Groove windows played by the model from their own input (quantised hits or taps),
measured against the drummer's take and beside the drummers' own figures by the same code (groove_figures.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from generation.engine.model_card import Card, Dataset, Section, table
from generation.families.music_vae.groove_config import GrooveConfig
from generation.families.music_vae.groove_encoding import FIXED_VELOCITY, control, quantised
from generation.families.music_vae.groove_figures import ALONE, VERSUS, alone, pooled_velocity_r, versus

TEMPERATURES = (1.0, 0.5, 0.0)
SEED = 7
HUMAN = "drummers: the held-out takes themselves"
NO_MODEL = f"no model: the quantised pattern, velocity {FIXED_VELOCITY}, on the grid"


def quality_figures(generator: Any, held_out: np.ndarray) -> dict[str, Any]:
    """Each way of playing the held-out windows: {row: {"versus": ..., "alone": ..., "velocity_r_pooled"}}."""
    config: GrooveConfig = generator.config
    controls = control(held_out, config)
    played: dict[str, np.ndarray] = {
        f"GrooVAE, z from the prior, temperature {t:g}" if t else "GrooVAE, z = 0 (temperature 0)":
            generator.play(controls, t, SEED) for t in TEMPERATURES}
    played["GrooVAE, z from the drummer's own take (an upper bound)"] = generator.reconstruct(held_out, controls)
    if config.mode == "humanize":
        grid = np.concatenate([quantised(held_out), quantised(held_out) * FIXED_VELOCITY / 127,
                               np.zeros_like(quantised(held_out))], axis=-1)
        played[NO_MODEL] = grid.astype(np.float32)
    out: dict[str, Any] = {}
    for name, grooves in played.items():
        out[name] = {"versus": versus(grooves, held_out), "alone": alone(grooves),
                     "velocity_r_pooled": pooled_velocity_r(grooves, held_out)}
    out[HUMAN] = {"alone": alone(held_out), "silent_accuracy": float((held_out[..., :9] < 0.5).mean())}
    return out


def _cell(value: Any, digits: int) -> str:
    if not isinstance(value, list) or not np.isfinite(value[0]):
        return "-"
    se = f" ± {value[1]:.{digits}f}" if np.isfinite(value[1]) else ""
    return f"{value[0]:.{digits}f}{se}"


def quality_lines(config: GrooveConfig, quality: dict[str, Any]) -> list[str]:
    humanize = config.mode == "humanize"
    versus_cols = [k for k in VERSUS if not (humanize and k.startswith("hit"))]
    alone_cols = [k for k in ALONE if humanize and k in ALONE[:3] or not humanize]
    digits = {"hit accuracy": 3, "hit F1": 3, "velocity r": 3}
    rows_v = [[name, q["versus"]["windows"], *(_cell(q["versus"][k], digits.get(k, 1)) for k in versus_cols)]
              + ([f"{q['velocity_r_pooled']:.3f}" if np.isfinite(q["velocity_r_pooled"]) else "-"] if humanize else [])
              for name, q in quality.items() if "versus" in q]
    rows_a = [[name, q["alone"]["windows"], *(_cell(q["alone"][k], 2 if "per bar" in k else 1) for k in alone_cols)]
              for name, q in quality.items()]
    what = ("the same hits (humanize plays the input's hits: hit accuracy and F1 are 1 by construction)" if humanize
            else "the drums played on the taps of each window's onsets")
    return [f"Each held-out window's input (its {'quantised hits' if humanize else 'taps'}) played by the model: "
            f"{what}, z drawn with seed {SEED}. Against the drummer's take of the same window, on the cells both "
            "struck; velocity in MIDI units, offsets in ms at 120 qpm (a 16th = 125 ms); mean ± standard error "
            "over windows (`generation/families/music_vae/groove_figures.py`).", "",
            *table(["played by", "windows", *versus_cols, *(["velocity r (pooled)"] if humanize else [])], rows_v),
            *([] if humanize else ["", f"Silence everywhere would score a hit accuracy of "
                                   f"{quality.get(HUMAN, {}).get('silent_accuracy', float('nan')):.3f} against "
                                   "these takes: hit F1 is the figure to read."]),
            "", "The same grooves on their own, beside the drummers' (the same code):", "",
            *table(["played by", "windows", *alone_cols], rows_a)]


def card(config: GrooveConfig, info: dict[str, Any]) -> Card:
    data, training = info["data"], info.get("training", {})
    enc = " + ".join(str(u) for u in config.encoder_sizes)
    inputs = ("its quantised hits (9 per step)" if config.mode == "humanize"
              else "its taps (1 per step: anything struck)")
    model = [f"- {config.steps} steps of 16th notes ({config.bars} bars of 4/4); per step and drum class (the 9 of "
             "Magenta's drum models) a hit, a velocity (0-1) and a timing offset (-0.5..0.5 of a step): Magenta's "
             "GrooveConverter.",
             f"- Encoder: bidirectional LSTM, {enc} units each way, over the groove as played; mu and sigma of a "
             f"{config.z_size}-dimensional Gaussian z.",
             f"- Decoder: LSTM {' x '.join(map(str, config.decoder_sizes))}, state from a dense tanh of z; each "
             f"step reads the previous step's row, z, and the window's input at that step: {inputs}. A dense layer "
             "gives the hit logits, velocities (sigmoid) and offsets (tanh / 2).",
             "- Beside Magenta's: the decoder reads the input row of every step (Magenta's encoder reads it and the "
             "decoder sees z alone), so " + ("the user's hits are kept exactly" if config.mode == "humanize" else
                                              "the drums follow the taps (when playing: drums only on a tap, at "
                                              "least one on each, as in every training window)") +
             ", and z is a drummer's feel learnt from the takes as played (drawn from the prior when playing).",
             "- Loss: " + ("" if config.mode == "humanize" else "hits' sigmoid cross-entropy + ") +
             "squared error of velocity and of offset (in half steps) on the cells the drummer struck + beta "
             f"{config.beta:g} x max(KL - {config.free_bits:g} free bits, 0), divided by {config.steps} steps. "
             "Magenta's groovae: z 256, encoder 512, decoder 2 x 256, batch 512, 48 free bits, dropout.",
             f"- Batch {training.get('batch_size', config.batch_size)} windows."]
    lines = [f"- {data['windows']}: {data['train_windows']:,} training windows, {data['validation_windows']:,} "
             "held out.", f"- Split: {data['split']}.", f"- Augmentation: {data['augmentation']}."]
    v = info.get("stored_weights_validation", {})
    tap = config.mode == "tap"
    validation = [f"All {v.get('windows', 0):,} held-out windows, teacher-forced with z the posterior mean:", "",
                  *table(["loss (per step)", *(["hits cross-entropy (nats/step)"] if tap else []),
                          "velocity RMSE (MIDI)", "offset RMSE (ms at 120 qpm)", "KL (nats)"],
                         [[f"{v.get('loss', 0):.4f}", *([f"{v.get('hits_nll', 0):.4f}"] if tap else []),
                           f"{v.get('velocity_rmse', 0):.1f}", f"{v.get('offset_rmse_ms', 0):.1f}",
                           f"{v.get('kl', 0):.1f}"]], left=0)]
    limits = ["- 2-bar windows of 4/4 in 16ths; longer parts are played 2 bars at a time (each window its own z).",
              "- Hits off the 16th grid (triplets, flams) are read on their nearest 16th.",
              "- Trained on one kit's 9 classes: other percussion is " +
              ("kept at its step and velocity" if config.mode == "humanize" else "never played") + "."]
    return Card(config=config.name, command="music_vae_train", description=config.description, unit="step",
                model=model, datasets=[Dataset(data["dataset"], f"{sum(data['takes'].values()):,} takes",
                                               data["licence"])],
                data=lines, validation=validation,
                quality=[Section("Quality beside the drummers", quality_lines(config, info.get("quality", {})))],
                limits=limits,
                training=["- Windows drawn at random; z = mu + sigma * eps, eps from the loop's seeded generator. "
                          "The NLL columns of the curve are this loss per step."])
