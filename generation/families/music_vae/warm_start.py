"""Start a 16-bar MusicVAE from trained 2-bar ones (music_vae_train --warm_start).

A hierarchical decoder's core LSTM decodes one bar from a 256-wide vector, as a 2-bar model's decoder decodes two
from z: with the same sizes their variables have the same shapes. Copying the 2-bar decoder into each core (the
melody model's into a melody or bass core, the drum model's into a drum core), and the 2-bar encoder where the
inputs match (into a hierarchical encoder: as its reader of each bar), gives the core a line that already knows
melody; the conductor starts fresh and learns to steer it. On a 2-core CPU the 16-bar melody model trained from
scratch for 974 steps still decoded only holds and rests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from generation.errors import InputError
from generation.families.music_vae.config import TRIO_PARTS, MusicVaeConfig

CORE = "core_decoder/"  # hierdec.CORE, trio_network.CORES: kept here so that this module needs no TensorFlow
TRIO_CORE = "core_decoder/core_decoder_{}/"


def _cores(config: MusicVaeConfig) -> list[tuple[str, str]]:
    """(variable prefix, kind) of each core decoder of the config."""
    if config.kind == "trio":
        return [(TRIO_CORE.format(k), "drums" if part == "drums" else "melody") for k, part in enumerate(TRIO_PARTS)]
    return [(CORE, config.kind)]


def transfers(config: MusicVaeConfig, shapes: Mapping[str, tuple[int, ...]],
              sources: Sequence[tuple[str, str, Mapping[str, np.ndarray]]]) -> tuple[dict[str, np.ndarray],
                                                                                       list[dict[str, Any]]]:
    """The arrays to copy into a hierarchical config's variables (`shapes`), and what came from where.

    Args:
        sources: (label, kind, weights) of each 2-bar model: kind "melody" or "drums".

    Raises:
        InputError: the config is not hierarchical, or a source fills nothing (another kind or other sizes).
    """
    if not config.hierarchical:
        raise InputError(f"--warm_start starts a 16-bar model from 2-bar ones; {config.name} is not hierarchical")
    out: dict[str, np.ndarray] = {}
    record: list[dict[str, Any]] = []
    for label, kind, weights in sources:
        copied: list[str] = []
        for prefix, core_kind in _cores(config):
            if core_kind == kind:
                copied += _copy(out, shapes, weights, "decoder/", prefix + "decoder/")
        if kind == config.kind:  # the encoder reads the same rows: all of it, or a hierarchical one's bar reader
            within = "encoder/cell_" if config.bar_encoder_sizes else "encoder/"
            copied += _copy(out, shapes, weights, within, within)
        if not copied:
            raise InputError(f"--warm_start {label}: a {kind} model fills no variable of {config.name} (a core "
                             f"decoder takes a 2-bar model of its part's kind and the sizes "
                             f"{' x '.join(map(str, config.decoder_sizes))})")
        record.append({"model": label, "kind": kind, "variables": len(copied),
                       "values": int(sum(out[name].size for name in copied))})
    return out, record


def _copy(out: dict[str, np.ndarray], shapes: Mapping[str, tuple[int, ...]], weights: Mapping[str, np.ndarray],
          source_prefix: str, target_prefix: str) -> list[str]:
    """Copy every source weight under `source_prefix` whose renamed target exists with its shape."""
    copied = []
    for name, value in weights.items():
        target = target_prefix + name[len(source_prefix):]
        if name.startswith(source_prefix) and shapes.get(target) == value.shape and target not in out:
            out[target] = np.asarray(value, np.float32)
            copied.append(target)
    return copied
