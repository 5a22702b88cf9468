"""The family registry: every shipped config has exactly one family, reading the registry loads no model
library, and a request never runs in another family's code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from generation.errors import InputError
from generation.families.registry import FAMILY_MODULES, families, family, family_of_config
from generation.models.bundle import REPO_MODELS, Bundle, installed_configs
from generation.request import GenerationRequest
from generation.worker import Worker

ROOT = Path(__file__).resolve().parents[1]


def test_every_shipped_model_belongs_to_exactly_one_family() -> None:
    assert installed_configs(), "no shipped models found under models/"
    for config in installed_configs():
        owners = [p.name for p in families() if config in p.configs]
        assert len(owners) == 1, (config, owners)
        assert family_of_config(config).name == owners[0]
    every = [c for p in families() for c in p.configs]
    assert len(every) == len(set(every)), "a config id is claimed by two families"


def test_reading_the_registry_loads_no_model_library() -> None:
    code = ("import sys; from generation.families.registry import families; "
            "print([p.name for p in families()]); "
            "print(sorted(m for m in ('tensorflow', 'note_seq', 'pandas', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.splitlines() == [str(list(FAMILY_MODULES)), "[]"], out


def test_a_config_of_another_family_is_refused_not_run_by_the_wrong_code(tmp_path: Path) -> None:
    request = GenerationRequest("improv", "rnn-nade", ("C",))  # a pianoroll config sent as improv
    with pytest.raises(InputError, match="'rnn-nade' is not a improv config"):
        Worker().run("job", request, tmp_path, lambda _: None)
    with pytest.raises(InputError, match="unknown config 'drum_kit'"):
        family_of_config("drum_kit")
    with pytest.raises(InputError, match="unknown model family 'jazz'"):
        family("jazz")


def test_a_missing_model_names_the_command_that_trains_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="train one with pianoroll_rnn_nade_train --config=rnn-nade"):
        Bundle.load(tmp_path / "rnn-nade")
    with pytest.raises(InputError, match="improv_rnn_train, polyphony_rnn_train"):
        Bundle.load(tmp_path / "not-a-config")
    assert REPO_MODELS.is_dir()
