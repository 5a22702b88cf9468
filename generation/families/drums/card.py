"""The Drums RNN's card: per-style figures of generated bars beside Groove's held-out bars (style_figures.py, the
same code for both), a style classifier's verdict on them, and its part of MODEL_CARD.md (the shared writer,
engine/model_card.py, lays it out).

The classifier is a softmax regression on a bar's 16 x 9 grid of drum hits, trained on Groove's training bars
(never on our outputs), each style weighted equally so that chance is one in the number of styles. It is scored
on Groove's held-out bars (how well a bar can tell its style at all) and on generated bars of each requested
style (whether the style control is heard). Each style is played at its median training tempo; a config that
hears the tempo is also measured slow and fast beside Groove's held-out bars at such tempos.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from generation.engine.model_card import Card, Dataset, Section, table
from generation.families.drums.config import STEPS_PER_BAR, DrumsConfig
from generation.families.drums.encoding import DEFAULT_QPM, class_bits, step_to_class
from generation.families.drums.style_figures import FIGURES, DrumBar, bar_from_steps, style_figures

if TYPE_CHECKING:
    from generation.families.drums.train import Track

CARD_BARS = 4  # measured bars per generated track, after a first bar that starts from silence
TEMPERATURE = 1.0
SLOW, FAST = 80.0, 140.0  # the tempi the tempo control is measured at; human bars within TEMPO_BAND of each
TEMPO_BAND = 15.0
LABELS = {"kick": "kick", "snare": "snare", "hihat": "hi-hat", "ride": "ride", "swing": "swing",
          "swing_grid": "swing on the grid"}


def generated_bars(generator: Any, style: str | None, outputs: int, seed: int = 7,
                   qpm: float = DEFAULT_QPM) -> list[DrumBar]:
    """Bars 2-5 of `outputs` tracks from an empty primer (bar 1 begins with the primer's silent step)."""
    from generation.engine.sampling import SearchSettings

    steps = (1 + CARD_BARS) * STEPS_PER_BAR
    tracks = generator.generate([], steps, outputs, SearchSettings(temperature=TEMPERATURE), seed, style=style,
                                qpm=qpm)
    return [bar_from_steps([step_to_class(s) for s in track[b:b + STEPS_PER_BAR]])
            for track in tracks for b in range(STEPS_PER_BAR, steps, STEPS_PER_BAR)]


def _figures(bars: Sequence[DrumBar]) -> dict[str, Any]:
    return {name: {"mean": f.mean, "se": f.se, "n": f.n} for name, f in style_figures(bars).items()}


def _features(bars: Sequence[DrumBar]) -> np.ndarray:
    grid = class_bits(np.array([bar.events for bar in bars], np.int64)).reshape(len(bars), -1)
    return np.concatenate([grid.astype(np.float64), np.ones((len(bars), 1))], axis=1)


def train_classifier(bars: dict[str, list[DrumBar]], iterations: int = 400, rate: float = 0.5,
                     l2: float = 1e-3) -> tuple[list[str], np.ndarray]:
    """Softmax regression on the hit grid, styles weighted equally: (styles, weights [features, styles])."""
    styles = sorted(s for s in bars if bars[s])
    x = _features([b for s in styles for b in bars[s]])
    y = np.concatenate([np.full(len(bars[s]), k) for k, s in enumerate(styles)])
    weight = np.concatenate([np.full(len(bars[s]), 1.0 / len(bars[s])) for s in styles]) / len(styles)
    w = np.zeros((x.shape[1], len(styles)))
    target = np.eye(len(styles))[y]
    for _ in range(iterations):  # full-batch gradient descent on the weighted cross-entropy
        logits = x @ w
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        w -= rate * (x.T @ ((p - target) * weight[:, None]) + l2 * w)
    return styles, w


def recognised(classifier: tuple[list[str], np.ndarray], bars: Sequence[DrumBar], style: str) -> float:
    """Share of `bars` the classifier calls `style`."""
    styles, w = classifier
    if not bars:
        return float("nan")
    return float(np.mean((_features(bars) @ w).argmax(axis=1) == styles.index(style)))


def quality_figures(generator: Any, held_out: Sequence[Track], train: Sequence[Track], outputs: int
                    ) -> dict[str, Any]:
    """Per style (or overall, for drum_kit): generated bars' figures beside Groove's held-out bars'."""
    config: DrumsConfig = generator.config
    human: dict[str, list[DrumBar]] = {}
    for track in held_out:
        human.setdefault(track.take.style, []).extend(b for b in track.bars if any(b.events))
    out: dict[str, Any] = {"outputs": outputs, "bars_per_output": CARD_BARS, "temperature": TEMPERATURE,
                           "styles": {}}
    if not config.styles:
        bars = generated_bars(generator, None, outputs)
        out["styles"]["all styles"] = {"generated": _figures(bars),
                                       "human": _figures([b for group in human.values() for b in group])}
        return out
    training: dict[str, list[DrumBar]] = {s: [] for s in config.styles}
    tempi: dict[str, list[float]] = {s: [] for s in config.styles}
    for track in train:
        if track.take.style in training:
            training[track.take.style].extend(b for b in track.bars if any(b.events))
            tempi[track.take.style].append(track.take.bpm)
    classifier = train_classifier(training)
    for style in config.styles:
        qpm = float(np.median(tempi[style])) if tempi[style] else DEFAULT_QPM
        bars = generated_bars(generator, style, outputs, qpm=qpm)
        out["styles"][style] = {"qpm": qpm, "generated": _figures(bars), "human": _figures(human.get(style, [])),
                                "recognised_generated": recognised(classifier, bars, style),
                                "recognised_human": recognised(classifier, human.get(style, []), style)}
    out["chance"] = 1 / len(config.styles)
    if config.tempo:
        out["tempo"] = tempo_figures(generator, held_out, outputs)
    return out


def tempo_figures(generator: Any, held_out: Sequence[Track], outputs: int) -> dict[str, Any]:
    """Every style played at SLOW and at FAST qpm beside Groove's held-out bars within TEMPO_BAND of each."""
    styles = generator.config.styles
    per_style = max(1, outputs // len(styles))
    out: dict[str, Any] = {}
    for qpm in (SLOW, FAST):
        ours = [b for s in styles for b in generated_bars(generator, s, per_style, seed=11, qpm=qpm)]
        human = [b for t in held_out if t.take.style in styles and abs(t.take.bpm - qpm) <= TEMPO_BAND
                 for b in t.bars if any(b.events)]
        out[f"{qpm:g}"] = {"generated": _figures(ours), "human": _figures(human)}
    return out


def _cell(f: dict[str, Any]) -> str:
    if not f["n"]:
        return "-"
    digits = 2 if abs(f["mean"]) >= 1 else 3
    return f"{f['mean']:.{digits}f} ± {f['se']:.{digits}f}"


def card(config: DrumsConfig, info: dict[str, Any]) -> Card:
    data, training = info["data"], info.get("training", {})
    model = [f"- Input: one-hot of the step's drum classes (512 combinations of Magenta's 9 classes, note-seq's drum "
             f"map), {config.counter_bits} binary step counters"
             + (f", a one-hot of the style ({', '.join(config.styles)})" if config.styles else "")
             + (" and the tempo ((qpm - 110) / 40, held within +-2.5)" if config.tempo else "")
             + f" ({config.input_size} wide); 512 output classes.",
             f"- Network: LSTM {' x '.join(map(str, training.get('layer_sizes', config.layer_sizes)))}, attention "
             f"over the last {config.attn_length} steps on the first layer; Magenta's layout and variable names, "
             "so Magenta's own drum_kit bundles load into the same network."]
    lines = [f"- Takes (4/4): train {data['takes']['train']}, validation {data['takes']['validation']}, test "
             f"{data['takes']['test']}; bars {', '.join(f'{k} {v:,}' for k, v in data['bars'].items())}; "
             f"{data['drummers']} drummers in training.",
             f"- Training bars per style: {', '.join(f'{k} {v:,}' for k, v in data['styles'].items())}.",
             f"- Split: {data['split']}.", f"- Augmentation: {data['augmentation']}."]
    extra = [f"- Batch {training.get('batch_size')} windows of up to {training.get('window')} steps starting on bar "
             f"lines, step counters from the window's start as in generation; dropout {training.get('dropout')} on "
             "each layer's output."]
    stored = info.get("stored_weights_validation", {})
    validation = [f"The shipped float16 weights on Groove's {stored.get('takes', 0)} validation takes "
                  f"({stored.get('steps', 0):,} steps, windows of {training.get('window')}): **NLL "
                  f"{stored.get('nll', float('nan')):.4f} nats/step, accuracy "
                  f"{stored.get('accuracy', float('nan')):.3f}**."]
    q = info.get("quality", {})
    rows = []
    for style, f in q.get("styles", {}).items():
        for who in ("generated", "human"):
            label = f"{style} at {f['qpm']:g} qpm" if "qpm" in f and who == "generated" else style
            rows.append([label, "ours" if who == "generated" else "Groove held-out",
                         f[who]["kick"]["n"], *(_cell(f[who][name]) for name in FIGURES),
                         *([f"{f['recognised_' + who]:.2f}"] if "chance" in q else [])])
    header = ["style", "bars of", "bars", *(LABELS[n] for n in FIGURES),
              *(["classified as asked"] if "chance" in q else [])]
    quality = [f"Ours: {q.get('outputs', '?')} tracks per row from an empty primer at temperature "
               f"{q.get('temperature', '?')}, bars 2-{1 + q.get('bars_per_output', 4)} of each. Groove: every held-out "
               "bar (validation + test) with a hit. Densities are steps struck per bar; swing is how late the "
               "off-beat 8th lands in beats (unquantised times for Groove, the grid for ours; 'swing on the grid' "
               "measures both on the grid). ± is one standard error over bars (`style_figures.py`).", "",
               *table(header, rows, left=2)]
    if "chance" in q:
        quality += ["", "\"classified as asked\": the share of bars that a style classifier trained on Groove's "
                    "training bars (softmax regression on the 16 x 9 hit grid, styles weighted equally; never on "
                    f"our outputs) assigns to the requested style; chance is {q['chance']:.2f}. Each style is "
                    "played at its median training tempo."]
    if "tempo" in q:
        rows = [[f"{qpm} qpm", "ours" if who == "generated" else f"Groove held-out, {qpm} ± {TEMPO_BAND:g} qpm",
                 f[who]["kick"]["n"], *(_cell(f[who][name]) for name in FIGURES)]
                for qpm, f in q["tempo"].items() for who in ("generated", "human")]
        quality += ["", "The tempo control: every style played slow and fast (same measures; Groove's bars pooled "
                    "over the same styles).", "", *table(["tempo", "bars of", "bars", *(LABELS[n] for n in FIGURES)],
                                                         rows, left=2)]
    return Card(
        config=config.name, command="drums_rnn_train", description=config.description, unit="step", model=model,
        datasets=[Dataset(data["dataset"], f"{sum(data['takes'].values()):,} takes", data["licence"])],
        data=lines, training=extra, validation=validation,
        quality=[Section("Quality beside human: " + ("each style" if config.styles else "drum bars"), quality)],
        limits=["- 4/4 only, 16th-note grid: no triplets, flams or dynamics (every hit at one velocity).",
                "- Ten drummers' playing; styles with little data (soul, afrobeat, ...) are not offered.",
                "- Groove is CC BY 4.0: credit the Groove MIDI Dataset when sharing these weights or their output."])
