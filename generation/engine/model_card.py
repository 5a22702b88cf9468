"""The one MODEL_CARD.md writer: the same sections for every family, filled with each family's own figures.

Every card says what was trained on what (data with its licence, split, sizes), how (the shared loop's
settings, the validation curve, where it stopped and which weights were kept), how well the shipped float16
weights score on held-out data, and the quality of generated music beside the same figure for held-out human
music. The family supplies the words and tables (`Card`); the training part comes from what the run recorded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Dataset:
    """One data source; a card refuses a source without a licence."""

    name: str
    pieces: int | str
    licence: str
    non_commercial: bool = False


@dataclass(frozen=True)
class Section:
    title: str
    lines: Sequence[str]


@dataclass(frozen=True)
class Card:
    """A family's side of its card.

    Attributes:
        config: the config id (the card's title).
        command: the command whose run wrote it.
        description: what the model does, for a user.
        unit: what one NLL is per ("step" of 16th notes, "event", "frame").
        model: lines on the encoding and network.
        datasets: the sources and their licences.
        data: lines on split, sizes and augmentation.
        training: lines beyond the shared loop's (dropout, transposition, what was started from).
        validation: lines on the stored weights' held-out scores.
        quality: the sections of figures beside human music.
        limits: what a user should not expect.
    """

    config: str
    command: str
    description: str
    unit: str
    model: Sequence[str]
    datasets: Sequence[Dataset]
    data: Sequence[str]
    validation: Sequence[str]
    quality: Sequence[Section]
    limits: Sequence[str]
    training: Sequence[str] = field(default_factory=tuple)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> list[str]:
    """A Markdown table; the first `left` columns are left-aligned, the rest right-aligned."""
    align = ["---" if i < left else "---:" for i in range(len(header))]
    return [f"| {' | '.join(header)} |", f"|{'|'.join(align)}|",
            *(f"| {' | '.join(str(c) for c in row)} |" for row in rows)]


def _f(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) and math.isfinite(value) else "-"


# Figures a task's validation may add, in the curve's columns when a run has them.
CURVE_EXTRAS = {"valid_accuracy": "validation accuracy", "valid_decoded_accuracy": "argmax-decoded accuracy"}


def _curve(history: Sequence[dict[str, Any]], unit: str) -> list[str]:
    extra = [k for k in CURVE_EXTRAS if any(k in h for h in history)]
    header = ["step", f"train NLL (nats/{unit})", f"validation NLL (nats/{unit})",
              *(CURVE_EXTRAS[k] for k in extra), "learning rate", "minutes"]
    rows = [[h["step"], _f(h.get("train_nll")), _f(h.get("valid_nll")), *(_f(h.get(k), 3) for k in extra),
             f"{h['learning_rate']:.2e}" if "learning_rate" in h else "-", f"{h.get('seconds', 0) / 60:.1f}"]
            for h in history]
    return table(header, rows, left=0)


def training_lines(training: dict[str, Any], unit: str) -> list[str]:
    """The shared loop's part of the card: settings, where it stopped, the curve; earlier runs after it."""
    history = training.get("history", [])
    steps_run = training.get("steps_run", history[-1]["step"] if history else 0)
    best = training.get("best_step", steps_run)
    minutes = training.get("minutes", history[-1].get("seconds", 0) / 60 if history else 0)
    warmup = training.get("warmup_steps", 0)
    limit = training.get("max_minutes", 0)
    schedule = (f"learning rate {training.get('learning_rate')}"
                + (f" after {warmup} warm-up steps" if warmup else "")
                + f", cosine-decayed to {training.get('final_learning_rate', '?')} over {training.get('steps')} "
                "steps" + (f" or {limit:g} minutes, whichever ends first" if limit else ""))
    # Bundles trained before the shared loop did not record the optimizer, the seed or why they stopped.
    stopped = training.get("stopped") or ("not recorded" if training.get("finished") else "still running")
    stopped = {"steps": "the planned steps"}.get(stopped, stopped)
    seed = f"; seed {training['seed']}" if "seed" in training else ""
    lines = [f"- {training.get('optimizer', 'Adam')}, {schedule}; gradients clipped to a global norm of "
             f"{training.get('clip_norm')}{seed}.",
             f"- Ran {steps_run} steps in {minutes:.1f} min on a shared 2-core CPU; stopped by: {stopped}. "
             f"Validation every {training.get('eval_every', '?')} steps; the weights kept are those of the best "
             f"{training.get('selected_by', 'validation NLL')} (step {best})."]
    if training.get("patience"):
        lines.append(f"- Early stop after {training['patience']} validations without a better "
                     f"{training.get('selected_by', 'validation NLL')}.")
    lines += ["", *_curve(history, unit)]
    run = training.get("initialised_from")
    while isinstance(run, dict) and "bundle" in run:
        earlier = run.get("history") or []
        steps = run.get("steps_run", run.get("steps", 0))
        settings = _settings(run.get("settings", {}))
        lines += ["", f"Started from `{run['bundle']}` ({run.get('config', 'the same config')}), itself trained "
                  f"{steps} steps" + (f" ({settings})" if settings else "")
                  + (f" and kept at step {run['best_step']}" if "best_step" in run else "")
                  + (":" if earlier else "."), *(["", *_curve(earlier, unit)] if earlier else [])]
        for old in run.get("earlier_runs", []):  # older bundles listed the run that made the start here
            lines += ["", f"That run: {_settings(old) or 'settings not recorded'}"
                      + (":" if old.get("history") else "."), *(["", *_curve(old["history"], unit)]
                                                                if old.get("history") else [])]
        run = run.get("earlier")
    if isinstance(run, str):
        lines += ["", f"Before that: {run}."]
        start = training.get("validation_at_start")
        if start:
            lines.append(f"The starting weights scored {_f(start.get('nll'))} nats/{unit} on the held-out data"
                         + (f", accuracy {_f(start.get('accuracy'), 3)}." if "accuracy" in start else "."))
        for old in training.get("earlier_runs") or []:  # a summary only: bundles before the shared loop
            lines.append(f"Earlier run of this model: {old.get('steps')} steps in {old.get('minutes', 0):.0f} min; "
                         f"validation {_f(old.get('valid_nll'))} nats/{unit}, accuracy "
                         f"{_f(old.get('valid_accuracy'), 3)}.")
    return lines


def _settings(s: dict[str, Any]) -> str:
    """A run's recorded settings in a few words ("" if none were recorded)."""
    parts = [f"batch {s['batch_size']}"] if "batch_size" in s else []
    if "learning_rate" in s:
        parts.append(f"learning rate {s['learning_rate']}"
                     + (f" cosine-decayed to {s['final_learning_rate']}" if "final_learning_rate" in s else "")
                     + (f" over {s['steps']} steps" if "steps" in s else "")
                     + (f" or {s['max_minutes']:g} minutes" if s.get("max_minutes") else ""))
    parts += [f"{name} {s[key]}" for key, name in (("dropout", "dropout"), ("clip_norm", "gradient clip"))
              if key in s]
    return ", ".join(parts)


def write_card(folder: Path, card: Card, info: dict[str, Any]) -> None:
    """Write folder/MODEL_CARD.md from the family's card and the run's recorded info.

    Raises:
        ValueError: a dataset without a licence.
    """
    for d in card.datasets:
        if not d.licence.strip():
            raise ValueError(f"dataset {d.name} has no licence: only data with a known licence may train a model")
    weights = folder / "weights.npz"
    size_kb = weights.stat().st_size / 1024 if weights.is_file() else 0
    training = dict(info.get("training", {}))
    data = info.get("data", {})
    if not training.get("initialised_from"):  # bundles trained before the shared loop kept these with the data
        training["initialised_from"] = data.get("initialised_from")
        training.setdefault("validation_at_start", data.get("validation_at_start"))
        training.setdefault("earlier_runs", data.get("earlier_runs"))
    lines = [f"# {card.config}: model card", "",
             f"_Written by `{card.command}`; the figures below come from the run that produced `weights.npz`._", "",
             card.description, "", "## Model", *card.model,
             f"- {info.get('parameters', 0):,} parameters; weights file {size_kb:.0f} KB (float16).", "",
             "## Data"]
    for d in card.datasets:
        pieces = f"{d.pieces:,} pieces" if isinstance(d.pieces, int) else d.pieces
        lines.append(f"- {d.name}: {pieces}. Licence: {d.licence}."
                     + (" **Non-commercial data: do not use these weights commercially.**" if d.non_commercial
                        else ""))
    lines += [*card.data, "", "## Training", *card.training, *training_lines(training, card.unit), "",
              "## Validation of the shipped weights", *card.validation]
    for section in card.quality:
        lines += ["", f"## {section.title}", *section.lines]
    lines += ["", "## Limits", *card.limits, ""]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines))
