"""Load through the HTTP API on both queue backends: REQUESTS commands from up to 50 users against a real
`python -m bot`, first on the embedded backend (2 model workers beside the bot), then on the broker backend (a
redis-server on the bot's host, 2 `tunesmith-worker`s beside the bot and 2 on other hosts: network namespaces
joined by veth pairs, tests/netns_host.py, so it needs root). Each user sends a command, waits until its audio is
in hand, and sends the next, until REQUESTS have been sent. Prints, per backend: throughput, p50 and p99 from
command to audio, and jobs lost (accepted but never done; must be 0) beside jobs failed.

    sudo .venv/bin/python benchmarks/load_scaleout.py [--requests 1000] [--users 50] [--backends embedded broker]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from botproc import BotProcess, apost_command, await_job, start_bot  # noqa: E402
from broker_helpers import PrivateRedis, WorkerHost  # noqa: E402
from netns_host import NetnsHost  # noqa: E402

COMMAND = "/improv C G Am F primer:60"  # as benchmarks/bot_latency.py
MODEL = "chord_pitches_improv"  # the model the command uses, loaded by every worker before it takes jobs
POLL_S = 0.1  # how often a client asks for its job's state; adds up to this much to each figure
JOB_TIMEOUT_S = 900.0  # a job not done this long after it was sent counts as lost
QUEUE = "load"


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds from POST to audio in hand, jobs done
    refused: list[str] = field(default_factory=list)  # POSTs not accepted (should be none: limits are off)
    failed: list[str] = field(default_factory=list)  # accepted, and the user was told it failed
    lost: list[str] = field(default_factory=list)  # accepted, and neither done nor failed in time


async def one(session: aiohttp.ClientSession, bot: BotProcess, user: str, tally: Tally) -> None:
    start = time.perf_counter()
    status, body = await apost_command(session, bot, COMMAND, user=user)
    if status != 202:
        tally.refused.append(f"{user}: {status} {body}")
        return
    try:
        view = await await_job(session, bot, body["job_id"], timeout=JOB_TIMEOUT_S, interval=POLL_S)
    except TimeoutError:
        tally.lost.append(body["job_id"])
        return
    if view["status"] != "done":
        tally.failed.append(f"{body['job_id']}: {view['error']}")
        return
    async with session.get(view["outputs"][0]["audio_url"]) as res:
        audio = await res.read()
    if res.status != 200 or not audio.startswith(b"OggS"):
        tally.failed.append(f"{body['job_id']}: audio answered {res.status}")
        return
    tally.latencies.append(time.perf_counter() - start)


async def load(bot: BotProcess, requests: int, users: int) -> tuple[Tally, float]:
    """Closed loop: each user keeps one command in flight until `requests` have been sent."""
    tally = Tally()
    sent = 0

    async def user(name: str, session: aiohttp.ClientSession) -> None:
        nonlocal sent
        while sent < requests:
            sent += 1
            await one(session, bot, name, tally)

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        for n in range(4):  # one job per worker first: nothing measured waits for a model to load
            await one(session, bot, f"warm{n}", Tally())
        start = time.perf_counter()
        await asyncio.gather(*(user(f"user{u}", session) for u in range(min(users, requests))))
        return tally, time.perf_counter() - start


def bot_env(requests: int) -> dict[str, str]:
    big = str(max(10_000, 10 * requests))
    return {"TUNESMITH_RATE_LIMIT_PER_MINUTE": big, "TUNESMITH_MAX_ACTIVE_PER_USER": big, "TUNESMITH_QUEUE_CAP": big,
            # every simulated user comes from 127.0.0.1
            "TUNESMITH_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": big, "TUNESMITH_MAX_ACTIVE_PER_ADDRESS": big}


@asynccontextmanager
async def embedded(folder: Path, requests: int) -> AsyncIterator[BotProcess]:
    bot = start_bot(folder / "data", {**bot_env(requests), "TUNESMITH_WORKERS": "2"})
    try:
        deadline = time.monotonic() + 300
        while bot.log().count(" ready (pid ") < 2:
            if time.monotonic() > deadline or bot.failed_worker_starts() >= 2:
                raise RuntimeError(f"the embedded workers did not warm up:\n{bot.log_tail()}")
            await asyncio.sleep(0.2)
        yield bot
    finally:
        bot.stop()


@asynccontextmanager
async def broker(folder: Path, requests: int) -> AsyncIterator[BotProcess]:
    hosts: list[NetnsHost] = []
    workers: list[WorkerHost] = []
    redis_server: PrivateRedis | None = None
    try:
        hosts = [NetnsHost("b"), NetnsHost("c")]
        redis_server = PrivateRedis(folder / "redis", bind=[h.host_address for h in hosts])
        args = ("--models", MODEL)
        workers = [WorkerHost(redis_server.url(0, QUEUE), folder / f"here{n}.log", *args) for n in range(2)]
        workers += [WorkerHost(f"redis://{h.host_address}:{redis_server.port}/0?queue={QUEUE}",
                               folder / f"{h.name}.log", *args, prefix=h.prefix) for h in hosts]
        client = redis_server.client(0)
        for worker in workers:
            await worker.ready(client, timeout=300)
        client.close()
        bot = start_bot(folder / "data", {**bot_env(requests), "TUNESMITH_QUEUE": redis_server.url(0, QUEUE)})
        try:
            yield bot
        finally:
            bot.stop()
    finally:
        for worker in workers:
            worker.kill()
        if redis_server is not None:
            redis_server.stop()
        for host in hosts:
            host.close()


def percentile(values: list[float], q: float) -> float:
    """Nearest rank (with few samples, p99 is the largest or the largest but one)."""
    if not values:
        return math.nan
    ranked = sorted(values)
    return ranked[max(0, math.ceil(q / 100 * len(ranked)) - 1)]


async def run(backends: list[str], requests: int, users: int) -> None:
    rows = []
    for name in backends:
        with tempfile.TemporaryDirectory(prefix=f"tunesmith-load-{name}-") as tmp:
            setup = embedded if name == "embedded" else broker
            print(f"{name}: starting the bot and its workers...", flush=True)
            async with setup(Path(tmp), requests) as bot:
                tally, wall = await load(bot, requests, users)
        rows.append((name, tally, wall))
        for what, items in (("refused", tally.refused), ("failed", tally.failed), ("lost", tally.lost)):
            for item in items[:5]:
                print(f"  {name} {what}: {item}")
    workers = {"embedded": "2 beside the bot", "broker": "2 beside + 2 other hosts"}
    print(f"\n{requests} requests of {COMMAND!r} from {min(users, requests)} users, one in flight each\n")
    print(f"{'backend':<10}{'workers':<26}{'jobs/s':>8}{'p50 s':>8}{'p99 s':>8}{'max s':>8}{'done':>6}"
          f"{'failed':>8}{'lost':>6}{'refused':>9}{'wall s':>8}")
    for name, tally, wall in rows:
        lat = tally.latencies
        print(f"{name:<10}{workers[name]:<26}{len(lat) / wall:>8.2f}{percentile(lat, 50):>8.2f}"
              f"{percentile(lat, 99):>8.2f}{max(lat, default=math.nan):>8.2f}{len(lat):>6}{len(tally.failed):>8}"
              f"{len(tally.lost):>6}{len(tally.refused):>9}{wall:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="commands sent in all (default 1000)")
    parser.add_argument("--users", type=int, default=50, help="users sending them, one at a time each (default 50)")
    parser.add_argument("--backends", nargs="+", choices=("embedded", "broker"), default=["embedded", "broker"])
    args = parser.parse_args()
    if args.requests < 1 or args.users < 1:
        parser.error("--requests and --users must be at least 1")
    asyncio.run(run(args.backends, args.requests, args.users))


if __name__ == "__main__":
    main()
