"""A chat command through the real broker: the bot's service (SQLite store, the broker queue) and a real
`tunesmith-worker` process that shares no folder with it; a job run twice is still posted once."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis
from broker_helpers import WorkerHost, broker_url, empty_db, stream_events, wait_for

from bot.service import JobView, Service
from bot.settings import Settings
from bot.store import JobStore
from generation.jobs.arq_queue import ArqQueue
from generation.jobs.broker import BrokerError, unpack_result

pytestmark = pytest.mark.asyncio(loop_scope="module")  # one loop for the module-scoped service
REDIS_DB = 15
URL = broker_url(REDIS_DB, "jobs")
__all__ = ["empty_db"]  # the fixture, used by name


@dataclasses.dataclass
class Env:
    service: Service
    posts: list[JobView]
    worker: WorkerHost
    client: redis.Redis
    folder: Path

    def posted(self, job_id: str) -> list[JobView]:
        return [view for view in self.posts if view.id == job_id]


@pytest.fixture(scope="module")
async def env(empty_db: redis.Redis, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    folder = tmp_path_factory.mktemp("broker_jobs")
    worker = WorkerHost(URL, folder / "worker-a.log", "--lease", "3")
    posts: list[JobView] = []

    async def deliver(view: JobView) -> None:
        posts.append(view)

    service = Service(Settings(data_dir=folder / "bot", queue=URL), JobStore(folder / "bot" / "jobs.sqlite3"),
                      ArqQueue(URL, poll_s=0.5))
    service.register_deliverer("test", deliver)
    try:
        await worker.ready(empty_db)
        await service.start()
        yield Env(service, posts, worker, empty_db, folder)
    finally:
        with contextlib.suppress(Exception):
            await service.stop()
        worker.kill()


async def test_a_command_runs_end_to_end_on_a_remote_worker(env: Env) -> None:
    submitted = await env.service.submit(platform="test", user_id="u1",
                                         text="/melody C4 - E4 - G4 - - - bars:4 config:basic_rnn")
    assert submitted.job is not None
    job_id = submitted.job.id
    await wait_for(lambda: any(v.finished for v in env.posted(job_id)), 90, "the job to finish")
    views = env.posted(job_id)
    assert views[-1].status == "done", views[-1].error
    stages = [v.stage for v in views]
    assert stages[0] == "generating" and stages[-1] == "done" and "rendering" in stages
    (output,) = views[-1].outputs
    folder = env.service.artifacts / job_id  # written by the bot from the bytes the worker sent back
    assert (folder / output["midi"]).read_bytes()[:4] == b"MThd"
    assert (folder / output["audio"]).read_bytes()[:4] == b"OggS"
    assert (folder / output["pianoroll"]).read_bytes()[:4] == b"\x89PNG"
    assert output["audio_url"].endswith(f"/files/{output['audio']}")
    # Once recorded by the bot, the result (files and all) is not left in Redis for a day
    await wait_for(lambda: not env.client.exists(f"arq:result:{job_id}"), 30, "the result to leave the broker")


async def test_a_job_run_twice_is_posted_once(env: Env) -> None:
    """Worker A freezes mid-job past its lease (a stalled host), B runs the job again and it is posted; then A
    wakes and finishes it too: that second result changes nothing the user sees."""
    submitted = await env.service.submit(platform="test", user_id="u2",
                                         text="/melody C4 - E4 - G4 - - - bars:16 outputs:2 config:basic_rnn")
    assert submitted.job is not None
    job_id = submitted.job.id
    broker = env.worker.broker

    def events(kind: str) -> list[str]:
        return [e.get("worker", "") for e in stream_events(env.client, broker)
                if e["job_id"] == job_id and e["kind"] == kind]

    await wait_for(lambda: events("started"), 60, "worker A to start the job")
    env.worker.signal(signal.SIGSTOP)
    second = WorkerHost(URL, env.folder / "worker-b.log", "--lease", "3")
    try:
        await wait_for(lambda: any(v.finished for v in env.posted(job_id)), 120, "worker B to finish the job")
        posted = env.posted(job_id)[-1]
        env.worker.signal(signal.SIGCONT)
        await wait_for(lambda: env.worker.name in events("finished"), 60, "worker A to finish the job as well")
        await asyncio.sleep(2.0)  # four polls of the bot: time for a wrong second post to show
    finally:
        env.worker.signal(signal.SIGCONT)
        second.kill()
    assert events("started") == [env.worker.name, second.name]
    assert sorted(events("finished")) == sorted([env.worker.name, second.name])
    done = [v for v in env.posted(job_id) if v.finished]
    assert len(done) == 1 and done[0].status == "done", done
    assert env.posted(job_id)[-1] == posted  # nothing was posted after it
    files = sorted(p.name for p in (env.service.artifacts / job_id).iterdir())
    assert files == sorted(o[k] for o in posted.outputs for k in ("midi", "audio", "pianoroll"))


async def test_a_result_naming_a_file_outside_its_folder_is_refused() -> None:
    files = {n: base64.b64encode(b"x").decode() for n in ("m_1.mid", "m_1.ogg", "m_1.png")}
    good = {"result": {"outputs": [{"midi": "m_1.mid", "audio": "m_1.ogg", "pianoroll": "m_1.png"}]}, "files": files}
    assert set(unpack_result(good)[1]) == {"m_1.mid", "m_1.ogg", "m_1.png"}
    for name in ("../m_1.ogg", "/tmp/m_1.ogg", "m_1.sh", ".m_1.ogg"):
        bad = {**good, "files": {**files, name: "eA=="}}
        with pytest.raises(BrokerError):
            unpack_result(bad)
    missing = {**good, "files": {"m_1.mid": "eA=="}}
    with pytest.raises(BrokerError, match="not sent"):
        unpack_result(missing)


async def test_an_unreachable_broker_stops_the_start_with_a_plain_message() -> None:
    with pytest.raises(BrokerError, match="cannot reach the job broker at redis://127.0.0.1:1/0"):
        await ArqQueue("redis://127.0.0.1:1/0").start(lambda event: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(SystemExit, match="TUNESMITH_QUEUE"):
        Settings.from_env({"TUNESMITH_QUEUE": "amqp://127.0.0.1:5672"})
