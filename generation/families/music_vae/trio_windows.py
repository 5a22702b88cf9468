"""hierdec-trio_16bar's training windows as the trainer draws them, and a cache of the trio build. Pure numpy.

trio_data.trio_set builds the windows (POP909 melody and bass, Groove drums) in about 3 minutes; the result is
kept (by default in the system's temp folder: music_vae_train --trio_cache_dir) under a key made of the code that
builds it and the size and time of every data file it reads, so a second run (a smoke run, then the real one, or
--card_only) starts at once, and any change to the code or the data builds afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from generation.families.music_vae.trio_data import TrioSet, trio_set

log = logging.getLogger(__name__)
CODE = ("families/music_vae/trio_data.py", "families/drums/groove.py", "families/melody/dataset.py")  # the build's
GENERATION = Path(__file__).resolve().parents[2]


class TrioWindows:
    """A TrioSet as the MusicVAE trainer draws from it (WindowSet's interface): classes [N, 256, 3].

    Attributes:
        train: the training windows (melody, bass, drums stacked on the last axis), as built.
        valid: the held-out windows, as they are.
        info: counts for the card.
    """

    def __init__(self, trios: TrioSet) -> None:
        self.trios = trios
        self.train = np.stack([trios.train_melody, trios.train_bass, trios.train_drums], axis=2)
        self.valid = np.stack([trios.valid_melody, trios.valid_bass, trios.valid_drums], axis=2).astype(np.int32)
        self.info = {k: v for k, v in trios.info.items() if k in ("train_windows", "validation_windows")}

    def batch(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` training windows at random, melody and bass moved together by one random shift: [B, 256, 3]."""
        return np.stack(self.trios.batch(rng, size), axis=2)


def cache_key(datasets_dir: Path, hop_bars: int, seed: int) -> str:
    """A digest of the building code and of each data file's path, size and modification time."""
    digest = hashlib.sha256(f"{hop_bars} {seed}".encode())
    for name in CODE:
        digest.update((GENERATION / name).read_bytes())
    for root in (datasets_dir / "pop909" / "POP909", datasets_dir / "groove"):
        for path in sorted(root.rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path.relative_to(datasets_dir)} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def cached_trio_set(datasets_dir: Path, cache_dir: Path | None, hop_bars: int = 1, seed: int = 0) -> TrioSet:
    """trio_set(datasets_dir), from the cache in `cache_dir` when the code and data are those it was built from
    (None: built, not cached)."""
    if cache_dir is None:
        return trio_set(datasets_dir, hop_bars, seed)
    path = cache_dir / f"tunesmith-trio-{cache_key(datasets_dir, hop_bars, seed)}.npz"
    if path.is_file():
        try:
            return _load(path)
        except (OSError, ValueError, KeyError) as e:  # a damaged file: build again
            log.warning("trio cache %s unreadable (%s); building the set again", path, e)
    trios = trio_set(datasets_dir, hop_bars, seed)
    _save(trios, path)
    return trios


ARRAYS = ("train_melody", "train_bass", "train_drums", "valid_melody", "valid_bass", "valid_drums")


def _save(trios: TrioSet, path: Path) -> None:
    meta = {"info": trios.info, "train_sources": trios.train_sources, "valid_sources": trios.valid_sources}
    partial = path.with_suffix(f".{os.getpid()}.partial.npz")
    np.savez(partial, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
             **{name: getattr(trios, name) for name in ARRAYS})
    partial.replace(path)  # whole or not at all, for a run started beside this one


def _load(path: Path) -> TrioSet:
    with np.load(path) as data:
        meta: dict[str, Any] = json.loads(data["meta"].tobytes().decode())
        arrays = {name: data[name] for name in ARRAYS}
    return TrioSet(**arrays, info=meta["info"], train_sources=[tuple(s) for s in meta["train_sources"]],
                   valid_sources=[tuple(s) for s in meta["valid_sources"]])
