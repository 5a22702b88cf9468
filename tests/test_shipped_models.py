"""Every config ships a trained model whose training run recorded a card, and the figures a user relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generation.families.improv.config import CONFIGS

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.mark.parametrize("config", list(CONFIGS))
def test_model_ships_with_card_and_recorded_quality(config: str) -> None:
    folder = MODELS / config
    meta = json.loads((folder / "bundle.json").read_text())
    info = meta["info"]
    assert meta["config"] == config and meta["family"] == "improv"
    assert (folder / "weights.npz").stat().st_size < 20 * 2**20  # small enough to commit
    card = (folder / "MODEL_CARD.md").read_text()
    for must in ("Licence", "GPL-3.0", "validation NLL", "chord-tone ratio", "human: nottingham"):
        assert must in card, must
    # Trained on the real lead sheets, not a handful.
    assert info["data"]["datasets"]["nottingham"]["pieces"] >= 1000
    assert info["data"]["datasets"]["openewld"]["pieces"] >= 480
    assert info["training"]["finished"] and info["training"]["steps"] >= 1000
    # Chord tones on strong beats at temperature 1.0 (a floor against shipping a regressed model; the
    # target of 0.72 is reported per config in the cards), and far fewer a tritone away.
    quality = info["quality"]["temperature_1.0"]
    assert quality["generations"] >= 20
    assert quality["chord_tone_ratio"] >= 0.70
    assert quality["chord_tone_ratio"] - quality["tritone_ratio"] >= 0.2
    # Better than chance and than a blind model on held-out pieces (uniform over 38 events: 3.64 nats).
    assert info["stored_weights_validation"]["nll"] < 1.0
