"""The bot's event loop never blocks: a whole command -> audio round trip runs under blockbuster."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from blockbuster import BlockBuster, blockbuster_ctx

from bot.service import Service
from bot.settings import Settings
from bot.store import JobStore
from bot.web.app import create_app
from generation.jobs.embedded import EmbeddedQueue

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="FluidSynth is not installed")


def _allow_startup_imports(bb: BlockBuster) -> None:
    # Module imports and aiohttp's own file serving are not ours to police; our handlers are.
    for name in ("io.BufferedReader.read", "io.TextIOWrapper.read", "os.stat"):
        if name in bb.functions:
            bb.functions[name].can_block_in("aiohttp/web_fileresponse.py", "_sendfile")


async def test_command_to_audio_never_blocks_the_loop(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, port=0)
    queue = EmbeddedQueue(workers=1, warm_configs=("chord_pitches_improv",))
    service = Service(settings, JobStore(tmp_path / "jobs.sqlite3"), queue)
    await service.start()
    client = TestClient(TestServer(create_app(service)))
    await client.start_server()
    try:
        await asyncio.wait_for(queue.ready.wait(), 60)
        with blockbuster_ctx(scanned_modules=["bot", "generation"]) as bb:
            _allow_startup_imports(bb)
            resp = await client.post("/api/commands", json={"text": "/improv C G Am F primer:60 seed:1"})
            assert resp.status == 202, await resp.text()
            job_id = (await resp.json())["job_id"]
            for _ in range(300):
                job = await (await client.get(f"/api/jobs/{job_id}")).json()
                if job["status"] in ("done", "failed"):
                    break
                await asyncio.sleep(0.1)
            assert job["status"] == "done", job
            token = job["share_url"].rsplit("/s/", 1)[1]
            audio = await client.get(f"/s/{token}/files/{job['outputs'][0]['audio']}")
            assert audio.status == 200
            assert (await audio.read()).startswith(b"OggS")
    finally:
        await client.close()
        await service.stop()
