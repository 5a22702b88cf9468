"""Debian's Chromium for the web chat tests: where it is, how it starts, and typing a command (the `browser`
fixture is in conftest.py)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE: ViewportSize = {"width": 390, "height": 844}


def send(page: Page, text: str) -> None:
    """Type a command into the chat's input and press Enter, as a user does."""
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")
