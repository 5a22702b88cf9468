"""GrooVAE training data: the Groove MIDI Dataset's takes as played (velocities and timing kept), in 2-bar windows.

Pure numpy + pretty_midi. Groove was played to a click at each take's tempo, which its MIDI carries, so a hit's
position in 16th steps is its time over the step's length from the file's start; its nearest 16th and its offset
from it come from there (groove_encoding.groove_of_onsets). Groove's own split (info.csv): the train takes give
2-bar windows from every bar line, the validation takes non-overlapping windows (held out); windows without a
hit are dropped. The network's input is derived from each window when drawn: its hits (humanize) or taps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.families.drums.encoding import CLASS_OF_PITCH
from generation.families.drums.groove import LICENCE, GrooveTake, read_takes
from generation.families.music_vae.config import STEPS_PER_BAR
from generation.families.music_vae.groove_config import OUTPUT_SIZE, GrooveConfig
from generation.families.music_vae.groove_encoding import control, groove_of_onsets

STEPS_PER_QUARTER = 4


def take_groove(take: GrooveTake) -> np.ndarray:
    """A whole take as a groove [bars x 16, 27], from the file's start to the bar of its last hit."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(take.midi))
    _, tempi = midi.get_tempo_changes()
    step_s = 60.0 / (float(tempi[0]) if len(tempi) else take.bpm) / STEPS_PER_QUARTER
    onsets = [(n.start / step_s, CLASS_OF_PITCH[n.pitch], n.velocity) for inst in midi.instruments
              for n in inst.notes if n.pitch in CLASS_OF_PITCH]
    if not onsets:
        return np.zeros((0, OUTPUT_SIZE), np.float32)
    last = max(int(np.floor(p + 0.5)) for p, _, _ in onsets)
    return groove_of_onsets(onsets, (last // STEPS_PER_BAR + 1) * STEPS_PER_BAR)


def take_windows(groove: np.ndarray, steps: int, hop_bars: int) -> list[np.ndarray]:
    """Windows of `steps` from every `hop_bars`-th bar line of a take's groove, each with at least one hit."""
    out = []
    for start in range(0, len(groove) - steps + 1, hop_bars * STEPS_PER_BAR):
        window = groove[start:start + steps]
        if window[:, :9].any():
            out.append(window)
    return out


@dataclass
class GrooveSet:
    """Training and held-out windows, grooves [N, steps, 27], and what the card says of them."""

    train: np.ndarray
    valid: np.ndarray
    config: GrooveConfig
    info: dict[str, Any]

    def batch(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """`size` training windows drawn at random: (the network's input rows [B, T, C], the grooves [B, T, 27])."""
        target = self.train[rng.integers(0, len(self.train), size)]
        return control(target, self.config), target


def groove_set(train_takes: Iterable[GrooveTake], valid_takes: Iterable[GrooveTake], config: GrooveConfig
               ) -> GrooveSet:
    """Windows from every bar line of the training takes, and non-overlapping ones of the held-out takes."""
    counts = {"train": 0, "validation": 0}

    def gather(takes: Iterable[GrooveTake], hop: int, split: str) -> np.ndarray:
        windows = []
        for take in takes:
            counts[split] += 1
            windows += take_windows(take_groove(take), config.steps, hop)
        return np.array(windows, np.float32).reshape(len(windows), config.steps, OUTPUT_SIZE)

    train = gather(train_takes, 1, "train")
    valid = gather(valid_takes, config.steps // STEPS_PER_BAR, "validation")
    info = {"dataset": "Groove MIDI Dataset (magenta/groove), 4/4 takes, beats and fills, as played",
            "licence": LICENCE, "takes": counts, "train_windows": len(train), "validation_windows": len(valid),
            "split": "Groove's own (info.csv): train for training, validation held out",
            "windows": "2 bars from every bar line (training), not overlapping (held out); windows without a hit "
                       "dropped",
            "augmentation": "none"}
    return GrooveSet(train, valid, config, info)


def load_groove_set(groove_dir: Path, config: GrooveConfig) -> GrooveSet:
    takes = read_takes(groove_dir, ("train", "validation"))
    return groove_set((t for t in takes if t.split == "train"), (t for t in takes if t.split == "validation"),
                      config)
