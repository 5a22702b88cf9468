"""Score a trained RNN-NADE bundle (the shipped float16 weights), and its part of MODEL_CARD.md (the shared
writer, engine/model_card.py, lays it out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generation.engine.bundle import Bundle
from generation.engine.model_card import Card, Dataset, Section, table
from generation.families.pianoroll.config import MIN_PITCH, PianorollConfig
from generation.families.pianoroll.dataset import Roll, eval_picks
from generation.quality.common import quality_lines

CARD_OUTPUTS = 10
PUBLISHED_JSB_NLL = 5.19  # RNN-NADE, Boulanger-Lewandowski et al. 2012, nats per time step on the test split
STEERING = (
    "voice leading at sampling time (generation/families/pianoroll/sampler.py and voice_leading.py; network and "
    "weights untouched): each step draws 4 frames from the NADE, scores each -1000 per parallel 5th/octave with "
    "the last chord plus 0.5 x its fit to the Krumhansl key of the music so far, and keeps one by Gumbel-max "
    "(sampling-importance-resampling towards p(frame) x exp(0.5 x fit), without parallels). "
    "`pianoroll_rnn_nade_generate --no_voice_leading` samples exactly as Magenta does.")
PLAIN = "none: Magenta's NADE sampling (`pianoroll_rnn_nade_generate --voice_leading` turns on voice leading)."


def roll_figures(rolls: Sequence[np.ndarray]) -> dict[str, float]:
    """Mean notes per frame, share of silent frames, lowest and highest pitch of some rolls."""
    stacked = np.concatenate([np.asarray(r) for r in rolls], axis=0)
    keys = np.flatnonzero(stacked.any(axis=0))
    return {"mean_notes_per_frame": float(stacked.sum(1).mean()), "silent_share": float((stacked.sum(1) == 0).mean()),
            "lowest_pitch": int(keys[0] + MIN_PITCH) if len(keys) else 0,
            "highest_pitch": int(keys[-1] + MIN_PITCH) if len(keys) else 0, "frames": int(len(stacked))}


def score_bundle(bundle: Bundle, splits: dict[str, list[Roll]], eval_window: int, eval_chunks: int,
                 quality_samples: int = 0) -> dict[str, Any]:
    """NLL per frame on each split with the stored weights, and figures of generated music beside the data's;
    with quality_samples, the quality report's chorale rows beside the test split (JSB configs)."""
    from generation.engine.sampling import SearchSettings
    from generation.families.pianoroll.generator import PianorollGenerator
    from generation.families.pianoroll.train import evaluate

    generator = PianorollGenerator(bundle)
    nll: dict[str, Any] = {}
    for name, rolls in splits.items():
        # POP909 training songs are many: score the same chunking as validation on every 10th song.
        subset = rolls if name != "train" or eval_window >= 4096 else rolls[::20]
        picks = eval_picks(subset, eval_window, eval_chunks)
        nll[name] = {"nll": evaluate(generator.model, subset, picks, eval_window),
                     "frames": int(sum(min(eval_window, len(subset[i]) - s) for i, s, _ in picks)),
                     "pieces": len(subset)}
    steps = 64 if generator.steps_per_quarter == 1 else 128
    out: dict[str, Any] = {"stored_weights_nll": nll, "generated": {}}
    for temperature in (1.0, 0.8):
        frames = generator.generate([], steps, CARD_OUTPUTS, SearchSettings(temperature=temperature), seed=7)
        rolls = [np.array([[p in f for p in range(MIN_PITCH, MIN_PITCH + 88)] for f in o]) for o in frames]
        out["generated"][f"temperature_{temperature}"] = {**roll_figures(rolls), "outputs": CARD_OUTPUTS,
                                                          "steps": steps}
    out["data_figures"] = roll_figures(splits["valid"])
    if quality_samples:
        from generation.quality.common import rows_to_json
        from generation.quality.texture_rows import pianoroll_rows

        out["quality_rows"] = rows_to_json(pianoroll_rows(quality_samples, generator, splits.get("test", []),
                                                          bundle.config))
    if "test" in splits:
        out["published_jsb_test_nll"] = PUBLISHED_JSB_NLL
    return out


def card(config: PianorollConfig, info: dict[str, Any]) -> Card:
    data, training = info["data"], info.get("training", {})
    model = [
        f"- Input and output: piano-roll frames of 88 keys (MIDI 21-108), one frame per {config.step_name} "
        f"(steps_per_quarter {config.steps_per_quarter}).",
        f"- Network: LSTM {' x '.join(map(str, config.layer_sizes))} over the previous frames; a dense layer gives "
        f"the biases of a NADE with {config.nade_hidden} hidden units (shared encoder/decoder weights) that draws "
        "the next frame's 88 keys from low to high. Magenta's layout and variable names.",
    ]
    lines = [f"- Split: {data['split']}.", f"- Resolution: {data['resolution']}.",
             f"- Frames: {', '.join(f'{k} {v:,}' for k, v in data['frames'].items())}.",
             f"- Augmentation: every transposition within +-{training.get('max_shift')} semitones that keeps the "
             "piece on the 88 keys."]
    if data.get("validation_scoring"):
        lines.append(f"- Validation and train scoring: {data['validation_scoring']} (train: every 20th training "
                     "song).")
    extra = [f"- Batch {training.get('batch_size')} sequences of up to {training.get('window')} frames, dropout "
             f"{training.get('dropout')} on LSTM outputs; exact NLL (sum of the 88 Bernoulli conditionals) per frame."]
    nll = info.get("stored_weights_nll", {})
    validation = ["NLL per frame in nats, summed over the 88 keys, averaged over every frame scored; the first frame "
                  "of each piece is predicted from the initial state.", "",
                  *table(["split", "pieces", "frames", "NLL (nats/frame)"],
                         [[k, v["pieces"], f"{v['frames']:,}", f"{v['nll']:.3f}"] for k, v in nll.items()])]
    if "test" in nll:
        validation += ["", f"**JSB test split: {nll['test']['nll']:.3f} nats/step** beside the published RNN-NADE "
                       f"figure of {info.get('published_jsb_test_nll', PUBLISHED_JSB_NLL)} (Boulanger-Lewandowski "
                       "et al. 2012). The test split was used for this figure only, never for training or model "
                       "selection."]
    rows = [[f"generated, {key.replace('_', ' ')}", g["frames"], f"{g['mean_notes_per_frame']:.2f}",
             f"{g['silent_share']:.1%}", f"{g['lowest_pitch']}-{g['highest_pitch']}"]
            for key, g in info.get("generated", {}).items()]
    d = info.get("data_figures")
    if d:
        rows.append(["human: validation data", d["frames"], f"{d['mean_notes_per_frame']:.2f}",
                     f"{d['silent_share']:.1%}", f"{d['lowest_pitch']}-{d['highest_pitch']}"])
    quality = [f"{CARD_OUTPUTS} outputs per row from an empty primer, seed 7, beside the held-out data.", "",
               *table(["set", "frames", "notes per frame", "silent frames", "pitch range"], rows)]
    return Card(
        config=config.name, command="pianoroll_rnn_nade_train", description=config.description + ".",
        unit="frame", model=model,
        datasets=[Dataset(name, d["pieces"], d["licence"]) for name, d in data["datasets"].items()], data=lines,
        training=extra, validation=validation,
        quality=[*([Section("Quality beside human", quality_lines(info["quality_rows"],
                                                               STEERING if config.voice_leading else PLAIN))]
                   if info.get("quality_rows") else []),
                 Section("Quality beside human: generated rolls", quality)],
        limits=["- A frame says which keys sound, not when they were struck: a key held over several frames and a "
                "key repeated every frame look the same, and both are written as one long note.",
                "- No velocity, no pedal, no meter: every note is written at velocity 100."])
