"""What every queue backend offers, and the events it reports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from generation.request import GenerationRequest

EventKind = Literal["started", "progress", "done", "error"]


@dataclass(frozen=True)
class JobEvent:
    """Something happened to a job. `message` is user-facing for "error"."""

    job_id: str
    kind: EventKind
    stage: str = ""
    done: int = 0
    total: int = 0
    result: dict[str, Any] = field(default_factory=dict)
    message: str = ""


EventHandler = Callable[[JobEvent], Awaitable[None]]


class JobQueue(Protocol):
    """A queue of generation jobs served by model workers."""

    async def start(self, on_event: EventHandler) -> None:
        """Start workers; `on_event` gets every job event (never concurrently for one job)."""

    async def stop(self) -> None:
        """Stop taking jobs and stop the workers; queued jobs stay queued in the caller's records."""

    async def submit(self, job_id: str, request: GenerationRequest, out_dir: Path, owner: str = "") -> None:
        """Queue a job; returns at once. Jobs of different owners take turns (one owner cannot fill it)."""

    def position(self, job_id: str) -> int | None:
        """1 = next to run, None = not waiting (running or unknown)."""

    @property
    def waiting(self) -> int:
        """Jobs queued and not yet started."""
