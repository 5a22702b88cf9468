"""The real broker for the tests/test_broker_*.py files: Redis on 127.0.0.1:6379 (`.ci/run` starts it), one
database per test file (emptied before and after), and real `tunesmith-worker` processes on it.

Workers load only basic_rnn (the smallest model) and are started in their own session, so a test can kill -9
(or stop) a whole worker "host" at once: the arq process and its model child.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from generation.jobs.broker import Broker

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(sys.executable).with_name("tunesmith-worker")
MODEL = "basic_rnn"
WARM_UP_S = 90.0  # a worker's start and model load: 10 s on the 2-core dev machine while a training runs


def broker_url(db: int, queue: str) -> str:
    return f"redis://127.0.0.1:6379/{db}?queue={queue}"


@pytest.fixture(scope="module")
def empty_db(request: pytest.FixtureRequest) -> Iterator[redis.Redis]:
    """The module's Redis database (its `REDIS_DB`), emptied before and after."""
    client = redis.Redis(host="127.0.0.1", port=6379, db=request.module.REDIS_DB)
    try:
        client.ping()
    except redis.ConnectionError as e:
        pytest.fail(f"Redis is not answering on 127.0.0.1:6379 ({e}); .ci/run starts it "
                    "(apt-get install redis-server; redis-server --daemonize yes)")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class WorkerHost:
    """One `tunesmith-worker` process group."""

    def __init__(self, url: str, log: Path, *args: str, prefix: Sequence[str] = ()) -> None:
        """`prefix` runs it elsewhere, e.g. in another network namespace (tests/netns_host.py)."""
        self.broker = Broker.parse(url)
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*prefix, str(WORKER), "--broker", url, "--models", MODEL, *args], cwd=ROOT, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.name = f"{os.uname().nodename}:{self.proc.pid}"

    async def ready(self, client: redis.Redis, timeout: float = WARM_UP_S) -> float:
        """Wait until the worker has loaded its model and told the broker it is alive; the seconds it took."""
        start = time.monotonic()
        while client.zscore(self.broker.workers, self.name) is None:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() - start > timeout:
                raise AssertionError(f"worker not ready in {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")
            await asyncio.sleep(0.2)
        return time.monotonic() - start

    def signal(self, sig: signal.Signals) -> None:
        os.killpg(self.proc.pid, sig)

    def model_pid(self) -> int:
        """The worker's model process (its child `python -m generation.worker`)."""
        from botproc import _children, _cmdline

        (pid,) = [p for p in _children(self.proc.pid) if b"generation.worker" in _cmdline(p)]
        return pid

    def kill(self) -> None:
        """kill -9 the whole host: the arq process and its model child."""
        if self.proc.poll() is None:
            self.signal(signal.SIGKILL)
        self.proc.wait(10)


def stream_events(client: redis.Redis, broker: Broker) -> list[dict[str, Any]]:
    """Every event the workers sent, oldest first."""
    import json

    entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(broker.events)  # type: ignore[assignment]
    return [json.loads(fields[b"e"]) for _id, fields in entries]


async def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


class PrivateRedis:
    """A redis-server of the test's own on a free port, which the test may stop (kill -9 or a clean shutdown) and
    start again on the same port and folder, as an operator's restart or a crash would."""

    def __init__(self, folder: Path, *, appendonly: bool = True, bind: Sequence[str] = ()) -> None:
        """`bind`: addresses to listen on besides 127.0.0.1 (another host's way in)."""
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.args = ["redis-server", "--bind", "127.0.0.1", *bind, "--port", str(self.port), "--dir", str(folder),
                     "--save", "", "--appendonly", "yes" if appendonly else "no", "--daemonize", "no",
                     "--protected-mode", "no"]  # no password: it listens only on this machine's own links
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def url(self, db: int, queue: str) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}?queue={queue}"

    def client(self, db: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db)

    def start(self, timeout: float = 30.0) -> None:
        with (self.folder / "redis.log").open("ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT)
        probe = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if probe.ping():  # answers only once the append-only file is loaded
                    break
            except (redis.ConnectionError, redis.BusyLoadingError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start:\n{(self.folder / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.05)
        probe.close()

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (Redis writes what it holds and exits) or SIGKILL (a crash); waits for the exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.proc.wait(30)
