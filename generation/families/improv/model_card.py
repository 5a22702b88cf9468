"""The Improv RNN's part of its MODEL_CARD.md (the shared writer, engine/model_card.py, lays it out)."""

from __future__ import annotations

from typing import Any

from generation.engine.model_card import Card, Dataset, Section, table
from generation.families.improv.config import ImprovConfig
from generation.quality.common import quality_lines

STEERING = (
    "note density, at sampling time (generation/families/improv/steering.py; which pitch, hence the chord tones, "
    "stays the model's choice): every note-on logit moves by -1.0 x log(recent rate / target) - 1.0 x (bars' worth "
    "of notes ahead of the target so far), weighted by place in the bar (weak 16ths thinned first, beats 1 and 3 "
    "never forced). The default target is the human figure for such chords (5.1 notes per bar when all chords are "
    "triads or dominant 7ths, else 3.3), each output's drawn around it (log sd 0.3); `notes_per_bar:` (chat) or "
    "`--notes_per_bar` asks for another, and `improv_rnn_generate --no_steering` samples exactly as Magenta does.")


def card(config: ImprovConfig, info: dict[str, Any]) -> Card:
    data, training = info["data"], info.get("training", {})
    model = [
        f"- Chord input: {config.chord_encoding} ({config.chord_input_size} wide); melody: one-hot of "
        f"{config.num_classes} events (no event, note off, MIDI {config.min_note}-{config.max_note - 1}); input "
        f"{config.input_size}.",
        f"- Network: LSTM {' x '.join(map(str, info.get('layer_sizes', config.layer_sizes)))}"
        + (f", attention over the last {config.attn_length} steps on the first layer" if config.attn_length else "")
        + "; Magenta's layout and variable names (BasicLSTMCell gates i, j, f, o, forget bias +1.0 at run time).",
    ]
    datasets = [Dataset(name, d["pieces"], d["licence"]) for name, d in data["datasets"].items()]
    lines = [f"- Split: {data['split']}: {data['train_pieces']} training pieces, {data['validation_pieces']} held "
             "out.", f"- Augmentation: {data['augmentation']}."]
    if "train_steps" in data:
        lines.append(f"- Training steps of music: {data['train_steps']:,} (16th notes, all transpositions); "
                     f"validation: {data.get('validation_steps', 0):,}.")
    if data.get("corpus_notes"):
        lines.append("- Corpus building: " + "; ".join(f"{k} {v:,}" for k, v in data["corpus_notes"].items()) + ".")
    extra = [f"- Batch {training.get('batch_size')} windows of {training.get('window')} steps."]
    start = training.get("initialised_from") or data.get("initialised_from")
    base = start.get("config") if isinstance(start, dict) else start.split(" ")[0] if isinstance(start, str) else None
    if base and base != config.name and config.attn_length:
        extra.append(f"- Started from {base}: the attention wrapper starts as a pass-through, computing exactly what "
                     f"{base} did, before it learns to use attention.")
    stored = info.get("stored_weights_validation", {})
    validation = [f"The shipped float16 weights on the held-out pieces ({stored.get('steps', 0):,} steps): "
                  f"**NLL {stored.get('nll', float('nan')):.4f} nats/step, accuracy "
                  f"{stored.get('accuracy', float('nan')):.3f}**."]
    rows = [[f"generated, {key.replace('_', ' ')}", q["generations"], q["notes_scored"],
             f"{q['chord_tone_ratio']:.3f} ± {q['standard_error']:.3f}", f"{q['tritone_ratio']:.3f}",
             f"{q['margin']:+.3f}"] for key, q in info.get("quality", {}).items()]
    rows += [[f"human: {key}", f"{h['pieces']} pieces", h["notes_scored"], f"{h['chord_tone_ratio']:.3f}",
              f"{h['tritone_ratio']:.3f}", f"{h['chord_tone_ratio'] - h['tritone_ratio']:+.3f}"]
             for key, h in info.get("human", {}).items()]
    quality = ["Share of melody notes on beats 1 and 3 whose pitch class is the root, third, fifth or seventh of "
               "the chord sounding then (`python -m generation.quality.improv_report`). The tritone column scores "
               "the same melodies against the progression moved by a tritone: the gap shows the chords steer the "
               "melody. The ± is one standard error of the ratio over the notes scored.", "",
               *table(["set", "melodies", "notes scored", "chord-tone ratio", "vs tritone", "margin"], rows)]
    q1 = info.get("quality", {}).get("temperature_1.0")
    if q1:
        quality += ["", "Per progression at temperature 1.0 (primer: one middle C, 16 steps per chord):", "",
                    *table(["progression", "chord-tone ratio", "vs tritone", "notes"],
                           [[name, f"{p['chord_tone_ratio']:.3f}", f"{p['tritone_ratio']:.3f}", p["notes"]]
                            for name, p in q1["per_progression"].items()])]
    return Card(
        config=config.name, command="improv_rnn_train", description=config.description, unit="step", model=model,
        datasets=datasets, data=lines, training=extra, validation=validation,
        quality=[*([Section("Quality beside human", quality_lines(info["quality_rows"], STEERING))]
                   if info.get("quality_rows") else []),
                 Section("Quality beside human: chord-tone ratio", quality)],
        limits=["- Trained on folk tunes and standards in 4/4, 3/4 and 6/8; it knows nothing of swing feel or "
                "rhythm beyond 16th notes.",
                "- The model sees one chord per step and no bar position; bar lines are implied by chord changes.",
                "- Nottingham is GPL-3.0: treat these weights as a derivative of GPL data when redistributing."])
