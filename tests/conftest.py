"""Fixtures shared by several test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botproc import BotProcess, start_bot
from chat_browser import CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import Browser, sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def models_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """One bot, with limits no test run reaches, shared by the modules that try each family's command end to end
    (a bot's start-up is 5-15 s on this machine; sharing it saves that for every module)."""
    proc = start_bot(tmp_path_factory.mktemp("models") / "data",
                     {"TUNESMITH_RATE_LIMIT_PER_MINUTE": "1000", "TUNESMITH_MAX_ACTIVE_PER_USER": "10",
                      "TUNESMITH_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "1000", "TUNESMITH_MAX_ACTIVE_PER_ADDRESS": "20"})
    yield proc
    proc.stop()
