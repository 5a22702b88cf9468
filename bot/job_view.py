"""What the service hands front ends: a job as they show it (JobView), a submission's answer (Submitted), a refusal
(Refused) and the deliverer a front end registers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from generation.errors import InputError


class Refused(InputError):
    """A well-formed command we will not run: `busy` (rate limit, full queue; try later) or a bad attachment."""

    def __init__(self, message: str, *, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy


@dataclass(frozen=True)
class JobView:
    """A job as front ends show it."""

    id: str
    status: str  # queued | running | done | failed
    stage: str  # queued | generating | rendering | done | failed
    position: int | None
    done: int
    total: int
    command: str
    share_url: str
    outputs: list[dict[str, Any]] = field(default_factory=list)  # audio_url, midi_url, pianoroll_url, ...
    error: str = ""
    seed: int = 0
    model: str = ""
    platform: str = ""
    delivery: dict[str, Any] = field(default_factory=dict)
    warming: bool = False  # queued while the model workers are still loading
    notes: list[str] = field(default_factory=list)  # what was done to the input ("... looped 2 times ..."), shown

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def progress_text(self) -> str:
        """One line for a chat message being edited as the job moves."""
        if self.stage == "queued":
            waiting = f"Queued (place {self.position})" if self.position else "Queued"
            return f"{waiting}: waiting for the models to warm up" if self.warming else waiting
        if self.stage == "generating":
            return "Generating..."
        if self.stage == "rendering":
            return f"Rendering audio ({self.done + 1} of {self.total})..." if self.total else "Rendering audio..."
        if self.status == "failed":
            return f"Failed: {self.error}"
        return "Done"

    def to_json(self) -> dict[str, Any]:
        return {"job_id": self.id, "status": self.status, "stage": self.stage, "position": self.position,
                "progress": {"done": self.done, "total": self.total, "text": self.progress_text()},
                "command": self.command, "share_url": self.share_url, "outputs": self.outputs,
                "error": self.error or None, "seed": self.seed, "model": self.model, "notes": self.notes}


@dataclass(frozen=True)
class Submitted:
    kind: str  # "help" | "job"
    help: str = ""
    job: JobView | None = None


Deliverer = Callable[[JobView], Awaitable[None]]
