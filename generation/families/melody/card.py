"""The Melody RNN's card: its figures (repetition, note density) measured the same way on our melodies and on
held-out human ones, and its part of MODEL_CARD.md (the shared writer, engine/model_card.py, lays it out).

Repetition: an 8-bar melody repeats when its bars 5-6 repeat bars 1-2 note for note with a similarity of at
least 0.5 (a 4-bar period, as in an AABA tune). The same figure 2 bars on (bars 3-4 against bars 1-2) is the
repetition lookback_rnn is built for: its inputs and repeat classes reach 1 and 2 bars back, never 4.
The similarity of two 2-bar stretches is the number of notes they share (same pitch, same 16th-note onset within
the stretch) over the number of notes in the fuller one: 1 for an exact repeat, 0.5 when half the
notes come back where they were. Human 8-bar stretches are the held-out melodies' non-overlapping 8-bar windows
from their first bar line (melodies start on one).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from generation.engine.model_card import Card, Dataset, Section, table
from generation.families.melody.config import STEPS_PER_BAR, MelodyConfig
from generation.families.melody.dataset import Melody

BARS = 8
SIMILAR = 0.5
CARD_PRIMER = (60,)  # Magenta's default primer: one middle C
TEMPERATURES = (1.0, 0.8)


def _notes(events: Sequence[int], first_bar: int, bars: int = 2) -> set[tuple[int, int]]:
    """(onset step within the stretch, pitch) of the notes struck in `bars` bars from bar `first_bar` (0-based)."""
    start = first_bar * STEPS_PER_BAR
    return {(t - start, int(e)) for t, e in enumerate(events[start:start + bars * STEPS_PER_BAR], start) if e >= 0}


def similarity(events: Sequence[int], lag: int = 4) -> float | None:
    """Note-for-note similarity of the 2 bars `lag` bars on (bars 5-6) to bars 1-2; None when both are silent."""
    first, again = _notes(events, 0), _notes(events, lag)
    if not first and not again:
        return None
    return len(first & again) / max(len(first), len(again))


def eight_bar_windows(melodies: Iterable[Sequence[int]]) -> list[Sequence[int]]:
    size = BARS * STEPS_PER_BAR
    return [m[k:k + size] for m in melodies for k in range(0, len(m) - size + 1, size)]


def repetition(melodies: Iterable[Sequence[int]], lag: int = 4) -> dict[str, float]:
    """Share of 8-bar melodies whose bars 5-6 (lag 4; lag 2: bars 3-4) repeat bars 1-2 (similarity >= 0.5), with
    its standard error."""
    scores = [s for s in (similarity(m, lag) for m in melodies) if s is not None]
    n = len(scores)
    share = sum(s >= SIMILAR for s in scores) / n if n else float("nan")
    return {"share": share, "standard_error": math.sqrt(share * (1 - share) / n) if n else float("nan"),
            "melodies": n, "mean_similarity": float(np.mean(scores)) if n else float("nan")}


def notes_per_bar(melodies: Iterable[Sequence[int]]) -> float:
    counts = [sum(1 for e in m[b:b + STEPS_PER_BAR] if e >= 0) for m in melodies
              for b in range(0, len(m) - STEPS_PER_BAR + 1, STEPS_PER_BAR)]
    return float(np.mean(counts)) if counts else float("nan")


def figures(melodies: Sequence[Sequence[int]]) -> dict[str, float]:
    melodies = list(melodies)
    two_bars = repetition(melodies, lag=2)
    return {**repetition(melodies), "share_2_bars": two_bars["share"], "standard_error_2_bars":
            two_bars["standard_error"], "notes_per_bar": notes_per_bar(melodies)}


def quality_figures(generator: Any, held_out: Sequence[Melody], outputs: int, seed: int = 7) -> dict[str, Any]:
    """Our 8-bar melodies (Magenta's one-C primer) at each temperature, beside the held-out human ones."""
    from generation.engine.sampling import SearchSettings

    out: dict[str, Any] = {}
    for temperature in TEMPERATURES:
        melodies = generator.generate(CARD_PRIMER, BARS * STEPS_PER_BAR, outputs,
                                      SearchSettings(temperature=temperature), seed)
        out[f"generated, temperature {temperature}"] = figures(melodies)
    sources = sorted({m.source for m in held_out})
    for source in [*sources, *(["all"] if len(sources) > 1 else [])]:
        windows = eight_bar_windows(list(m.events) for m in held_out if source in (m.source, "all"))
        out[f"human: held-out {source}"] = figures(windows)
    return out


def card(config: MelodyConfig, info: dict[str, Any]) -> Card:
    data, training = info["data"], info.get("training", {})
    encoding = {
        "onehot": f"one-hot of the previous event ({config.input_size} wide: no event, note off, MIDI "
                  f"{config.min_note}-{config.max_note - 1})",
        "lookback": f"Magenta's lookback: the previous event, the events 1 and 2 bars back, 5 binary step counters "
                    f"and 2 repeat flags ({config.input_size} wide); 2 extra classes repeat the event 1 or 2 bars back",
        "key": f"Magenta's KeyMelody lookback: current pitch, attack, direction, repeat flags, 7 step counters, bar "
               f"start and two key estimates ({config.input_size} wide), with the lookback repeat classes",
    }[config.encoding]
    model = [f"- Input: {encoding}; {config.num_classes} output classes.",
             f"- Network: LSTM {' x '.join(map(str, training.get('layer_sizes', config.layer_sizes)))}"
             + (f", attention over the last {config.attn_length} steps on the first layer" if config.attn_length
                else "") + "; Magenta's layout and variable names, so Magenta's own bundles load into the same "
             "network."]
    datasets = [Dataset(name, f"{d['pieces']:,} pieces -> {d['melodies']:,} melodies", d["licence"])
                for name, d in data["sources"].items()]
    lines = ["- Melodies cut as Magenta's MelodyExtractor cuts them (at least 7 bars and 5 pitches, a rest of a bar "
             "ends one, at most 512 steps; further 512-step parts kept), from runs of 4/4 bars only.",
             f"- Split: {data['split']}: {data['train_melodies']:,} training melodies, "
             f"{data['validation_melodies']:,} held out ({data['validation_steps']:,} steps).",
             f"- Augmentation: {data['augmentation']}."]
    if "train_steps" in data:
        lines.append(f"- Training: {data['train_sequences']:,} sequences, {data['train_steps']:,} steps of 16th notes.")
    extra = [f"- Batch {training.get('batch_size')} windows of up to {training.get('window')} steps starting on bar "
             f"lines (inputs encoded from the melody's start); dropout {training.get('dropout')} on each layer's "
             "output (Magenta's dropout_keep_prob "
             f"{1 - training.get('dropout', 0):g})."]
    stored = info.get("stored_weights_validation", {})
    validation = ["Each held-out melody scored whole from its first event (as generation runs), per source:", "",
                  *table(["held-out", "melodies", "steps", "NLL (nats/step)", "accuracy"],
                         [[k, v["melodies"], f"{v['steps']:,}", f"{v['nll']:.4f}", f"{v['accuracy']:.3f}"]
                          for k, v in stored.items()])]
    rows = [[name, q["melodies"], f"{q['share']:.3f} ± {q['standard_error']:.3f}", f"{q['mean_similarity']:.3f}",
             f"{q['share_2_bars']:.3f} ± {q['standard_error_2_bars']:.3f}" if "share_2_bars" in q else "-",
             f"{q['notes_per_bar']:.2f}"] for name, q in info.get("quality", {}).items()]
    quality = [f"Our rows: {training.get('eval_outputs', '?')} melodies of 8 bars from Magenta's default primer (one "
               "middle C), seed 7. Human rows: the held-out melodies' 8-bar windows. An 8-bar melody counts as "
               "repeating when bars 5-6 repeat bars 1-2 note for note with similarity >= 0.5 (shared notes, same "
               "pitch and onset, over the notes of the fuller stretch; `generation/families/melody/card.py`); "
               "the same measure 2 bars on (bars 3-4 against 1-2) is the repetition lookback_rnn's inputs reach "
               "(1 and 2 bars back, never 4); ± is one standard error.", "",
               *table(["set", "8-bar melodies", "bars 5-6 repeat bars 1-2", "mean similarity",
                       "bars 3-4 repeat bars 1-2", "notes per bar"],
                      rows)]
    return Card(
        config=config.name, command="melody_rnn_train", description=config.description, unit="step", model=model,
        datasets=datasets, data=lines, training=extra, validation=validation,
        quality=[Section("Quality beside human: repetition", quality)],
        limits=["- 4/4 melodies in 16th notes only; no chords, dynamics or swing.",
                "- Folk tunes, standards and Chinese pop: other idioms come out in these styles.",
                *(["- Nottingham is GPL-3.0: treat these weights as a derivative of GPL data when redistributing."]
                  if "nottingham" in data["sources"] else [])])
