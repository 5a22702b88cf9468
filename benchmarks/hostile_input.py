"""How long a real `python -m bot` takes to refuse hostile command texts, and whether /healthz stays answering.

Starts a bot with no model workers (nothing here reaches a model) and a Slack signing secret, then sends: one
1 MB token, 500k chords, and a signed 1 MB Slack slash command. For each it prints the seconds to the answer, the
status, and the slowest /healthz answer seen meanwhile (polled every 0.1 s). Prints figures only.

    .venv/bin/python benchmarks/hostile_input.py [--timeout 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from botproc import BotProcess, start_bot  # noqa: E402
from slack_standin import SlackStandIn, signed_slash_command  # noqa: E402

SECRET = "bench-signing-secret"
MB = 1_000_000


async def timed(session: aiohttp.ClientSession, bot: BotProcess, what: str, url: str, data: bytes | str,
                headers: dict[str, str], timeout: float) -> None:
    """POST once while polling /healthz; print seconds to answer, status, and the slowest healthz."""
    worst = 0.0
    done = asyncio.Event()

    async def poll() -> None:
        nonlocal worst
        while not done.is_set():
            start = time.perf_counter()
            try:
                async with session.get(f"{bot.url}/healthz", timeout=aiohttp.ClientTimeout(total=timeout)) as r:
                    await r.read()
            except (aiohttp.ClientError, TimeoutError):
                pass
            worst = max(worst, time.perf_counter() - start)
            await asyncio.sleep(0.1)

    poller = asyncio.create_task(poll())
    start = time.perf_counter()
    status: Any = "no answer"
    body = ""
    try:
        async with session.post(url, data=data, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)) as r:
            status, body = r.status, (await r.text())[:90]
    except TimeoutError:
        status = f"timed out after {timeout:g} s"
    except aiohttp.ClientError as e:
        status = f"{type(e).__name__}"
    took = time.perf_counter() - start
    done.set()
    await poller
    print(f"{what:<34} {took:7.2f} s  status {status}  slowest /healthz {worst:6.2f} s  {body!r}", flush=True)


async def main(timeout: float) -> None:
    slack = SlackStandIn()
    await slack.start()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"TUNESMITH_WORKERS": "0", "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_BASE": slack.api_base}
        bot = await asyncio.to_thread(start_bot, Path(tmp) / "data", env)
        try:
            async with aiohttp.ClientSession() as session:
                api = f"{bot.url}/api/commands"
                as_json = {"Content-Type": "application/json"}
                await timed(session, bot, "one 1 MB token (HTTP API)", api,
                            json.dumps({"text": "/improv " + "C" * MB}), as_json, timeout)
                await timed(session, bot, "500k chords (HTTP API)", api,
                            json.dumps({"text": "/improv " + " C" * 500_000}), as_json, timeout)
                body, headers = signed_slash_command(SECRET, "/improv", "C" * MB)
                await timed(session, bot, "signed 1 MB Slack text (ack)", f"{bot.url}/slack/events", body, headers,
                            timeout)
        finally:
            bot.stop(kill=True)
            await slack.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each answer")
    asyncio.run(main(parser.parse_args().timeout))
