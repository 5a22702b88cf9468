"""The Performance RNN's part of its MODEL_CARD.md (the shared writer, engine/model_card.py, lays it out)."""

from __future__ import annotations

from typing import Any

from generation.engine.model_card import Card, Dataset, Section
from generation.families.performance.config import PerformanceConfig
from generation.quality.common import quality_lines
from generation.quality.performance_controls import HEADER, table_lines

STEERING = (
    "at sampling time, on the logits only (generation/families/performance/steering.py; the network is Magenta's): "
    "the model's whole note-off probability goes to notes that are sounding (a note held long, or among more than "
    "6 sounding, is let go sooner), and every note ends by 5 s (Magenta's max_note_duration); without a pitch "
    "request each output is steered toward a key (the primer's, else one drawn from the seed){controls}. No flag "
    "turns this off (generate_notes(steer=False), for comparisons, drops the key and request steering but keeps "
    "the note-offs).")


def card(config: PerformanceConfig, info: dict[str, Any]) -> Card:
    data, training = info["data"], info.get("training", {})
    controls = ", ".join(f"--{c}" for c in config.controls) or "none"
    model = [
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
        f"- Network: LSTM {' x '.join(map(str, config.layer_sizes))} (Magenta ships 512 x 3; smaller here to train "
        "on a shared 2-core CPU); Magenta's layout and variable names (BasicLSTMCell gates i, j, f, o, forget bias "
        "+1.0 at run time).",
    ]
    lines = [
        f"- {data['performances']} performances of {data['pieces']} pieces (at most {data['performances_per_piece']} "
        "per piece), sustain pedal (CC64) applied by lengthening notes as Magenta does, 10 ms steps.",
        f"- Split: {data['split']}: {data['train_pieces']} training pieces, {data['validation_pieces']} held out; "
        f"{data['train_events']:,} training events, {data['validation_events']:,} validation events.",
        f"- Augmentation: {data['augmentation']}.",
    ]
    extra = [f"- Batch {training.get('batch_size')} windows of {training.get('window')} events"
             + (f", {training.get('disable_prob', 0):.0%} of windows with conditioning off"
                if config.optional_conditioning else "") + "."]
    start = training.get("initialised_from") or data.get("initialised_from")
    base = start.get("config") if isinstance(start, dict) else start.split(" ")[0] if isinstance(start, str) else None
    if base and base != config.name:
        how = ("velocity classes dropped, the shared note and time-shift classes kept" if not config.num_velocity_bins
               else "modulo input rows fitted by least squares to the base's one-hot rows" if config.modulo
               else "control input rows zero, so it starts as that model")
        scored = any(h.get("step") == 0 for h in training.get("history", []))
        extra.append(f"- Started from {base} ({how})" + ("; step 0 of the curve scores that start." if scored else "."))
    stored = info.get("stored_weights_validation", {})
    validation = [f"The shipped float16 weights on the held-out pieces ({stored.get('windows', 0)} windows of "
                  f"{stored.get('window', 0)} events): **NLL {stored.get('nll', float('nan')):.4f} nats/event, "
                  f"accuracy {stored.get('accuracy', float('nan')):.3f}**."]
    quality: list[Section] = []
    figures = info.get("controls")
    human = info.get("human_density")
    if figures:
        lines_ = [f"Each row: {figures['outputs']} outputs of {figures['seconds']:g} s from no primer at temperature "
                  "1.0 (`python -m generation.quality.performance_controls`). Density is note-ons per second over "
                  "the whole output; pitch is the cosine between the requested histogram and the generated note-on "
                  "pitch-class counts. \"steered\" is what users get: the conditioning input plus our sampling-time "
                  "steering (see generation/families/performance/steering.py); \"conditioning only\" is Magenta's "
                  "mechanism alone; \"unconditioned\" is a config that ignores the request.", "",
                  *HEADER, *table_lines(config.name, figures)]
        if human:
            lines_ += ["", f"Human reference: the {human['performances']} held-out performances play "
                       f"{human['mean']:.2f} ± {human['standard_error']:.2f} note-ons per second."]
        quality.append(Section("Quality beside human: controls honoured?", lines_))
    if info.get("quality_rows"):
        asked = {"notes_per_second": "density (--notes_per_second)",
                 "pitch_class_histogram": "pitch-class histogram (--pitch_class_histogram)"}
        controls = (f"; a requested {' or '.join(asked.get(c, c) for c in config.controls)} is steered toward as well "
                    "as fed to the conditioning input") if config.controls else ""
        quality.insert(0, Section("Quality beside human", quality_lines(info["quality_rows"],
                                                                    STEERING.format(controls=controls))))
    return Card(
        config=config.name, command="performance_rnn_train", description=config.description, unit="event",
        model=model, datasets=[Dataset(data["dataset"], data["pieces"], data["licence"], non_commercial=True)],
        data=lines, training=extra, validation=validation, quality=quality,
        limits=["- Small and briefly trained: expect plausible piano texture and dynamics, not long-range form.",
                "- Classical piano performances only (ASAP: Bach to Ravel); no other instruments or styles.",
                "- Without a request, density configs are conditioned on Magenta's default 15 notes/s and a uniform "
                "pitch-class histogram; density is then not steered, and each output is steered toward a key."])
