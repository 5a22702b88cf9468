"""Score a trained RNN-NADE bundle (the shipped float16 weights) and write its MODEL_CARD.md."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from generation.models.bundle import Bundle
from generation.models.pianoroll.config import MIN_PITCH, PianorollConfig
from generation.models.pianoroll.dataset import Roll, eval_picks

CARD_OUTPUTS = 10


def roll_figures(rolls: Sequence[np.ndarray]) -> dict[str, float]:
    """Mean notes per frame, share of silent frames, lowest and highest pitch of some rolls."""
    stacked = np.concatenate([np.asarray(r) for r in rolls], axis=0)
    keys = np.flatnonzero(stacked.any(axis=0))
    return {"mean_notes_per_frame": float(stacked.sum(1).mean()), "silent_share": float((stacked.sum(1) == 0).mean()),
            "lowest_pitch": int(keys[0] + MIN_PITCH) if len(keys) else 0,
            "highest_pitch": int(keys[-1] + MIN_PITCH) if len(keys) else 0, "frames": int(len(stacked))}


def score_bundle(bundle: Bundle, splits: dict[str, list[Roll]], eval_window: int, eval_chunks: int
                 ) -> dict[str, Any]:
    """NLL per frame on each split with the stored weights, and figures of generated music beside the data's."""
    from generation.models.pianoroll.generator import PianorollGenerator
    from generation.models.pianoroll.train import evaluate
    from generation.models.sampling import SearchSettings

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
    return out


def write_card(folder: Path, config: PianorollConfig, info: dict[str, Any]) -> None:
    data, training = info["data"], info["training"]
    history = training["history"]
    size_kb = (folder / "weights.npz").stat().st_size / 1024
    params = int(sum(np.prod(w.shape) for w in Bundle.load(folder).weights.values()))
    lines = [
        f"# {config.name}: model card", "",
        "_Written by `pianoroll_rnn_nade_train`; the figures below come from the run that produced `weights.npz`._",
        "", config.description + ".", "",
        "## Model",
        f"- Input and output: piano-roll frames of 88 keys (MIDI 21-108), one frame per {config.step_name} "
        f"(steps_per_quarter {config.steps_per_quarter}).",
        f"- Network: LSTM {' x '.join(map(str, config.layer_sizes))} over the previous frames; a dense layer gives "
        f"the biases of a NADE with {config.nade_hidden} hidden units (shared encoder/decoder weights) that draws "
        "the next frame's 88 keys from low to high. Magenta's layout and variable names.",
        f"- {params:,} parameters; weights file {size_kb:.0f} KB (float16).", "",
        "## Data",
    ]
    for name, d in data["datasets"].items():
        lines.append(f"- {name}: {d['pieces']} pieces. Licence: {d['licence']}.")
    lines += [f"- Split: {data['split']}.", f"- Resolution: {data['resolution']}.",
              f"- Frames: {', '.join(f'{k} {v:,}' for k, v in data['frames'].items())}.",
              f"- Augmentation: every transposition within +-{training['max_shift']} semitones that keeps the "
              "piece on the 88 keys.", "",
              "## Training",
              f"- Adam, batch {training['batch_size']} sequences of up to {training['window']} frames, learning "
              f"rate {training['learning_rate']} cosine-decayed to {training['final_learning_rate']} over "
              f"{training['steps']} steps, gradient clip {training['clip_norm']}, dropout {training['dropout']} on "
              "LSTM outputs; exact NLL (sum of the 88 Bernoulli conditionals) per frame.",
              f"- Ran {training['steps_run']} steps in {history[-1]['seconds'] / 60:.1f} min on a shared 2-core CPU; "
              f"the weights kept are those of the best validation NLL (step {training['best_step']}).", "",
              "| step | train NLL (nats/frame, with dropout) | validation NLL (nats/frame) |", "|---:|---:|---:|"]
    lines += [f"| {h['step']} | {h['train_nll']:.3f} | {h['valid_nll']:.3f} |" for h in history]
    run = data.get("initialised_from")
    while run:
        earlier, cfg = run["history"], run.get("settings") or {}
        lines += ["", f"Before that, the starting weights (`{run['bundle']}`) were trained {run['steps_run']} steps"
                  + (f" (batch {cfg['batch_size']}, learning rate {cfg['learning_rate']} cosine-decayed to "
                     f"{cfg['final_learning_rate']} over {cfg['steps']} steps, dropout {cfg['dropout']})"
                     if cfg.get("batch_size") else "")
                  + f"; the best validation NLL, "
                  f"{min((h['valid_nll'] for h in earlier), default=float('nan')):.3f} at step {run['best_step']}, "
                  "was kept as the starting point:", "",
                  "| step | train NLL | validation NLL |", "|---:|---:|---:|"]
        lines += [f"| {h['step']} | {h['train_nll']:.3f} | {h['valid_nll']:.3f} |" for h in earlier]
        run = run.get("earlier")
    nll = info.get("stored_weights_nll", {})
    lines += ["", "## Scores of the shipped float16 weights", "",
              "NLL per frame in nats, summed over the 88 keys, averaged over every frame scored; the first frame of "
              "each piece is predicted from the initial state.", "",
              "| split | pieces | frames | NLL (nats/frame) |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {v['pieces']} | {v['frames']:,} | {v['nll']:.3f} |" for k, v in nll.items()]
    if "test" in nll:
        lines += ["", f"**JSB test split: {nll['test']['nll']:.3f} nats/step** beside the published RNN-NADE "
                  f"figure of {info.get('published_jsb_test_nll', 5.19)} (Boulanger-Lewandowski et al. 2012). "
                  "The test split was used for this figure only, never for training or model selection."]
    if data.get("validation_scoring"):
        lines += ["", f"Validation and train scoring: {data['validation_scoring']} (train: every 20th training song)."]
    lines += ["", "## Generated music", "",
              f"{CARD_OUTPUTS} outputs per row from an empty primer, seed 7, beside the held-out data.", "",
              "| set | frames | notes per frame | silent frames | pitch range |", "|---|---:|---:|---:|---:|"]
    for key, g in info.get("generated", {}).items():
        lines.append(f"| generated, {key.replace('_', ' ')} | {g['frames']} | {g['mean_notes_per_frame']:.2f} | "
                     f"{g['silent_share']:.1%} | {g['lowest_pitch']}-{g['highest_pitch']} |")
    d = info.get("data_figures")
    if d:
        lines.append(f"| validation data | {d['frames']} | {d['mean_notes_per_frame']:.2f} | {d['silent_share']:.1%} "
                     f"| {d['lowest_pitch']}-{d['highest_pitch']} |")
    lines += ["", "## Limits",
              "- A frame says which keys sound, not when they were struck: a key held over several frames and a "
              "key repeated every frame look the same, and both are written as one long note.",
              "- No velocity, no pedal, no meter: every note is written at velocity 100.", ""]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines))
