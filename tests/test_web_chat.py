"""The local web chat and share pages as a user sees them: Debian's Chromium (headless, via Playwright) against a
real `python -m bot` subprocess with a real model worker, SQLite and FluidSynth.

The bot runs with SHARE_BASE_URL=http://localhost:<port> while the chat is opened at http://127.0.0.1:<port>, so a
link that ignored SHARE_BASE_URL would show up as 127.0.0.1 and fail the OpenGraph checks.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botproc import BotProcess, free_port, get_bytes, get_json, start_bot
from chat_browser import CHROMIUM, PHONE, send
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bot.commands import CHAT_COMMANDS
from generation.jobs.embedded import DEFAULT_WARMUP_S

COMMAND = "/improv C G Am F primer:60"
MODEL = "chord_pitches_improv"  # the default config
RESULT_TIMEOUT_S = 90.0  # first job waits for the worker to warm up (~8 s, more on a busy machine)
PNG = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


@dataclass(frozen=True)
class ChatResult:
    """What the chat showed after COMMAND finished."""

    progress_text: str
    share_url: str
    seed: int
    audio_src: str
    summary: str


@pytest.fixture(scope="module")
def share_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BotProcess, str]]:
    """The bot with SHARE_BASE_URL set to another spelling of its own address; default limits."""
    port = free_port()
    base = f"http://localhost:{port}"
    bot = start_bot(tmp_path_factory.mktemp("webchat") / "data", {"SHARE_BASE_URL": base}, port=port)
    yield bot, base
    bot.stop()


@pytest.fixture(scope="module")
def bot(share_base: tuple[BotProcess, str]) -> BotProcess:
    return share_base[0]


@pytest.fixture(scope="module")
def chat(browser: Browser, bot: BotProcess) -> Iterator[Page]:
    """The chat page, open for the whole module (one user, one cookie)."""
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(f"{bot.url}/")
    yield page
    page.close()


@pytest.fixture(scope="module")
def improv(chat: Page, bot: BotProcess) -> ChatResult:
    """COMMAND typed into the chat, followed until the player appears."""
    send(chat, COMMAND)
    job = chat.locator("#log .msg").last  # the bot's reply, below the echoed command
    progress = job.locator(".progress")
    progress.wait_for(state="visible", timeout=10_000)
    progress_text = progress.inner_text()
    deadline = time.monotonic() + RESULT_TIMEOUT_S
    while not job.locator("audio").count():
        failed = "error" in (job.get_attribute("class") or "")
        if failed or time.monotonic() > deadline or bot.failed_worker_starts() >= 2:
            pytest.fail(f"no player; the chat shows {job.inner_text()!r}; bot log tail:\n{bot.log_tail()}")
        chat.wait_for_timeout(250)
    summary = job.inner_text()
    seed = re.search(r"seed (\d+)", summary)
    assert seed, f"the result does not name its seed: {summary!r}"
    return ChatResult(progress_text=progress_text, share_url=job.locator("a.share").get_attribute("href") or "",
                      seed=int(seed.group(1)), audio_src=job.locator("audio").get_attribute("src") or "",
                      summary=summary)


def image_loaded(page: Page, selector: str) -> bool:
    """True once the <img> has loaded a real picture (naturalWidth > 0)."""
    try:
        page.wait_for_function(
            "(sel) => { const i = document.querySelector(sel); return !!i && i.complete && i.naturalWidth > 0; }",
            arg=selector, timeout=15_000)
    except PlaywrightTimeout:
        return False
    return True


def test_improv_shows_progress_then_player_pianoroll_and_share_link(chat: Page, improv: ChatResult,
                                                                    tmp_path: Path) -> None:
    """The user sees a progress line, then a player whose audio is OGG, a loaded piano roll and a share link."""
    assert re.match(r"(Queued|Generating|Rendering)", improv.progress_text), improv.progress_text
    job = chat.locator(".msg.job").last
    assert "Done" in improv.summary and MODEL in improv.summary

    status, audio = get_bytes(improv.audio_src)
    assert status == 200 and audio.startswith(b"OggS"), (status, audio[:16])
    duration = chat.wait_for_function(
        "() => { const a = document.querySelector('.msg.job audio'); return a && a.duration > 0 && a.duration; }",
        timeout=15_000).json_value()
    # 4 bars at 120 qpm = 8 s, plus up to the 1 s release tail the renderer keeps.
    assert 7.9 <= duration <= 9.5, f"the player shows {duration} s for 4 bars at 120 qpm (8 s + tail)"

    assert image_loaded(chat, ".msg.job img"), "the piano roll did not load"
    assert job.locator("a[download]", has_text="MIDI").count() == 1
    assert re.search(r"/s/[\w-]+$", improv.share_url), improv.share_url

    shot = tmp_path / "chat.png"
    chat.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0


def test_bad_chord_shows_error_with_caret_under_it(chat: Page) -> None:
    """An unknown chord is named, and a caret line points at it under the command."""
    send(chat, "/improv C H7")
    error = chat.locator(".msg.error").last
    error.wait_for(timeout=10_000)
    assert "H7" in error.inner_text()
    pointer = error.locator("pre").inner_text().splitlines()
    assert pointer[0] == "/improv C H7", pointer
    assert pointer[1].index("^") == pointer[0].index("H7") and pointer[1].strip() == "^^", pointer


def test_help_shows_the_options(chat: Page) -> None:
    """/help improv answers with that command's grammar, options included."""
    send(chat, "/help improv")
    reply = chat.locator(".msg.bot pre").last
    reply.wait_for(timeout=10_000)
    text = reply.inner_text()
    assert "primer:" in text and "/improv" in text


def test_header_names_every_registered_command(chat: Page) -> None:
    """The page's header is built from the registry: every family's commands are named, Melody and Drums too."""
    header = chat.locator("header").inner_text()
    for name in CHAT_COMMANDS:
        assert f"/{name} " in header, (name, header)


def test_share_page_plays_shows_and_downloads(browser: Browser, improv: ChatResult) -> None:
    """The share link opens a page with a player, the piano roll, a MIDI download and the recipe."""
    page = browser.new_page()
    try:
        response = page.goto(improv.share_url)
        assert response is not None and response.status == 200

        audio_src = page.locator("audio").first.get_attribute("src") or ""
        status, audio = get_bytes(audio_src)
        assert status == 200 and audio.startswith(b"OggS"), (audio_src, status, audio[:16])

        assert image_loaded(page, "img"), "the piano roll did not load on the share page"

        midi_link = page.locator("a[download]", has_text="MIDI").first
        status, midi = get_bytes(midi_link.get_attribute("href") or "")
        assert status == 200 and midi.startswith(b"MThd"), (status, midi[:16])

        recipe = page.locator(".recipe").inner_text()
        assert COMMAND in recipe and MODEL in recipe and str(improv.seed) in recipe, recipe
    finally:
        page.close()


def test_share_page_opengraph_tags_are_absolute_under_share_base_url(browser: Browser, improv: ChatResult,
                                                                     share_base: tuple[BotProcess, str]) -> None:
    """A chat unfurl gets title, image, audio and URL, all absolute and under SHARE_BASE_URL."""
    _, base = share_base
    assert improv.share_url.startswith(base + "/s/"), improv.share_url
    page = browser.new_page()
    try:
        page.goto(improv.share_url)
        tags = {p: page.locator(f'meta[property="{p}"]').get_attribute("content") or ""
                for p in ("og:title", "og:image", "og:audio", "og:url")}
    finally:
        page.close()
    assert COMMAND in tags["og:title"], tags
    assert tags["og:url"] == improv.share_url, tags
    for prop in ("og:image", "og:audio", "og:url"):
        assert tags[prop].startswith(base + "/"), (prop, tags[prop])
    assert get_bytes(tags["og:image"])[1].startswith(PNG)
    assert get_bytes(tags["og:audio"])[1].startswith(b"OggS")


# --- the newest message stays in view; a phone-sized screen -------------------------------------------------
NEWEST_ABOVE_BAR = """() => {
  const m = [...document.querySelectorAll('#log .msg')].pop();
  const r = m.getBoundingClientRect(), bar = document.getElementById('composer').getBoundingClientRect();
  return r.top >= 0 && r.bottom <= bar.top + 0.5;
}"""
GEOMETRY = """() => {
  const m = [...document.querySelectorAll('#log .msg')].pop();
  const r = m.getBoundingClientRect(), bar = document.getElementById('composer').getBoundingClientRect();
  return {message: [r.top, r.bottom], bar_top: bar.top, height: innerHeight, text: m.innerText.slice(0, 80)};
}"""


def assert_newest_above_bar(page: Page, what: str) -> None:
    """The newest message lies fully between the top of the window and the input bar (after a moment's scroll)."""
    try:
        page.wait_for_function(NEWEST_ABOVE_BAR, timeout=3_000)
    except PlaywrightTimeout:
        pytest.fail(f"{what}: the newest message is not fully above the input bar: {page.evaluate(GEOMETRY)}")


def test_newest_message_is_never_under_the_input_bar(chat: Page, improv: ChatResult, bot: BotProcess) -> None:
    """With more messages than fit, each new error, and a job's progress and finished result (whose piano roll
    loads after it is shown), lies fully above the input bar without the user scrolling."""
    for i in range(8):
        send(chat, f"/improv C Zq{i}")
        chat.locator(".msg.error", has_text=f"Zq{i}").last.wait_for(timeout=10_000)
        assert_newest_above_bar(chat, f"error {i + 1}")
    assert chat.evaluate("document.querySelector('#log').scrollHeight > innerHeight"), "the log should overflow"
    send(chat, "/improv C G seed:2")
    job = chat.locator("#log .msg").last
    job.locator(".progress").wait_for(timeout=10_000)
    assert_newest_above_bar(chat, "the progress line")
    job.locator("audio").wait_for(timeout=RESULT_TIMEOUT_S * 1000)
    assert image_loaded(chat, "#log .msg:last-child img"), f"no piano roll; log:\n{bot.log_tail()}"
    assert_newest_above_bar(chat, "the finished job with its piano roll")


def test_phone_width_keeps_send_on_screen_and_nothing_scrolls_sideways(browser: Browser, bot: BotProcess) -> None:
    """At 390x844 the input, file picker and Send button are on-screen, and neither the page nor the help text
    scrolls sideways; the newest message still sits above the (taller, wrapped) input bar."""
    page = browser.new_page(viewport=PHONE)
    try:
        page.goto(f"{bot.url}/")
        for selector in ("#text", "#composer button[type=submit]"):
            box = page.locator(selector).bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (selector, box)
            assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (selector, box)
        text_box = page.locator("#text").bounding_box()
        assert text_box is not None and text_box["width"] >= 250, f"the command box is too narrow: {text_box}"

        send(page, "/help")
        help_box = page.locator(".msg.bot pre").last
        help_box.wait_for(timeout=10_000)
        widths = page.evaluate("""() => { const p = [...document.querySelectorAll('.msg.bot pre')].pop();
            return {doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,
                    pre: p.scrollWidth, pre_visible: p.clientWidth, viewport: innerWidth}; }""")
        assert widths["doc"] <= PHONE["width"] and widths["body"] <= PHONE["width"], widths
        assert widths["pre"] <= widths["pre_visible"] + 1, f"the help text scrolls sideways: {widths}"
        send(page, "/improv C H7")
        page.locator(".msg.error").last.wait_for(timeout=10_000)
        assert_newest_above_bar(page, "an error at 390 px")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        send_box = page.locator("#composer button[type=submit]").bounding_box()
        assert send_box is not None and send_box["x"] + send_box["width"] <= PHONE["width"], send_box
    finally:
        page.close()


# --- the models' warm-up, reported and shown -----------------------------------------------------------------
def test_healthz_and_console_report_the_measured_warmup(bot: BotProcess, improv: ChatResult) -> None:
    """After the first warm-up: /healthz says how long it took, the data folder remembers it for the next start,
    and the console's start-up line gave the estimate instead of "a few seconds"."""
    status, health = get_json(f"{bot.url}/healthz")
    assert status == 200 and health["workers_ready"] is True, health
    took = health["warmup"]["elapsed_s"]
    assert 1.0 < took < RESULT_TIMEOUT_S, health  # loading TensorFlow and five models takes seconds
    assert health["warmup"]["expected_s"] == DEFAULT_WARMUP_S, health  # a fresh data folder: the default
    assert json.loads((bot.data_dir / "warmup.json").read_text()) == {"seconds": took}
    assert f"about {DEFAULT_WARMUP_S:.0f} s to warm up" in bot.log(), bot.log_tail()
    assert "a few seconds" not in bot.log()
