"""Drums RNN generation: primer steps -> drum tracks, batched and compiled (the shared driver, engine/sampling.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from generation.engine.bundle import Bundle
from generation.engine.rnn import ATTN, LSTM, EventRnn
from generation.engine.sampling import FREE, OneHotStepper, SearchSettings
from generation.errors import InputError
from generation.families.drums.config import CONFIGS, MAX_TOTAL_STEPS, DrumsConfig, installed_model
from generation.families.drums.encoding import (
    DEFAULT_QPM,
    DrumStep,
    class_to_step,
    control_rows,
    sampler_row_order,
    step_to_class,
)

FAMILY = "drums"


class DrumsGenerator:
    """A loaded Drums RNN, ready to generate.

    The bundle keeps Magenta's input order ([event one-hot, counters, style]); the shared stepper feeds
    [controls, event one-hot], so the first layer's input rows are put in that order here, once.

    Args:
        bundle: a trained bundle of the drums family.
    """

    def __init__(self, bundle: Bundle) -> None:
        if bundle.family != FAMILY or bundle.config not in CONFIGS:
            raise InputError(f"bundle is a {bundle.family}/{bundle.config} model, not a Drums RNN "
                             f"({', '.join(CONFIGS)}).")
        self.bundle = bundle
        self.config: DrumsConfig = CONFIGS[bundle.config]
        weights = dict(bundle.weights)
        first = ATTN + "kernel" if bundle.attn_length else LSTM.format(0) + "kernel"
        size = self.config.input_size
        if weights[first].shape[0] < size:
            raise InputError(f"the bundle's network takes {weights[first].shape[0]} inputs; {bundle.config} "
                             f"needs {size}.")
        order = sampler_row_order(self.config)
        weights[first] = np.concatenate([weights[first][:size][order], weights[first][size:]])
        self.model = EventRnn(size, self.config.num_classes, bundle.layer_sizes, bundle.attn_length,
                              weights=weights)
        # The one-hot fed as a row of the folded first layer: 2x faster; float rounding flips ~1 draw in 2,000
        # eight-bar tracks against the plain step (bc03c9f), every fingerprint and golden unchanged.
        self.stepper = OneHotStepper(self.model, self.config.num_classes, fold=True)

    @classmethod
    def load(cls, source: str | Path = "drum_kit") -> DrumsGenerator:
        """Our installed model for a config id, or a bundle path (our model folder, its bundle.json, a .mag).

        Raises:
            InputError: unknown config, no model installed, or a path that is not a drums bundle.
        """
        if isinstance(source, str) and source in CONFIGS:
            return cls(Bundle.load(installed_model(source)))
        path = Path(source)
        if not path.exists():
            raise InputError(f"{str(source)!r} is neither a Drums RNN config ({', '.join(CONFIGS)}) nor an "
                             "existing bundle file or folder.")
        if path.suffix == ".mag":
            return cls(read_drums_mag(path))
        folder = path.parent if path.name == "bundle.json" else path
        if not (folder / "bundle.json").is_file():
            raise InputError(f"bundle {str(path)!r} is neither a .mag file nor a model folder with bundle.json.")
        return cls(Bundle.load(folder))

    def generate(
        self,
        primer: Sequence[DrumStep],
        num_steps: int,
        num_outputs: int,
        search: SearchSettings,
        seed: int,
        style: str | None = None,
        qpm: float = DEFAULT_QPM,
    ) -> list[list[DrumStep]]:
        """Drum tracks of `num_steps` 16th steps, each starting with the primer's steps as given.

        Generation starts on the step right after the primer. An empty primer starts from one silent step.
        Generated steps hold each class's representative GM pitch. `qpm` reaches configs that hear the tempo.

        Raises:
            InputError: a length out of range, a primer as long as the track, or a style the config lacks.
        """
        if not 1 <= num_steps <= MAX_TOTAL_STEPS:
            raise InputError(f"{num_steps} steps asked; a drum track may be 1 to {MAX_TOTAL_STEPS} steps "
                             f"({MAX_TOTAL_STEPS // 16} bars).")
        primer = [frozenset(s) for s in primer] or [frozenset()]
        if len(primer) >= num_steps:
            raise InputError(f"the primer is {len(primer)} steps long and the track only {num_steps}: raise "
                             "the number of steps or shorten the primer.")
        try:
            controls = control_rows(num_steps, self.config, style, qpm)
        except ValueError as e:
            raise InputError(f"{e}.") from None
        forced = np.array([step_to_class(s) for s in primer] + [FREE] * (num_steps - len(primer)), np.int32)
        classes, _ = self.stepper.sample(controls, forced, num_outputs, search, seed)
        return [primer + [class_to_step(c) for c in row[len(primer):].tolist()] for row in classes]

    def log_likelihood(self, track: Sequence[DrumStep], style: str | None = None,
                       qpm: float = DEFAULT_QPM) -> float:
        """ln p of a track's steps after the first under the model (temperature 1), as Magenta scores tracks."""
        classes = np.array([step_to_class(s) for s in track], np.int32)
        controls = control_rows(len(classes), self.config, style, qpm)
        _, logp = self.stepper.sample(controls, classes, 1, SearchSettings(), seed=0)
        return float(logp[0])


def read_drums_mag(path: Path) -> Bundle:
    """A user's Magenta drum_kit `.mag`, with its attention window from the bundle's metagraph.

    The shared reader takes the window to be 40 (the melody and improv default); drum_kit's is 32. The
    metagraph's zero state holds the window of past outputs, [batch, attn_length x units].

    Raises:
        InputError: not a readable drums bundle.
    """
    from generation.engine.magenta_bundle import _read_proto, read_mag

    bundle = read_mag(path, {name: FAMILY for name in CONFIGS})
    if not bundle.attn_length:
        return bundle
    attn = CONFIGS[bundle.config].attn_length
    try:
        from tensorflow.core.protobuf import meta_graph_pb2

        meta = meta_graph_pb2.MetaGraphDef.FromString(_read_proto(path).metagraph_file)
        nodes = {n.name: n for n in meta.graph_def.node}
        units = bundle.layer_sizes[0]
        widths = [int(shape.dim[-1].size) for name in meta.collection_def["initial_state"].node_list.value
                  if (node := nodes.get(name.split(":")[0])) is not None
                  for shape in node.attr["_output_shapes"].list.shape if shape.dim]
        windows = {w // units for w in widths if w > units and w % units == 0}
        if len(windows) == 1:
            attn = windows.pop()
    except Exception:  # noqa: BLE001 - an odd metagraph: keep Magenta's default for the config
        pass
    return dataclasses.replace(bundle, attn_length=attn)
