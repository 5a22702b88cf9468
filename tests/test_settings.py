"""Settings read from the environment: a wrong value stops the bot at start-up with a message naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from botproc import start_bot

from bot.settings import Settings


def test_warm_takes_configs_separated_by_commas_or_spaces() -> None:
    assert Settings.from_env({"TUNESMITH_WARM": "basic_improv, drum_kit polyphony"}).warm == \
        ("basic_improv", "drum_kit", "polyphony")
    assert Settings.from_env({}).warm == ()  # the chat commands' defaults


def test_a_bot_told_to_warm_an_unknown_model_says_which_and_what_exists(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as failed:
        start_bot(tmp_path / "data", {"TUNESMITH_WARM": "basic_improv,drums_kit"})
    message = str(failed.value)
    assert "TUNESMITH_WARM: unknown config 'drums_kit'" in message
    assert "drum_kit" in message and "Traceback" not in message
