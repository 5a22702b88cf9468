"""Every shipped model writes the same MIDI for the same seed and primer as when the record was made
(tests/data/model_fingerprints.json): refactors of the sampler, the networks or the MIDI writing change no
music unless the record is rewritten on purpose, with the reason in the commit."""

from __future__ import annotations

import json

import pytest
from model_fingerprints import CASES, RECORD, fingerprint


@pytest.mark.parametrize("name", list(CASES))
def test_shipped_model_writes_the_recorded_midi(name: str) -> None:
    recorded = json.loads(RECORD.read_text())
    assert name in recorded, f"{name} has no recorded fingerprint: run tests/model_fingerprints.py --write"
    assert fingerprint(name) == recorded[name], f"{name} now writes different MIDI for the same seed"
