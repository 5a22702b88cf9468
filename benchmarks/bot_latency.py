"""How long a user waits from sending a command to hearing it: `python -m bot` over its HTTP API.

Starts a real bot (TUNESMITH_WORKERS=2 by default, limits out of the way), waits until its workers are warm, then
times POST /api/commands -> job "done" -> audio URL fetched, for one user sending requests one after another and
for many users sending one request each at the same moment. Prints figures only, then today's beside the ones
measured on main at 1f872c3 (before audio was encoded once; issue 9).

    .venv/bin/python benchmarks/bot_latency.py [--requests 20] [--rounds 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from botproc import BotProcess, apost_command, await_job, start_bot  # noqa: E402

COMMAND = "/improv C G Am F primer:60"
POLL_S = 0.05  # how often a client asks for the job's state; adds up to this much to each figure
# Measured with this script (20 requests, 2 rounds, 2 workers) on this 2-core machine, main at 1f872c3, when the
# peak normaliser encoded and decoded each OGG 2 to 7 times (issue 9): rendering was 0.98 s of the 1.05 s.
BEFORE_LABEL = "before (main at 1f872c3, 2026-12-01)"
BEFORE_REQUESTS, BEFORE_WORKERS = 20, 2
BEFORE_SOLO_P50_S, BEFORE_TOGETHER_JOBS_PER_S = 1.05, 1.9


async def one_request(session: aiohttp.ClientSession, bot: BotProcess, user: str) -> float:
    """Seconds from POST to the audio bytes in hand."""
    start = time.perf_counter()
    status, body = await apost_command(session, bot, COMMAND, user=user)
    if status != 202:
        raise RuntimeError(f"{user}: {status} {body}")
    view = await await_job(session, bot, body["job_id"], interval=POLL_S)
    if view["status"] != "done":
        raise RuntimeError(f"{user}: job failed: {view['error']}")
    async with session.get(view["outputs"][0]["audio_url"]) as res:
        audio = await res.read()
    if res.status != 200 or not audio.startswith(b"OggS"):
        raise RuntimeError(f"{user}: audio answered {res.status}")
    return time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (with few samples, p99 is the largest but one or the largest)."""
    ranked = sorted(values)
    return ranked[max(0, math.ceil(q / 100 * len(ranked)) - 1)]


def report(name: str, latencies: list[float], wall_s: float) -> None:
    print(f"{name:<34} n={len(latencies):<3} p50 {percentile(latencies, 50):6.2f} s   "
          f"p99 {percentile(latencies, 99):6.2f} s   max {max(latencies):6.2f} s   "
          f"throughput {len(latencies) / wall_s:5.2f} jobs/s ({wall_s:.1f} s wall)")


def compare(solo_p50_s: float, together_jobs_per_s: float, requests: int, workers: int) -> None:
    """Today's two headline figures beside the BEFORE ones (like for like with the same requests and workers)."""
    print(f"\n{'':<38}{BEFORE_LABEL:>38}{'now':>14}{'ratio':>8}")
    rows = [("1 user, p50", BEFORE_SOLO_P50_S, solo_p50_s, "s", BEFORE_SOLO_P50_S / solo_p50_s),
            (f"{requests} users at once, throughput", BEFORE_TOGETHER_JOBS_PER_S, together_jobs_per_s, "jobs/s",
             together_jobs_per_s / BEFORE_TOGETHER_JOBS_PER_S)]
    for name, before, now, unit, better in rows:
        print(f"{name:<38}{before:>31.2f} {unit:<6}{now:>7.2f} {unit:<6}{better:>6.1f}x")
    if (requests, workers) != (BEFORE_REQUESTS, BEFORE_WORKERS):
        print(f"(before was measured with {BEFORE_REQUESTS} requests and {BEFORE_WORKERS} workers: "
              "not like for like)")


async def warm_up(bot: BotProcess, session: aiohttp.ClientSession, workers: int, timeout: float = 180.0) -> float:
    """Wait until every worker has loaded its models, then run one job per worker; returns seconds waited."""
    start = time.perf_counter()
    while bot.log().count(" ready (pid ") < workers:
        if time.perf_counter() - start > timeout or bot.failed_worker_starts() >= 2:
            raise RuntimeError(f"the workers did not warm up:\n{bot.log_tail()}")
        await asyncio.sleep(0.2)
    await asyncio.gather(*(one_request(session, bot, f"warm{i}") for i in range(workers)))
    return time.perf_counter() - start


async def measure(bot: BotProcess, requests: int, rounds: int, workers: int) -> tuple[float, float]:
    """Prints each figure; returns (p50 of one user's sequential requests, throughput of all concurrent rounds)."""
    async with aiohttp.ClientSession() as session:
        print(f"warm-up: {await warm_up(bot, session, workers):.1f} s after /healthz answered")

        start = time.perf_counter()
        sequential = [await one_request(session, bot, "solo") for _ in range(requests)]
        report(f"1 user, {requests} sequential", sequential, time.perf_counter() - start)

        together: list[float] = []
        wall = 0.0
        for r in range(rounds):
            start = time.perf_counter()
            latencies = await asyncio.gather(*(one_request(session, bot, f"r{r}u{u}") for u in range(requests)))
            took = time.perf_counter() - start
            report(f"{requests} users at once, round {r + 1}", list(latencies), took)
            together += latencies
            wall += took
        report(f"{requests} users at once, all rounds", together, wall)
        return percentile(sequential, 50), len(together) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20,
                        help="sequential requests of one user, and users per concurrent round (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="concurrent rounds (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="TUNESMITH_WORKERS (default 2)")
    args = parser.parse_args()

    big = str(max(1000, 10 * args.requests))
    env = {"TUNESMITH_WORKERS": str(args.workers), "TUNESMITH_RATE_LIMIT_PER_MINUTE": big,
           "TUNESMITH_MAX_ACTIVE_PER_USER": big, "TUNESMITH_QUEUE_CAP": big,
           # every simulated user comes from 127.0.0.1
           "TUNESMITH_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": big, "TUNESMITH_MAX_ACTIVE_PER_ADDRESS": big}
    print(f"command: {COMMAND!r}; {args.workers} workers; client polls every {POLL_S * 1000:.0f} ms")
    with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as tmp:
        bot = start_bot(Path(tmp) / "data", env)
        try:
            solo_p50, throughput = asyncio.run(measure(bot, args.requests, args.rounds, args.workers))
        finally:
            bot.stop()
    compare(solo_p50, throughput, args.requests, args.workers)


if __name__ == "__main__":
    main()
