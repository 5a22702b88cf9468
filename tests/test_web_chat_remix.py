"""The web chat's remixes as a user meets them, in Debian's Chromium (headless, via Playwright) against a real
`python -m bot` with a real model worker: the buttons under a result make new jobs whose results appear, Reply
remixes a result, the star and the results survive a reload, and the arrow keys recall earlier commands.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator

import pretty_midi
import pytest
from botproc import BotProcess, get_bytes, start_bot
from chat_browser import CHROMIUM, send
from playwright.sync_api import Browser, Locator, Page

GENEROUS = {"TUNESMITH_RATE_LIMIT_PER_MINUTE": "100", "TUNESMITH_MAX_ACTIVE_PER_USER": "10",
            "TUNESMITH_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "1000", "TUNESMITH_MAX_ACTIVE_PER_ADDRESS": "100"}
MELODY = "/melody C4 - E4 - G4 - C5 - bars:2 seed:4"
RESULT_TIMEOUT_S = 120.0  # the first job waits for the worker to warm up

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    bot = start_bot(tmp_path_factory.mktemp("webremix") / "data", GENEROUS)
    yield bot
    bot.stop()


@pytest.fixture(scope="module")
def chat(browser: Browser, bot: BotProcess) -> Iterator[Page]:
    """One browser (one cookie, one localStorage) for the whole module, as one user at one computer."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.goto(f"{bot.url}/")
    yield page
    context.close()


def results(page: Page) -> Locator:
    return page.locator("#log .msg.job")


def next_result(page: Page, bot: BotProcess, before: int) -> Locator:
    """The result after the `before` results the chat showed, once its player is there."""
    deadline = time.monotonic() + RESULT_TIMEOUT_S
    while True:
        errors = page.locator("#log .msg.error")
        if errors.count():
            pytest.fail(f"the chat shows an error: {errors.last.inner_text()!r}")
        if results(page).count() > before and results(page).nth(before).locator("audio").count():
            return results(page).nth(before)
        if time.monotonic() > deadline or bot.failed_worker_starts() >= 2:
            pytest.fail(f"no new result; the log shows {page.locator('#log').inner_text()[-600:]!r}\n"
                        f"bot log tail:\n{bot.log_tail()}")
        page.wait_for_timeout(250)


def seed_of(result: Locator) -> int:
    found = re.search(r"seed (\d+)", result.inner_text())
    assert found, result.inner_text()
    return int(found.group(1))


@pytest.fixture(scope="module")
def first(chat: Page, bot: BotProcess) -> Locator:
    """MELODY typed into the chat and followed until its player appears."""
    send(chat, MELODY)
    return next_result(chat, bot, 0)


def test_a_result_has_its_buttons(first: Locator) -> None:
    labels = [b.inner_text() for b in first.locator(".actions button").all()]
    assert labels == ["Again", "Vary", "Longer", "Harmonise this", "Add drums", "Arrange", "Reply", "\u2606 Star"], \
        labels


def test_again_and_longer_make_new_results(chat: Page, bot: BotProcess, first: Locator) -> None:
    """Again: a new result with another seed. Longer: a new result twice as long that says how it was made."""
    count = results(chat).count()
    first.get_by_role("button", name="Again").click()
    assert "Again" in chat.locator("#log .msg.user").last.inner_text()
    again = next_result(chat, bot, count)
    assert seed_of(again) != 4
    assert "seed:" in again.locator(".recipe").inner_text()

    first.get_by_role("button", name="Longer").click()
    longer = next_result(chat, bot, count + 1)
    assert re.match(r"/melody bars:4 seed:\d+ http", longer.locator(".recipe").inner_text())
    duration = chat.wait_for_function(
        "(i) => { const a = document.querySelectorAll('#log .msg.job audio')[i]; return a && a.duration > 0 && "
        "a.duration; }", arg=count + 1, timeout=15_000).json_value()
    assert 7.9 <= duration <= 9.5, f"4 bars at 120 qpm (8 s + tail), the player says {duration} s"


def test_add_drums_and_arrange_make_band_results(chat: Page, bot: BotProcess, first: Locator) -> None:
    """Add drums: the tune with a drum part on channel 10. Arrange: the tune with chords, bass and drums."""
    count = results(chat).count()
    first.get_by_role("button", name="Add drums").click()
    drummed = next_result(chat, bot, count)
    assert re.match(r"/drumify keep:on http\S+/s/\S+ seed:\d+$", drummed.locator(".recipe").inner_text())
    midi = midi_of(bot, drummed)
    assert [i.is_drum for i in midi.instruments] == [False, True] and midi.instruments[1].notes
    tune = [(n.pitch, round(n.start, 3)) for n in midi.instruments[0].notes]
    assert tune == [(n.pitch, round(n.start, 3)) for i in midi_of(bot, first).instruments for n in i.notes], \
        "the tune, kept note for note"
    assert "Add drums" not in [b.inner_text() for b in drummed.locator(".actions button").all()]

    first.get_by_role("button", name="Arrange").click()
    band = next_result(chat, bot, count + 1)
    assert band.locator(".recipe").inner_text().startswith("/arrange http")
    names = [i.name for i in midi_of(bot, band).instruments]
    assert names == ["Melody", "Chords", "Bass", "Drums"], names


def midi_of(bot: BotProcess, result: Locator) -> pretty_midi.PrettyMIDI:
    """The MIDI a result's download link serves."""
    href = result.locator("a", has_text="MIDI").first.get_attribute("href")
    assert href
    status, data = get_bytes(href if href.startswith("http") else bot.url + href)
    assert status == 200
    return pretty_midi.PrettyMIDI(io.BytesIO(data))


def test_reply_remixes_the_result(chat: Page, bot: BotProcess, first: Locator) -> None:
    """Reply, then options: the earlier recipe with them changed, its seed kept."""
    count = results(chat).count()
    first.get_by_role("button", name="Reply").click()
    banner = chat.locator("#replying")
    assert banner.is_visible() and MELODY in banner.inner_text()
    send(chat, "temperature:1.2")
    remix = next_result(chat, bot, count)
    assert remix.locator(".recipe").inner_text() == "/melody C4 - E4 - G4 - C5 - bars:2 temperature:1.2 seed:4"
    assert seed_of(remix) == 4
    assert not banner.is_visible(), "the reply is sent: the banner goes"
    assert MELODY in chat.locator("#log .msg.user").last.locator(".replied").inner_text()


def test_star_and_results_survive_a_reload(chat: Page, bot: BotProcess, first: Locator) -> None:
    """After a reload the chat shows this browser's results again, with their stars, and their buttons work."""
    first.locator(".actions .star").click()
    chat.wait_for_function("() => document.querySelector('#log .msg.job .star').textContent.includes('Starred')")
    before = results(chat).count()
    chat.reload()
    chat.wait_for_function("(n) => document.querySelectorAll('#log .msg.job audio').length >= n", arg=before,
                           timeout=15_000)
    assert results(chat).count() == before
    assert results(chat).first.locator(".star").inner_text() == "\u2605 Starred"
    assert MELODY in chat.locator("#log .msg.user").first.inner_text()
    results(chat).first.get_by_role("button", name="Vary").click()
    vary = next_result(chat, bot, before)
    assert "temperature:1.15 seed:4" in vary.locator(".recipe").inner_text()


def test_history_command_lists_the_recipes(chat: Page) -> None:
    send(chat, "/history")
    listing = chat.locator(".msg.bot pre").last
    listing.wait_for(timeout=10_000)
    text = listing.inner_text()
    assert "\u2605 " + MELODY in text and "vary of: " + MELODY in text, text


def test_arrow_keys_recall_earlier_commands_also_after_a_reload(chat: Page) -> None:
    box = chat.locator("#text")
    box.fill("")
    box.press("ArrowUp")
    assert box.input_value() == "/history"
    box.press("ArrowUp")
    assert box.input_value() == "temperature:1.2"
    box.press("ArrowUp")
    assert box.input_value() == MELODY
    box.press("ArrowDown")
    assert box.input_value() == "temperature:1.2"
    box.press("ArrowDown")
    box.press("ArrowDown")
    assert box.input_value() == "", "past the newest command: back to what was being typed"
    chat.reload()
    chat.locator("#text").press("ArrowUp")
    assert chat.locator("#text").input_value() == "/history"
