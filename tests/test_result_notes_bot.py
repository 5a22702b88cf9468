"""A result's notes as a user meets them, through a real `python -m bot` (the session's `models_bot`), its worker and
models: the web chat (Debian's Chromium) shows them under the result line, the API and the share page carry them,
and a result without notes shows as before.

Producers: the worker's transpose: on drums (drums stay as they are), and MusicVAE's /interpolate fitting files of
different lengths to its 2 bars (looped or trimmed).
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterator

import pytest
from botproc import BotProcess, get_bytes, midi_bytes, run_to_end
from chat_browser import send
from playwright.sync_api import Browser, Locator, Page

RESULT_TIMEOUT_S = 120.0
DRUMS_STAY = "left this piece as it was: it is all drums"


@pytest.fixture(scope="module")
def chat(browser: Browser, models_bot: BotProcess) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(f"{models_bot.url}/")
    yield page
    page.close()


def chat_result(page: Page, bot: BotProcess, text: str) -> Locator:
    """`text` typed into the chat; the bot's message once it shows the player."""
    before = page.locator("#log .msg.job").count()
    send(page, text)
    job = page.locator("#log .msg.job").nth(before)
    deadline = time.monotonic() + RESULT_TIMEOUT_S
    while not (job.count() and job.locator("audio").count()):
        failed = job.count() and "error" in (job.get_attribute("class") or "")
        if failed or time.monotonic() > deadline:
            shown = job.inner_text() if job.count() else "nothing"
            pytest.fail(f"no result for {text!r}; the chat shows {shown!r}; bot log tail:\n{bot.log_tail()}")
        page.wait_for_timeout(250)
    return job


def test_the_chat_shows_a_results_notes_under_its_line_and_none_when_there_are_none(
        chat: Page, models_bot: BotProcess) -> None:
    noted = chat_result(chat, models_bot, "/drums bars:1 transpose:+2 seed:4")
    notes = noted.locator("ul.notes li")
    assert notes.count() == 1, noted.inner_text()
    assert notes.first.inner_text().startswith(f"transpose:+2 {DRUMS_STAY}"), notes.first.inner_text()
    assert notes.first.is_visible()
    # under the result line (model, seed, share link), above the player
    line_y = noted.locator("a.share").bounding_box()
    note_y = notes.first.bounding_box()
    player_y = noted.locator("audio").bounding_box()
    assert line_y and note_y and player_y and line_y["y"] < note_y["y"] < player_y["y"]

    plain = chat_result(chat, models_bot, "/drums bars:1 seed:4")  # no notes: the result as before
    assert plain.locator(".notes").count() == 0 and plain.locator("a.share").count() == 1
    assert "Done" in plain.inner_text()


def test_the_api_and_share_page_carry_the_notes(models_bot: BotProcess) -> None:
    final = run_to_end(models_bot, "/drums bars:1 transpose:-5 seed:2", timeout=RESULT_TIMEOUT_S)
    assert len(final["notes"]) == 1 and DRUMS_STAY in final["notes"][0], final["notes"]
    status, page = get_bytes(final["share_url"])
    assert status == 200 and f"<li>{html.escape(final['notes'][0])}</li>" in page.decode()
    assert run_to_end(models_bot, "/drums bars:1 seed:2", timeout=RESULT_TIMEOUT_S)["notes"] == []


ONE_BAR = [(p, 2 * i, 2 * i + 2) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]  # eighths up, 1 bar
THREE_BARS = [(p, 4 * i, 4 * i + 4) for i, p in enumerate([79, 76, 72, 67] * 3)]  # quarters down, 3 bars


def test_interpolate_files_of_different_lengths_notes_say_looped_or_trimmed(models_bot: BotProcess) -> None:
    """/interpolate fits both files to the model's 2 bars; the result says what it did to each: the 1-bar file
    looped, the 3-bar file cut to its first 2 bars."""
    files = [("one_bar.mid", midi_bytes(ONE_BAR)), ("three_bars.mid", midi_bytes(THREE_BARS))]
    final = run_to_end(models_bot, "/interpolate steps:3 seed:5", files, timeout=RESULT_TIMEOUT_S)
    notes = final["notes"]
    assert any("the first file" in n and "looped" in n for n in notes), notes
    assert any("the second file" in n and ("trimmed" in n or "first 2 bars" in n) for n in notes), notes
    status, page = get_bytes(final["share_url"])
    assert status == 200 and all(f"<li>{html.escape(n)}</li>" in page.decode() for n in notes)
