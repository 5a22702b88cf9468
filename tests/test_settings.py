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


def test_discord_guild_ids_are_read_from_the_environment() -> None:
    assert Settings.from_env({"DISCORD_GUILD_IDS": "123456789012345678, 234567890123456789"}).discord_guild_ids \
        == (123456789012345678, 234567890123456789)
    assert Settings.from_env({}).discord_guild_ids == ()
    with pytest.raises(SystemExit, match="DISCORD_GUILD_IDS='my-server': give server ids"):
        Settings.from_env({"DISCORD_GUILD_IDS": "my-server"})
