"""`python -m bot`: the local web chat + HTTP API on 127.0.0.1, and Discord/Slack when their tokens are set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from bot.service import Service
from bot.settings import Settings
from bot.store import JobStore, StoreUnavailable
from bot.web.app import create_app
from generation.jobs.base import JobQueue
from generation.jobs.embedded import EmbeddedQueue

log = logging.getLogger("bot")


def make_queue(settings: Settings) -> JobQueue:
    """The embedded queue (worker processes here), or the broker queue when TUNESMITH_QUEUE names a broker."""
    if settings.queue == "embedded":
        return EmbeddedQueue(workers=settings.workers, warm_configs=settings.warm,
                             job_timeout_s=settings.job_timeout_s, warmup_record=settings.data_dir / "warmup.json")
    from generation.jobs.arq_queue import ArqQueue

    return ArqQueue(settings.queue)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    queue = make_queue(settings)
    service = Service(settings, JobStore(settings.data_dir / "jobs.sqlite3"), queue)
    try:
        await service.start()
    except BaseException as e:
        await service.stop()  # close the database thread too, so a failed start exits instead of hanging
        if isinstance(e, StoreUnavailable):
            raise SystemExit(f"Tunesmith cannot start: the job database {settings.data_dir / 'jobs.sqlite3'} "
                             f"cannot be used ({e.cause or e}).") from None
        if settings.queue != "embedded":
            from generation.jobs.broker import BrokerError  # arq is loaded only when a broker is configured

            if isinstance(e, BrokerError):
                raise SystemExit(f"Tunesmith cannot start: {e}. Is TUNESMITH_QUEUE right, and the broker up?") \
                    from None
        raise
    routes: list[web.RouteDef] = []
    closers = []
    chats: list[str] = []  # the chat platforms whose front ends are up
    if settings.slack_bot_token and settings.slack_signing_secret:
        from bot.adapters.slack_bot import SlackFrontEnd

        slack = SlackFrontEnd(settings, service)
        routes += slack.routes()
        if settings.slack_app_token:
            await slack.start_socket_mode()
        closers.append(slack.close)
        chats.append("slack")
    if settings.discord_token:
        from bot.adapters.discord_bot import DiscordFrontEnd

        discord_front = DiscordFrontEnd(settings, service)
        await discord_front.start()
        closers.append(discord_front.close)
        chats.append("discord")
    # keepalive_timeout also closes a connection that never completes its request headers (half-sent).
    runner = web.AppRunner(create_app(service, routes), keepalive_timeout=settings.request_timeout_s)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    for platform in chats:  # results finished while the bot was down (or before its front end was up)
        await service.deliver_pending(platform)
    if isinstance(queue, EmbeddedQueue):
        # The estimate is the last warm-up measured on this data folder (7.5-10 s on the 2-core dev machine).
        print(f"Tunesmith is up: open {settings.public_url}/ (the models take about {queue.warmup_expected_s:.0f} s "
              "to warm up; jobs sent meanwhile wait, and the chat shows the progress)", flush=True)
    else:
        from generation.jobs.broker import Broker

        print(f"Tunesmith is up: open {settings.public_url}/ (jobs go to the model workers taking them from "
              f"{Broker.parse(settings.queue).redacted()}: start them with tunesmith-worker --broker URL)", flush=True)
    try:
        await stop.wait()
    finally:
        for close in closers:
            with contextlib.suppress(Exception):
                await close()
        await runner.cleanup()
        await service.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings.from_env()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
