"""The broker backend as a cluster on this one machine: a model worker on another "host" (a network namespace
joined by a veth pair, tests/netns_host.py) and one on the bot's host take jobs from the Redis on the bot's host,
sent through a real `python -m bot` and its HTTP API; the other host killed mid-job loses nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from collections.abc import AsyncIterator

import pytest
import redis
from botproc import BotProcess, get_bytes, post_command, start_bot, wait_for_job
from broker_helpers import PrivateRedis, WorkerHost, stream_events, wait_for
from netns_host import NetnsHost

pytestmark = pytest.mark.asyncio(loop_scope="module")
QUEUE = "cluster"
JOB_S = 180.0
PLAY = "/melody C4 - E4 - G4 - - - config:basic_rnn"


@dataclasses.dataclass
class Cluster:
    host: NetnsHost
    broker: PrivateRedis
    client: redis.Redis
    bot: BotProcess
    here: WorkerHost  # on the bot's host
    there: WorkerHost  # on the other host

    def starts(self, job_id: str) -> list[str]:
        """The workers that started the job, in order."""
        return [e["worker"] for e in stream_events(self.client, self.here.broker)
                if e["job_id"] == job_id and e["kind"] == "started"]

    async def finished(self, job_id: str) -> dict[str, object]:
        view = await asyncio.to_thread(wait_for_job, self.bot, job_id, JOB_S)
        assert view["status"] == "done", view
        outputs = view["outputs"]
        assert isinstance(outputs, list)
        for output in outputs:
            status, audio = await asyncio.to_thread(get_bytes, output["audio_url"])
            assert status == 200 and audio.startswith(b"OggS")
        return view


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    folder = tmp_path_factory.mktemp("cluster")
    host = NetnsHost("a")
    started: list[object] = []
    try:
        broker = PrivateRedis(folder / "redis", bind=[host.host_address])
        started.append(broker)
        client = broker.client(0)
        here = WorkerHost(broker.url(0, QUEUE), folder / "here.log", "--lease", "3")
        started.append(here)
        there = WorkerHost(f"redis://{host.host_address}:{broker.port}/0?queue={QUEUE}", folder / "there.log",
                           "--lease", "3", prefix=host.prefix)
        started.append(there)
        await here.ready(client)
        await there.ready(client)
        env = {"TUNESMITH_QUEUE": broker.url(0, QUEUE), "TUNESMITH_RATE_LIMIT_PER_MINUTE": "100",
               "TUNESMITH_MAX_ACTIVE_PER_USER": "10"}
        bot = await asyncio.to_thread(start_bot, folder / "data", env)
        started.append(bot)
        yield Cluster(host, broker, client, bot, here, there)
    finally:
        for thing in reversed(started):
            if isinstance(thing, BotProcess):
                await asyncio.to_thread(thing.stop)
            elif isinstance(thing, WorkerHost):
                thing.kill()
            elif isinstance(thing, PrivateRedis):
                thing.stop(kill=True)
        host.close()


async def test_the_other_host_reaches_the_bot_only_over_its_link(cluster: Cluster) -> None:
    def network(pid: int | str) -> str:
        return os.readlink(f"/proc/{pid}/ns/net")

    assert network(cluster.there.proc.pid) == network(cluster.there.model_pid()) != network("self")
    assert network(cluster.here.proc.pid) == network("self")
    port = str(cluster.broker.port)
    over_link = cluster.host.run("redis-cli", "-h", cluster.host.host_address, "-p", port, "ping")
    assert over_link.stdout.strip() == "PONG", over_link
    for loopback_port in (port, "6379"):  # its 127.0.0.1 is its own: neither Redis of the bot's host is there
        local = cluster.host.run("redis-cli", "-h", "127.0.0.1", "-p", loopback_port, "ping")
        assert "PONG" not in local.stdout and "refused" in local.stdout + local.stderr, local


async def test_jobs_from_several_users_run_on_both_hosts(cluster: Cluster) -> None:
    job_ids = []
    for n in range(6):
        status, body = await asyncio.to_thread(post_command, cluster.bot, f"{PLAY} bars:8 seed:{n}", f"user{n}")
        assert status == 202, body
        job_ids.append(body["job_id"])
    for job_id in job_ids:
        await cluster.finished(job_id)
    ran_on = {worker for job_id in job_ids for worker in cluster.starts(job_id)}
    assert ran_on == {cluster.here.name, cluster.there.name}  # the bot hands one job at a time to whoever is free


async def test_the_other_host_killed_mid_job_loses_nothing(cluster: Cluster) -> None:
    cluster.here.signal(signal.SIGSTOP)  # the bot's host takes nothing: the job goes to the other host
    try:
        status, body = await asyncio.to_thread(post_command, cluster.bot, f"{PLAY} bars:16 outputs:2", "late")
        assert status == 202, body
        job_id = body["job_id"]
        await wait_for(lambda: cluster.starts(job_id), JOB_S, "the other host to start the job")
        cluster.there.kill()  # kill -9: the host is gone mid-job
    finally:
        cluster.here.signal(signal.SIGCONT)
    view = await cluster.finished(job_id)
    assert cluster.starts(job_id) == [cluster.there.name, cluster.here.name]
    assert len(view["outputs"]) == 2  # type: ignore[arg-type]
