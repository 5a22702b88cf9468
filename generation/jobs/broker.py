"""What the bot and remote workers agree on over the job broker: its address, key names, JSON on the wire,
progress events, and the checks a job's result (with its files) must pass before the bot writes them.

The bot and the workers both import this; it imports neither TensorFlow nor the bot.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

from arq.connections import RedisSettings

from generation.jobs.base import JobEvent

GENERATE = "generate"  # the one job function remote workers offer
# The names a worker may give the files it sends back: what the worker writes (stem_N.mid/.ogg/.png), no paths.
FILE_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}\.(mid|ogg|mp3|wav|png)")
MAX_RESULT_FILES = 64
MAX_RESULT_BYTES = 64 * 2**20  # all files of one job together; 16 outputs of 5 minutes of OGG fit easily
RESULT_KEEP_S = 86_400  # how long the broker keeps a result for a bot that was down when it finished


class BrokerError(Exception):
    """The broker address is unusable, or a worker sent back something the bot will not store."""


@dataclass(frozen=True)
class Broker:
    """A parsed `TUNESMITH_QUEUE` / `--broker` address: `redis://[:password@]host[:port][/db][?queue=name]`."""

    url: str  # without the queue parameter, as given to redis
    name: str = "jobs"

    @classmethod
    def parse(cls, address: str) -> Broker:
        parts = urlparse(address)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise BrokerError(f"{address!r} is not a broker address; give redis://HOST:6379/0 (rediss:// for TLS)")
        query = parse_qs(parts.query)
        name = query.pop("queue", ["jobs"])[-1]
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
            raise BrokerError(f"queue={name!r}: use letters, digits, '.', '_' or '-'")
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise BrokerError(f"{address!r}: the port is not a number") from None
        url = urlunparse(parts._replace(query=urlencode(query, doseq=True)))
        return cls(url, name)

    @property
    def settings(self) -> RedisSettings:
        return RedisSettings.from_dsn(self.url)

    @property
    def queue(self) -> str:
        return f"tunesmith:{self.name}"

    @property
    def events(self) -> str:
        """A Redis stream of job events (started, progress, finished) that workers append and the bot reads."""
        return f"{self.queue}:events"

    @property
    def workers(self) -> str:
        """A sorted set of live workers, scored by the time each last said it was alive."""
        return f"{self.queue}:workers"

    def redacted(self) -> str:
        """The address without its password, for logs and messages."""
        parts = urlparse(self.url)
        if parts.password:
            host = parts.hostname or ""
            parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}" +
                                   (f":{parts.port}" if parts.port else ""))
        return urlunparse(parts)


def dumps(value: Any) -> bytes:
    """arq's job and result serializer: JSON (exceptions become {"__exception__", "message"})."""
    return json.dumps(value, default=_exception_to_json).encode()


def loads(data: bytes) -> Any:
    return json.loads(data)


def _exception_to_json(value: Any) -> Any:
    if isinstance(value, BaseException):
        return {"__exception__": type(value).__name__, "message": str(value)}
    raise TypeError(f"{type(value).__name__} is not JSON")


def event_fields(job_id: str, kind: str, **data: Any) -> dict[str, str]:
    """One stream entry."""
    return {"e": json.dumps({"job_id": job_id, "kind": kind, **data})}


def read_event(fields: dict[bytes, bytes]) -> dict[str, Any] | None:
    try:
        value = json.loads(fields.get(b"e", b""))
    except ValueError:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("job_id"), str) else None


def progress_event(job_id: str, data: dict[str, Any]) -> JobEvent:
    def count(key: str) -> int:
        value = data.get(key, 0)
        return value if isinstance(value, int) and 0 <= value <= 10_000 else 0

    return JobEvent(job_id, "progress", stage=str(data.get("stage", ""))[:40], done=count("done"),
                    total=count("total"))


def pack_files(out_dir: Path, result: dict[str, Any]) -> dict[str, str]:
    """The files a worker's result names, read from its own folder, as base64 text."""
    files = {}
    for output in result.get("outputs", []):
        for key in ("midi", "audio", "pianoroll"):
            name = output[key]
            files[name] = base64.b64encode((out_dir / name).read_bytes()).decode()
    return files


def unpack_result(payload: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Check a worker's result before the bot stores it: the result dict and the files it names.

    Raises:
        BrokerError: a malformed result, a file name that is not one of ours, too many or too large files.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("result"), dict) or \
            not isinstance(payload.get("files"), dict):
        raise BrokerError("the result is not {result, files}")
    result, encoded = payload["result"], payload["files"]
    if len(encoded) > MAX_RESULT_FILES:
        raise BrokerError(f"{len(encoded)} files (at most {MAX_RESULT_FILES})")
    files: dict[str, bytes] = {}
    total = 0
    for name, text in encoded.items():
        if not FILE_NAME.fullmatch(name) or not isinstance(text, str):
            raise BrokerError(f"file name {name!r} is not one a worker writes")
        total += len(text) * 3 // 4
        if total > MAX_RESULT_BYTES:
            raise BrokerError(f"the files are larger than {MAX_RESULT_BYTES} bytes")
        try:
            files[name] = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise BrokerError(f"file {name!r} is not base64") from None
    outputs = result.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        raise BrokerError("the result has no outputs")
    for output in outputs:
        if not isinstance(output, dict) or any(output.get(k) not in files for k in ("midi", "audio", "pianoroll")):
            raise BrokerError("an output names a file that was not sent")
    return result, files


def write_files(out_dir: Path, files: dict[str, bytes]) -> None:
    """Write a job's files into its folder; each appears whole or not at all (a second delivery rewrites the
    same names)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        part = out_dir / f".{name}.part"
        part.write_bytes(data)
        part.replace(out_dir / name)
