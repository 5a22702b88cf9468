"""Write a Performance RNN bundle's MODEL_CARD.md from what its training run recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generation.models.performance.config import PerformanceConfig
from generation.quality.performance_controls import HEADER, table_lines


def write_card(folder: Path, config: PerformanceConfig, info: dict[str, Any]) -> None:
    data, training = info["data"], info["training"]
    history = training["history"]
    last = history[-1]
    size_kb = (folder / "weights.npz").stat().st_size / 1024
    controls = ", ".join(f"--{c}" for c in config.controls) or "none"
    lines = [
        f"# {config.name}: model card",
        "",
        "_Written by `performance_rnn_train`; the figures below come from the run that produced `weights.npz`._",
        "",
        config.description,
        "",
        "## Model",
        "- Events as in Magenta: 128 note-on, 128 note-off, 100 time shifts of 10 ms to 1 s"
        + (f", {config.num_velocity_bins} velocity bins" if config.num_velocity_bins else " (no velocity: notes "
           "play at 100)")
        + f": {config.num_classes} classes. Event input: "
        + ("Magenta's modulo encoding (16 values)" if config.modulo else "one-hot")
        + f"; control input {config.control_size} wide; input {config.input_size}.",
        f"- Controls taken: {controls}"
        + (" (density: 8-bin one-hot of notes/s over the next 3 s)" if config.density else "")
        + (" (pitch: 12-value pitch-class histogram over the next 5 s)" if config.pitch else "")
        + (" (a leading bit switches conditioning off: --disable_conditioning)" if config.optional_conditioning
           else "") + ".",
        f"- Network: LSTM {' x '.join(map(str, info.get('layer_sizes', config.layer_sizes)))} (Magenta ships "
        f"512 x 3; smaller here to train on a shared 2-core CPU); {info.get('parameters', 0):,} parameters; "
        f"weights file {size_kb:.0f} KB (float16).",
        "- Layout and variable names are Magenta's (BasicLSTMCell gates i, j, f, o, forget bias +1.0 at run time).",
        "",
        "## Data",
        f"- {data['licence']}. **These weights derive from non-commercial data: do not use them commercially.**",
        f"- {data['performances']} performances of {data['pieces']} pieces (at most {data['performances_per_piece']} "
        "per piece), sustain pedal (CC64) applied by lengthening notes as Magenta does, 10 ms steps.",
        f"- Split: {data['split']}: {data['train_pieces']} training pieces, {data['validation_pieces']} held out; "
        f"{data['train_events']:,} training events, {data['validation_events']:,} validation events.",
        f"- Augmentation: {data['augmentation']}.",
    ]
    if "initialised_from" in data:
        start = data["validation_at_start"]
        if data["initialised_from"].startswith(config.name + " "):
            how = "carried on training"
        elif not config.num_velocity_bins:
            how = "velocity classes dropped, the shared note and time-shift classes kept"
        elif config.modulo:
            how = "modulo input rows fitted by least squares to the base's one-hot rows"
        else:
            how = "control input rows zero, so it starts as that model"
        lines.append(f"- Initialised from {data['initialised_from']} ({how}); validation at the start "
                     f"{start['nll']:.4f} nats/event, accuracy {start['accuracy']:.3f}.")
    for run in data.get("earlier_runs", []):
        lines.append(f"- Earlier run of this model: {run['steps']} steps, {run['minutes']:.0f} min, validation "
                     f"{run['valid_nll']:.4f} nats/event, accuracy {run['valid_accuracy']:.3f}.")
    lines += [
        "",
        "## Training",
        f"- {training['steps']} steps of Adam, batch {training['batch_size']} x {training['window']} events, "
        f"learning rate {training['learning_rate']} cosine-decayed towards {training['final_learning_rate']} over "
        f"{training['steps'] if training.get('time_limit_s', 0) == 0 else 'the planned steps'}, gradient clip "
        f"{training['clip_norm']}"
        + (f", {training['disable_prob']:.0%} of windows with conditioning off" if config.optional_conditioning
           else "")
        + f"; {last['seconds'] / 60:.0f} min on a shared 2-core CPU.",
        "",
        "| step | train NLL (nats/event) | validation NLL (nats/event) | validation accuracy |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {h['step']} | {h['train_nll']:.4f} | {h['valid_nll']:.4f} | {h['valid_accuracy']:.3f} |"
              for h in history]
    stored = info.get("stored_weights_validation")
    if stored:
        lines += ["", f"The shipped float16 weights on the held-out pieces ({stored['windows']} windows of "
                  f"{stored['window']} events): **validation NLL {stored['nll']:.4f} nats/event, accuracy "
                  f"{stored['accuracy']:.3f}**."]
    figures = info.get("controls")
    if figures:
        lines += ["", "## Controls honoured?",
                  f"Each row: {figures['outputs']} outputs of {figures['seconds']:g} s from no primer at temperature "
                  "1.0 (`python -m generation.quality.performance_controls`). Density is note-ons per second over "
                  "the whole output; pitch is the cosine between the requested histogram and the generated note-on "
                  "pitch-class counts. \"steered\" is what users get: the conditioning input plus our sampling-time "
                  "steering (note-on logits biased by the running density and pitch-class error against the "
                  "request, see generation/models/performance/steering.py); \"conditioning only\" is Magenta's "
                  "mechanism alone; \"unconditioned\" is a config that ignores the request.", "",
                  *HEADER, *table_lines(config.name, figures)]
    lines += ["", "## Limits",
              "- Small and briefly trained: expect plausible piano texture and dynamics, not long-range form.",
              "- Classical piano performances only (ASAP: Bach to Ravel); no other instruments or styles.",
              "- Without a request, density configs are conditioned on Magenta's default 15 notes/s and a uniform "
              "pitch-class histogram, and nothing is steered.", ""]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines))
