"""The warm-up as a user sees it: the console and /healthz expect the remembered warm-up, and the chat shows the
warm-up as progress while a job sent meanwhile says it waits (a stand-in worker slow to start)."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from botproc import free_port, get_json, start_bot
from chat_browser import CHROMIUM, PHONE, send
from playwright.sync_api import Browser

from bot.service import Service
from bot.settings import Settings
from bot.store import JobStore
from bot.web.app import create_app
from generation.jobs.embedded import EmbeddedQueue

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


def test_next_start_expects_the_remembered_warmup(tmp_path: Path) -> None:
    """A bot whose data folder remembers a 37 s warm-up says so on the console and in /healthz."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "warmup.json").write_text('{"seconds": 37.0}')
    bot = start_bot(data)
    try:
        status, health = get_json(f"{bot.url}/healthz")
        assert status == 200 and health["warmup"]["expected_s"] == 37.0, health
        assert "about 37 s to warm up" in bot.log(), bot.log_tail()
    finally:
        bot.stop()


SLOW_WORKER = """import json, sys, time
time.sleep(float(sys.argv[1]))  # a worker loading its models
print(json.dumps({"event": "ready"}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    print(json.dumps({"job_id": job["job_id"], "event": "error", "message": "the stand-in worker makes no music"}),
          flush=True)
"""
WARMUP_S = 8.0  # the stand-in worker's warm-up, long enough to look at the page while it lasts


class InProcessBot:
    """The bot's service and web app on 127.0.0.1, in a thread of this process, with a worker that is slow to
    start (`python -m bot` always starts the real worker, whose warm-up is too quick to watch reliably)."""

    def __init__(self, data_dir: Path, worker_cmd: list[str]) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._cmd = worker_cmd
        self._up = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            queue = EmbeddedQueue(workers=1, worker_cmd=self._cmd, warmup_record=self.data_dir / "warmup.json")
            service = Service(Settings(port=self.port, data_dir=self.data_dir),
                              JobStore(self.data_dir / "jobs.sqlite3"), queue)
            runner = web.AppRunner(create_app(service))
        except BaseException as e:  # handed to the test's thread by __enter__
            self._error = e
            self._up.set()
            return
        try:
            await service.start()
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            self._up.set()
            await self._stop.wait()
        except BaseException as e:
            self._error = e
            self._up.set()
        finally:
            await runner.cleanup()
            await service.stop()

    def __enter__(self) -> InProcessBot:
        self._thread.start()
        assert self._up.wait(30), "the in-process bot did not start"
        if self._error:
            raise self._error
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def test_chat_shows_the_warmup_as_progress_and_a_queued_job_says_it_waits(browser: Browser, tmp_path: Path) -> None:
    """While the worker warms up, the chat shows "Models warming up: N s of about 8 s" with a progress bar, and a
    job sent meanwhile says it waits for the warm-up; once ready both go away and the job runs."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "warmup.json").write_text(json.dumps({"seconds": WARMUP_S}))  # what the last start measured
    worker = tmp_path / "slow_worker.py"
    worker.write_text(SLOW_WORKER)
    page = browser.new_page(viewport=PHONE)
    with InProcessBot(data, [sys.executable, str(worker), str(WARMUP_S)]) as bot:
        try:
            page.goto(f"{bot.url}/")
            status = page.locator("#warmup")
            status.wait_for(state="visible", timeout=5_000)
            first = status.inner_text()
            assert re.fullmatch(r"Models warming up: \d s of about 8 s", first.strip()), first
            bar = page.evaluate("() => { const b = document.querySelector('#warmup progress'); "
                                "return [b.max, b.value]; }")
            assert bar[0] == WARMUP_S and 0 < bar[1] <= WARMUP_S, bar

            send(page, "/improv C G Am F")
            line = page.locator("#log .msg.job .progress")
            page.wait_for_function("() => /waiting for the models/.test("
                                   "document.querySelector('#log .msg.job .progress')?.textContent || '')",
                                   timeout=5_000)
            queued = line.inner_text()
            assert re.fullmatch(r"Queued \(place 1\): waiting for the models to warm up \(\d s of about 8 s\)",
                                queued), queued
            assert page.locator("#log .msg.job progress").count() == 1
            page.wait_for_timeout(1_500)
            later = status.inner_text()
            assert later != first, f"the warm-up time did not move: {first!r} then {later!r}"

            status.wait_for(state="hidden", timeout=(WARMUP_S + 10) * 1000)
            page.locator(".msg.error", has_text="stand-in worker").wait_for(timeout=10_000)  # it ran, then
            assert "waiting for the models" not in page.locator("#log").inner_text()
            took = get_json(f"{bot.url}/healthz")[1]["warmup"]["elapsed_s"]
            assert WARMUP_S <= took < WARMUP_S + 10
            assert json.loads((data / "warmup.json").read_text()) == {"seconds": took}
        finally:
            page.close()
