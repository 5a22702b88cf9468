"""Write an Improv RNN bundle's MODEL_CARD.md from what its training run recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generation.models.improv.config import ImprovConfig


def write_card(folder: Path, config: ImprovConfig, info: dict[str, Any]) -> None:
    data, training = info["data"], info["training"]
    history = training["history"]
    last = history[-1]
    size_kb = (folder / "weights.npz").stat().st_size / 1024
    lines = [
        f"# {config.name}: model card",
        "",
        "_Written by `improv_rnn_train`; the figures below come from the run that produced `weights.npz`._",
        "",
        f"{config.description}",
        "",
        "## Model",
        f"- Chord input: {config.chord_encoding} ({config.chord_input_size} wide); melody: one-hot of 38 "
        f"events (no event, note off, MIDI {config.min_note}-{config.max_note - 1}); input {config.input_size}.",
        f"- Network: LSTM {' x '.join(map(str, config.layer_sizes))}"
        + (f", attention over the last {config.attn_length} steps on the first layer" if config.attn_length
           else "")
        + f"; {info.get('parameters', 0):,} parameters; weights file {size_kb:.0f} KB (float16).",
        "- Layout and variable names are Magenta's (BasicLSTMCell gates i, j, f, o, forget bias +1.0 at run time).",
        "",
        "## Data",
    ]
    for name, d in data["datasets"].items():
        lines.append(f"- {name}: {d['pieces']} pieces read. Licence: {d['licence']}.")
    lines += [
        f"- Split: {data['split']}: {data['train_pieces']} training pieces, {data['validation_pieces']} held out.",
        f"- Augmentation: {data['augmentation']}.",
        f"- Training steps of music: {data.get('train_steps', 0):,} (16th notes, all transpositions); "
        f"validation: {data.get('validation_steps', 0):,}.",
        f"- Notes from corpus building: {data.get('corpus_notes', {})}.",
        *([f"- Initialised from {data['initialised_from']}"
           + ("" if data["initialised_from"].startswith(config.name + " ")
              else " (attention wrapper starting as a pass-through)")
           + f"; validation NLL at the start {data['validation_at_start']['nll']:.4f} nats/step."]
          if "initialised_from" in data else []),
        "",
        "## Training",
        f"- {training['steps']} steps of Adam, batch {training['batch_size']} x {training['window']} steps, "
        f"learning rate {training['learning_rate']} cosine-decayed to {training['final_learning_rate']}, "
        f"gradient clip {training['clip_norm']}; {last['seconds'] / 60:.0f} min on a 2-core CPU.",
        "",
        "| step | train NLL (nats/step) | validation NLL (nats/step) | validation accuracy |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {h['step']} | {h['train_nll']:.4f} | {h['valid_nll']:.4f} | {h['valid_accuracy']:.3f} |"
              for h in history]
    stored = info.get("stored_weights_validation")
    if stored:
        lines += ["", f"The shipped float16 weights, scored on the same held-out pieces ({stored['steps']:,} steps): "
                  f"**validation NLL {stored['nll']:.4f} nats/step, accuracy {stored['accuracy']:.3f}**."]
    lines += ["", "## Quality: chord-tone ratio",
              "Share of melody notes on beats 1 and 3 whose pitch class is the root, third, fifth or seventh of "
              "the chord sounding then (`python -m generation.quality.improv_report`). The tritone column scores "
              "the same melodies against the progression moved by a tritone: the gap shows the chords steer "
              "the melody. The ± is one standard error of the ratio over the notes scored.", "",
              "| set | melodies | notes scored | chord-tone ratio | vs tritone | margin |",
              "|---|---:|---:|---:|---:|---:|"]
    for key, q in info.get("quality", {}).items():
        lines.append(f"| generated, {key.replace('_', ' ')} | {q['generations']} | {q['notes_scored']} | "
                     f"{q['chord_tone_ratio']:.3f} ± {q['standard_error']:.3f} | {q['tritone_ratio']:.3f} | "
                     f"{q['margin']:+.3f} |")
    for key, h in info.get("human", {}).items():
        lines.append(f"| human: {key} | {h['pieces']} pieces | {h['notes_scored']} | {h['chord_tone_ratio']:.3f} "
                     f"| {h['tritone_ratio']:.3f} | {h['chord_tone_ratio'] - h['tritone_ratio']:+.3f} |")
    q1 = info.get("quality", {}).get("temperature_1.0")
    if q1:
        lines += ["", "Per progression at temperature 1.0 (primer: one middle C, 16 steps per chord):", "",
                  "| progression | chord-tone ratio | vs tritone | notes |", "|---|---:|---:|---:|"]
        lines += [f"| {name} | {p['chord_tone_ratio']:.3f} | {p['tritone_ratio']:.3f} | {p['notes']} |"
                  for name, p in q1["per_progression"].items()]
    lines += ["", "## Limits",
              "- Trained on folk tunes and standards in 4/4, 3/4 and 6/8; it knows nothing of swing feel or "
              "rhythm beyond 16th notes.",
              "- The model sees one chord per step and no bar position; bar lines are implied by chord changes.",
              "- Nottingham is GPL-3.0: treat these weights as a derivative of GPL data when redistributing.", ""]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines))
