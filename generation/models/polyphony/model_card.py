"""The Polyphony RNN's MODEL_CARD.md, and the quality figures it reports, from what the training run recorded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from generation.models.polyphony.encoding import melody_primer_notes
from generation.music.notes import Note, pianoroll_of

TWINKLE = (60, -2, 60, -2, 67, -2, 67, -2, 69, -2, 69, -2, 67, -2, -2, -2)
CARD_STEPS = 128


def texture_figures(pieces: Sequence[Sequence[Note]], steps: Sequence[int]) -> dict[str, float]:
    """What a listener notices in a set of pieces: how many voices sound, how long notes are, which pitches."""
    voices = np.concatenate([[len(f) for f in pianoroll_of(p, n)] for p, n in zip(pieces, steps, strict=True)])
    pitches = np.array([n.pitch for p in pieces for n in p] or [0])
    lengths = np.array([n.end - n.start for p in pieces for n in p] or [0])
    return {
        "pieces": len(pieces),
        "mean_voices": float(voices.mean()),
        "share_3_4_voices": float(((voices >= 3) & (voices <= 4)).mean()),
        "share_silent": float((voices == 0).mean()),
        "share_over_4_voices": float((voices > 4).mean()),
        "lowest_pitch": int(pitches.min()),
        "highest_pitch": int(pitches.max()),
        "median_pitch": float(np.median(pitches)),
        "pitch_p1": float(np.percentile(pitches, 1)),
        "pitch_p99": float(np.percentile(pitches, 99)),
        "mean_note_steps": float(lengths.mean()),
    }


def quality_figures(generator: Any, outputs: int, seed: int = 7) -> dict[str, Any]:
    """Texture figures of generated music (free, and harmonizing a melody), beside the validation chorales."""
    from generation.models.polyphony.dataset import load_jsb
    from generation.models.sampling import SearchSettings

    figures: dict[str, Any] = {}
    for temperature in (1.0, 0.8):
        pieces = generator.generate([], CARD_STEPS, condition_on_primer=False, inject_primer=False,
                                    num_outputs=outputs, search=SearchSettings(temperature=temperature), seed=seed)
        figures[f"free, T={temperature}"] = texture_figures(pieces, [CARD_STEPS] * len(pieces))
    melody = melody_primer_notes(TWINKLE)
    pieces = generator.generate(melody, CARD_STEPS, condition_on_primer=False, inject_primer=True,
                                num_outputs=outputs, search=SearchSettings(), seed=seed)
    figures["harmonizing Twinkle (16 steps), then free, T=1.0"] = texture_figures(pieces, [CARD_STEPS] * len(pieces))
    chorales = load_jsb()["valid"]
    figures["human: validation chorales"] = texture_figures(chorales, [max(n.end for n in p) for p in chorales])
    return figures


def write_card(folder: Path, info: dict[str, Any]) -> None:
    data, training = info["data"], info["training"]
    history = training["history"]
    last = history[-1]
    sizes = training["layer_sizes"]
    size_kb = (folder / "weights.npz").stat().st_size / 1024
    lines = [
        "# polyphony: model card",
        "",
        "_Written by `polyphony_rnn_train`; the figures below come from the run that produced `weights.npz`._",
        "",
        "A Polyphony RNN in Magenta's layout: it writes four-part-chorale-like music one note event at a time, "
        "and can harmonize a melody under it (`polyphony_rnn_generate --primer_melody=...`).",
        "",
        "## Model",
        "- Encoding: Magenta's polyphony events, 259 one-hot classes (START, END, STEP_END, NEW_NOTE x 128, "
        "CONTINUED_NOTE x 128); 16th-note steps, 4 per quarter; within a step the highest pitch comes first.",
        f"- Network: LSTM {' x '.join(map(str, sizes))}; {info.get('parameters', 0):,} parameters; weights file "
        f"{size_kb:.0f} KB (float16). Magenta's config uses 3 x 256.",
        "- Layout and variable names are Magenta's (BasicLSTMCell gates i, j, f, o, forget bias +1.0 at run time).",
        "",
        "## Data",
        f"- {data['dataset']}. Licence: {data['licence']}.",
        f"- Split: {data['split']}.",
        f"- Training: {data['train_windows']:,} windows, {data['train_events']:,} events; {data['windows']}.",
        f"- Augmentation: {data['augmentation']}.",
        f"- Validation: the {data['pieces']['valid']} validation chorales whole, from START "
        f"({data['validation_events']:,} events).",
        "",
        "## Training",
        *_earlier(data),
        f"- {last['step']} steps of Adam, batch {training['batch_size']} windows, learning rate "
        f"{training['learning_rate']} cosine-decayed to {training['final_learning_rate']} (over "
        f"{training['steps']} steps or {training['max_minutes']:g} minutes, whichever ends first), gradient clip "
        f"{training['clip_norm']}; {last['seconds'] / 60:.0f} min on a 2-core CPU shared with other training runs.",
        "",
        "| step | train NLL (nats/event) | validation NLL (nats/event) | validation accuracy |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {h['step']} | {h['train_nll']:.4f} | {h['valid_nll']:.4f} | {h['valid_accuracy']:.3f} |"
              for h in history]
    stored = info.get("stored_weights_validation")
    if stored:
        lines += ["", f"The shipped float16 weights on the validation chorales ({stored['events']:,} events): "
                  f"**NLL {stored['nll']:.4f} nats/event, accuracy {stored['accuracy']:.3f}**."]
    quality = info.get("quality", {})
    if quality:
        lines += ["", "## Quality: texture of generated music",
                  f"{next(iter(quality.values()))['pieces']} pieces of {CARD_STEPS} steps (8 bars) per row, seed 7, "
                  "against the validation chorales. Voices = pitches sounding at a step.", "",
                  "| set | pieces | mean voices | steps with 3-4 voices | silent steps | steps with > 4 | pitch range "
                  "| 98% of notes within | median pitch | mean note (16ths) |",
                  "|---|---:|---:|---:|---:|---:|---|---|---:|---:|"]
        lines += [f"| {name} | {q['pieces']} | {q['mean_voices']:.2f} | {q['share_3_4_voices']:.2f} | "
                  f"{q['share_silent']:.2f} | {q['share_over_4_voices']:.2f} | "
                  f"{q['lowest_pitch']}-{q['highest_pitch']} | {q['pitch_p1']:.0f}-{q['pitch_p99']:.0f} | "
                  f"{q['median_pitch']:.0f} | "
                  f"{q['mean_note_steps']:.1f} |" for name, q in quality.items()]
    lines += ["", "## Limits",
              "- Bach chorales only: four voices, mostly quarter and eighth notes, church-mode harmony; other styles "
              "come out as chorales.",
              "- The data does not tell a held note from a repeated one: a voice repeating a pitch is read as holding "
              "it, so the model rarely repeats a note.",
              "- Fermatas are not in the data; phrase ends come out as longer chords at best.", ""]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines))


def _earlier(data: dict[str, Any]) -> list[str]:
    """A line per earlier run a carried-on model went through."""
    init = data.get("initialised_from")
    if not init:
        return []
    lines = []
    for run in init.get("earlier_runs", []):
        rows = run.get("history") or [{}]
        lines.append(f"- Earlier run: {rows[-1].get('step', 0)} steps, learning rate {run.get('learning_rate')}, "
                     f"batch {run.get('batch_size')}; validation {rows[-1].get('valid_nll', float('nan')):.4f} "
                     "nats/event at its end.")
    lines.append(f"- Then carried on from that model ({init['bundle']}):")
    return lines
