"""A test module's Discord: the stand-in on 127.0.0.1, the real front end and service, and a model worker."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from botproc import TEST_WARM
from discord_standin import DiscordStandIn

from bot.adapters.discord_bot import DiscordFrontEnd
from bot.service import Service
from bot.settings import Settings
from bot.store import JobStore
from generation.jobs.embedded import EmbeddedQueue


@dataclasses.dataclass
class DiscordEnv:
    standin: DiscordStandIn
    service: Service
    settings: Settings
    front: DiscordFrontEnd  # a test may replace it (a restarted front end); the current one is closed at the end


@contextlib.asynccontextmanager
async def discord_env(data: Path, *, workers: int = 1, **settings: Any) -> AsyncIterator[DiscordEnv]:
    """Everything started and the front end identified; `settings` are Settings fields beyond the Discord ones.

    The worker warms one model (the chat's default improv); others load on their first job.
    """
    async with contextlib.AsyncExitStack() as stack:
        standin = DiscordStandIn()
        await standin.start()
        stack.push_async_callback(standin.stop)
        config = Settings(data_dir=data, discord_token=standin.token, discord_api_base=standin.api_base,
                          share_base_url="https://tunesmith.test", **settings)
        queue = EmbeddedQueue(workers=workers, warm_configs=(TEST_WARM,), job_timeout_s=90)
        service = Service(config, JobStore(data / "jobs.sqlite3"), queue)
        await service.start()
        stack.push_async_callback(service.stop)
        env = DiscordEnv(standin, service, config, DiscordFrontEnd(config, service))
        stack.push_async_callback(lambda: env.front.close())
        await env.front.start()
        await asyncio.wait_for(standin.identified.wait(), 30)
        yield env
