"""The Polyphony RNN's part of its MODEL_CARD.md and the texture figures it reports (the shared writer,
engine/model_card.py, lays it out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generation.engine.model_card import Card, Dataset, Section, table
from generation.families.polyphony.encoding import melody_primer_notes
from generation.music.notes import Note, pianoroll_of
from generation.quality.common import quality_lines

TWINKLE = (60, -2, 60, -2, 67, -2, 67, -2, 69, -2, 69, -2, 67, -2, -2, -2)
CARD_STEPS = 128
STEERING = (
    "voice leading at sampling time, on the logits only (generation/families/polyphony/steering.py; network and "
    "weights untouched). A step's notes are drawn highest first; each new note's logit gains 0.5 x the Krumhansl "
    "profile of the key of the music so far, and loses 2.0 for a clash (m2, M2, tritone, M7) with a note struck "
    "above it in the step, 0.5 for one with a held note, and 6.0 per parallel 5th/octave it would make with the "
    "last chord; notes given (primer, an injected melody) are kept as they are. `polyphony_rnn_generate "
    "--no_voice_leading` (generate(voice_leading=False)) samples exactly as Magenta does.")


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


def quality_figures(generator: Any, outputs: int, chorales: Sequence[Sequence[Note]], seed: int = 7
                    ) -> dict[str, Any]:
    """Texture figures of generated music (free, and harmonizing a melody), beside the validation chorales."""
    from generation.engine.sampling import SearchSettings

    figures: dict[str, Any] = {}
    for temperature in (1.0, 0.8):
        pieces = generator.generate([], CARD_STEPS, condition_on_primer=False, inject_primer=False,
                                    num_outputs=outputs, search=SearchSettings(temperature=temperature), seed=seed)
        figures[f"free, T={temperature}"] = texture_figures(pieces, [CARD_STEPS] * len(pieces))
    melody = melody_primer_notes(TWINKLE)
    pieces = generator.generate(melody, CARD_STEPS, condition_on_primer=False, inject_primer=True,
                                num_outputs=outputs, search=SearchSettings(), seed=seed)
    figures["harmonizing Twinkle (16 steps), then free, T=1.0"] = texture_figures(pieces, [CARD_STEPS] * len(pieces))
    figures["human: validation chorales"] = texture_figures(chorales, [max(n.end for n in p) for p in chorales])
    return figures


def card(info: dict[str, Any]) -> Card:
    data, training = info["data"], info.get("training", {})
    sizes = training.get("layer_sizes", ())
    model = [
        "- Encoding: Magenta's polyphony events, 259 one-hot classes (START, END, STEP_END, NEW_NOTE x 128, "
        "CONTINUED_NOTE x 128); 16th-note steps, 4 per quarter; within a step the highest pitch comes first.",
        f"- Network: LSTM {' x '.join(map(str, sizes))} (Magenta's config uses 3 x 256); Magenta's layout and "
        "variable names (BasicLSTMCell gates i, j, f, o, forget bias +1.0 at run time).",
    ]
    lines = [f"- Split: {data['split']}.",
             f"- Training: {data.get('train_windows', 0):,} windows, {data.get('train_events', 0):,} events; "
             f"{data['windows']}.",
             f"- Augmentation: {data['augmentation']}.",
             f"- Validation: the {data['pieces']['valid']} validation chorales whole, from START "
             f"({data['validation_events']:,} events)."]
    stored = info.get("stored_weights_validation", {})
    validation = [f"The shipped float16 weights on the validation chorales ({stored.get('events', 0):,} events): "
                  f"**NLL {stored.get('nll', float('nan')):.4f} nats/event, accuracy "
                  f"{stored.get('accuracy', float('nan')):.3f}**."]
    quality = info.get("quality", {})
    rows = [[name, q["pieces"], f"{q['mean_voices']:.2f}", f"{q['share_3_4_voices']:.2f}", f"{q['share_silent']:.2f}",
             f"{q['share_over_4_voices']:.2f}", f"{q['lowest_pitch']}-{q['highest_pitch']}",
             f"{q['pitch_p1']:.0f}-{q['pitch_p99']:.0f}", f"{q['median_pitch']:.0f}", f"{q['mean_note_steps']:.1f}"]
            for name, q in quality.items()]
    texture = [f"{next(iter(quality.values()))['pieces'] if quality else 0} pieces of {CARD_STEPS} steps (8 bars) "
               "per row, seed 7, beside the validation chorales. Voices = pitches sounding at a step.", "",
               *table(["set", "pieces", "mean voices", "steps with 3-4 voices", "silent steps", "steps with > 4",
                       "pitch range", "98% of notes within", "median pitch", "mean note (16ths)"], rows)]
    return Card(
        config="polyphony", command="polyphony_rnn_train",
        description="A Polyphony RNN in Magenta's layout: it writes four-part-chorale-like music one note event at "
        "a time, and can harmonize a melody under it (`polyphony_rnn_generate --primer_melody=...`).",
        unit="event", model=model,
        datasets=[Dataset(data["dataset"], sum(data["pieces"].values()), data["licence"])], data=lines,
        training=[f"- Batch {training.get('batch_size')} windows."], validation=validation,
        quality=[*([Section("Quality beside human", quality_lines(info["quality_rows"], STEERING))]
                   if info.get("quality_rows") else []),
                 Section("Quality beside human: texture of generated music", texture)],
        limits=["- Bach chorales only: four voices, mostly quarter and eighth notes, church-mode harmony; other "
                "styles come out as chorales.",
                "- The data does not tell a held note from a repeated one: a voice repeating a pitch is read as "
                "holding it, so the model rarely repeats a note.",
                "- Fermatas are not in the data; phrase ends come out as longer chords at best."])
