"""Per-user limits on the broker backend answer as on the embedded one: real `python -m bot` processes over the
HTTP API, one on each backend, given the same commands, refuse the same ones with the same words; and a user at
the limit may start again once a remote worker has finished their job."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import redis
from botproc import get_json, post_command, start_bot, wait_for_job
from broker_helpers import WorkerHost, broker_url, empty_db

REDIS_DB = 11
URL = broker_url(REDIS_DB, "limits")
PLAY = "/melody C4 - E4 - G4 - - - config:basic_rnn bars:4"
BACKENDS = {"embedded": {"TUNESMITH_WORKERS": "0"}, "broker": {"TUNESMITH_QUEUE": URL}}  # no worker: jobs wait
__all__ = ["empty_db"]  # the fixture, used by name


def answers(folder: Path, backend: str, limits: dict[str, str], script: list[str]) -> list[tuple[int, str]]:
    """(status, error) for each command of `script` (one user name per command), sent in order."""
    env = {"TUNESMITH_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "1000", "TUNESMITH_MAX_ACTIVE_PER_ADDRESS": "1000",
           **BACKENDS[backend], **limits}
    with start_bot(folder / backend / "data", env) as bot:
        out = []
        for user in script:
            status, body = post_command(bot, PLAY, user=user)
            out.append((status, str(body.get("error") or "")))
        assert get_json(f"{bot.url}/healthz")[1]["waiting"] == sum(s == 202 for s, _ in out)
    return out


def test_the_broker_backend_refuses_the_same_commands_with_the_same_words(empty_db: redis.Redis,
                                                                           tmp_path: Path) -> None:
    cases: list[tuple[dict[str, str], list[str], list[Any]]] = [
        ({"TUNESMITH_RATE_LIMIT_PER_MINUTE": "2", "TUNESMITH_MAX_ACTIVE_PER_USER": "10", "TUNESMITH_QUEUE_CAP": "3"},
         ["ann", "ann", "ann", "bob", "cat"],
         [202, 202, "you have started 2 jobs in the last minute; the limit is 2 per minute. Try again shortly.",
          202, "the queue is full (3 jobs waiting); try again in a minute."]),
        ({"TUNESMITH_RATE_LIMIT_PER_MINUTE": "10", "TUNESMITH_MAX_ACTIVE_PER_USER": "2"},
         ["dan", "dan", "dan", "eve"],
         [202, 202, "you already have 2 jobs waiting or running (at most 2); wait for one to finish.", 202]),
    ]
    for n, (limits, script, expected) in enumerate(cases):
        got = {backend: answers(tmp_path / str(n), backend, limits, script) for backend in BACKENDS}
        assert got["broker"] == got["embedded"], got
        assert [text or status for status, text in got["broker"]] == expected
        assert all(status == 429 for status, text in got["broker"] if text)


def test_a_user_at_the_limit_may_start_again_once_a_remote_worker_finished(empty_db: redis.Redis,
                                                                            tmp_path: Path) -> None:
    worker = WorkerHost(URL, tmp_path / "worker.log")
    env = {"TUNESMITH_QUEUE": URL, "TUNESMITH_MAX_ACTIVE_PER_USER": "1"}
    try:
        with start_bot(tmp_path / "data", env) as bot:
            status, first = post_command(bot, PLAY, user="fay")
            assert status == 202, first
            status, refused = post_command(bot, PLAY, user="fay")
            assert (status, refused["error"]) == (429, "you already have 1 jobs waiting or running (at most 1); "
                                                       "wait for one to finish.")
            start = time.monotonic()
            assert wait_for_job(bot, first["job_id"], timeout=180)["status"] == "done"
            status, again = post_command(bot, PLAY, user="fay")
            assert status == 202, again
            assert wait_for_job(bot, again["job_id"], timeout=180)["status"] == "done"
            print(f"both jobs done {time.monotonic() - start:.1f} s after the first was sent (worker start included)")
    finally:
        worker.kill()
