"""Our model bundle on disk: a folder with `bundle.json` (shape + config) and `weights.npz` (Magenta names)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from generation.errors import InputError

REPO_MODELS = Path(__file__).resolve().parents[2] / "models"


@dataclass(frozen=True)
class Bundle:
    """A trained network and what it needs to run.

    Attributes:
        family: the model family ("improv", ...).
        config: the config id within the family ("basic_improv", ...).
        layer_sizes: LSTM units per layer.
        attn_length: attention window (0 = none).
        weights: Magenta-named arrays.
        info: what the training run recorded (data, steps, losses...), free-form JSON.
    """

    family: str
    config: str
    layer_sizes: tuple[int, ...]
    attn_length: int
    weights: dict[str, np.ndarray]
    info: dict[str, Any] = field(default_factory=dict)

    def save(self, folder: Path) -> None:
        self.save_info(folder)
        # float16 halves the file; the network runs in float32. The card scores the stored (rounded) weights.
        halves: dict[str, Any] = {k: v.astype(np.float16) for k, v in self.weights.items()}
        np.savez_compressed(folder / "weights.npz", **halves)

    def save_info(self, folder: Path) -> None:
        """bundle.json alone: a re-scored card must leave weights.npz as it is (a new zip differs in its dates)."""
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "family": self.family,
            "config": self.config,
            "layer_sizes": list(self.layer_sizes),
            "attn_length": self.attn_length,
            "info": self.info,
        }
        (folder / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> Bundle:
        """Read a bundle folder.

        Raises:
            InputError: no bundle there (e.g. a model that was never trained or installed).
        """
        if not (folder / "bundle.json").is_file() or not (folder / "weights.npz").is_file():
            raise InputError(f"no trained model in {folder} (expected bundle.json and weights.npz); "
                             + _how_to_train(folder.name))
        meta = json.loads((folder / "bundle.json").read_text())
        with np.load(folder / "weights.npz") as npz:
            weights = {k: npz[k].astype(np.float32) for k in npz.files}
        return cls(
            family=meta["family"],
            config=meta["config"],
            layer_sizes=tuple(meta["layer_sizes"]),
            attn_length=int(meta["attn_length"]),
            weights=weights,
            info=meta.get("info", {}),
        )


def bundle_config(path: Path) -> str:
    """The config id a bundle was trained as (our folder, its bundle.json, or a Magenta .mag), without TF.

    Raises:
        InputError: the path is not a bundle we can read.
    """
    if not path.exists():
        raise InputError(f"bundle {str(path)!r} does not exist (leave out --bundle_file to use our model).")
    if path.suffix == ".mag":
        from generation.engine.magenta_bundle import read_mag_id

        return read_mag_id(path)
    folder = path.parent if path.name == "bundle.json" else path
    try:
        return str(json.loads((folder / "bundle.json").read_text())["config"])
    except (OSError, ValueError, KeyError) as e:
        raise InputError(f"bundle {str(path)!r} is neither a .mag file nor a model folder with "
                         "bundle.json.") from e


def load_bundle(config: str, bundle_file: Path | None, read_mag: Callable[[Path], Bundle]) -> Bundle:
    """Our shipped model for `config`, or the given bundle: a Magenta `.mag` (read by the family's `read_mag`),
    our model folder, or its bundle.json.

    Raises:
        InputError: no model shipped for `config`, or a path that is not a bundle we can read.
    """
    if bundle_file is None:
        return Bundle.load(default_bundle_dir(config))
    if not bundle_file.exists():
        raise InputError(f"bundle {str(bundle_file)!r} does not exist (leave out --bundle_file to use our model).")
    if bundle_file.suffix == ".mag":
        return read_mag(bundle_file)
    folder = bundle_file.parent if bundle_file.name == "bundle.json" else bundle_file
    if not (folder / "bundle.json").is_file():
        raise InputError(f"bundle {str(bundle_file)!r} is neither a .mag file nor a model folder with bundle.json.")
    return Bundle.load(folder)


def _how_to_train(config: str) -> str:
    """Which command trains `config` (from the family registry), or every family's if it is not a config."""
    from generation.families.registry import families

    for plugin in families():
        if config in plugin.configs:
            return f"train one with {plugin.train_command} --config={config}, or pass --bundle_file."
    commands = ", ".join(plugin.train_command for plugin in families())
    return f"train one with its family's command ({commands}) or pass --bundle_file."


def installed_configs() -> frozenset[str]:
    """Configs whose model we ship and that are present here."""
    return frozenset(p.name for p in REPO_MODELS.iterdir() if (p / "bundle.json").is_file()) \
        if REPO_MODELS.is_dir() else frozenset()


def default_bundle_dir(config: str) -> Path:
    """Where the model we ship for `config` lives."""
    return REPO_MODELS / config
