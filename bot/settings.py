"""Settings, read once from the environment into a frozen object (cf. starlette.config)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment.

    With no tokens set, only the local web chat and HTTP API run.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    share_base_url: str = ""  # public address for share links; default http://host:port
    workers: int = 1
    warm: tuple[str, ...] = ()  # models each worker loads before its first job (empty: the chat defaults)
    queue: str = "embedded"  # or a broker address (redis://HOST:6379/0): model workers on any host
    rate_limit_per_minute: int = 6  # jobs a user may start per minute
    max_active_per_user: int = 2  # queued + running jobs per user
    queue_cap: int = 50  # jobs waiting, all users
    rate_limit_per_address_per_minute: int = 20  # jobs one network address may start per minute (web, API)
    max_active_per_address: int = 6  # queued + running jobs per network address
    trusted_proxy: str = ""  # a reverse proxy's address: its X-Forwarded-For names the caller
    request_timeout_s: float = 15.0  # a request's headers or body not sent within this: connection dropped
    job_timeout_s: float = 120.0
    max_attachment_bytes: int = 1_000_000
    keep_days: float = 30.0  # finished jobs (record + files) are deleted this long after; 0 keeps them
    discord_token: str = ""
    discord_api_base: str = ""  # tests point discord.py at a stand-in server
    discord_guild_ids: tuple[int, ...] = ()  # publish the commands to these servers only (changes show at once)
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""  # set for Socket Mode
    slack_api_base: str = ""  # tests point the Slack Web API client at a stand-in server

    @property
    def public_url(self) -> str:
        return (self.share_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def num(name: str, default: float) -> float:
            raw = env.get(name, "")
            try:
                return float(raw) if raw else default
            except ValueError:
                raise SystemExit(f"{name}={raw!r} is not a number") from None

        keep_days = num("TUNESMITH_KEEP_DAYS", 30.0)
        if not 0 <= keep_days < 1e6:
            raise SystemExit(f"TUNESMITH_KEEP_DAYS={env.get('TUNESMITH_KEEP_DAYS')!r}: give the days to keep finished "
                             "jobs, e.g. 30, or 0 to keep them forever")
        queue = env.get("TUNESMITH_QUEUE", "").strip() or "embedded"
        if queue != "embedded":
            from generation.jobs.broker import Broker, BrokerError

            try:
                Broker.parse(queue)
            except BrokerError as e:
                raise SystemExit(f"TUNESMITH_QUEUE: {e} (or 'embedded', the default)") from None
        guilds = env.get("DISCORD_GUILD_IDS", "").replace(",", " ").split()
        if not all(g.isdigit() and len(g) <= 20 for g in guilds):
            raise SystemExit(f"DISCORD_GUILD_IDS={env.get('DISCORD_GUILD_IDS')!r}: give server ids (the digits of "
                             "Discord's 'Copy Server ID'), separated by commas, or leave it empty for every server")
        warm = tuple(env.get("TUNESMITH_WARM", "").replace(",", " ").split())
        if warm:
            from generation.errors import InputError
            from generation.families.registry import family_of_config

            for config in warm:
                try:
                    family_of_config(config)
                except InputError as e:
                    raise SystemExit(f"TUNESMITH_WARM: {e} Give configs separated by commas, or leave it empty "
                                     "for the chat commands' defaults.") from None
        return cls(
            host=env.get("TUNESMITH_HOST", "127.0.0.1"),
            port=int(num("TUNESMITH_PORT", 8080)),
            data_dir=Path(env.get("TUNESMITH_DATA_DIR", "data")),
            share_base_url=env.get("SHARE_BASE_URL", ""),
            workers=int(num("TUNESMITH_WORKERS", 1)),
            warm=warm,
            queue=queue,
            rate_limit_per_minute=int(num("TUNESMITH_RATE_LIMIT_PER_MINUTE", 6)),
            max_active_per_user=int(num("TUNESMITH_MAX_ACTIVE_PER_USER", 2)),
            queue_cap=int(num("TUNESMITH_QUEUE_CAP", 50)),
            rate_limit_per_address_per_minute=int(num("TUNESMITH_RATE_LIMIT_PER_ADDRESS_PER_MINUTE", 20)),
            max_active_per_address=int(num("TUNESMITH_MAX_ACTIVE_PER_ADDRESS", 6)),
            trusted_proxy=env.get("TUNESMITH_TRUSTED_PROXY", ""),
            request_timeout_s=num("TUNESMITH_REQUEST_TIMEOUT_S", 15.0),
            job_timeout_s=num("TUNESMITH_JOB_TIMEOUT_S", 120.0),
            keep_days=keep_days,
            discord_token=env.get("DISCORD_TOKEN", ""),
            discord_api_base=env.get("DISCORD_API_BASE", ""),
            discord_guild_ids=tuple(int(g) for g in guilds),
            slack_bot_token=env.get("SLACK_BOT_TOKEN", ""),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            slack_app_token=env.get("SLACK_APP_TOKEN", ""),
            slack_api_base=env.get("SLACK_API_BASE", ""),
        )
