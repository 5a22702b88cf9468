"""Fair turns by owner for waiting jobs (start-time fair queueing with unit cost), shared by every backend.

A user's second waiting job is served after every other user's first, so one client cannot starve the rest:
each job takes the owner's next round, never earlier than the round being served now.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from generation.request import GenerationRequest


@dataclass(frozen=True, order=True)
class Waiting:
    round: int  # the owner's turn this job takes; served in (round, seq) order
    seq: int
    job_id: str = field(compare=False)
    owner: str = field(compare=False)
    request: GenerationRequest = field(compare=False)
    out_dir: Path = field(compare=False)


class FairTurns:
    """Waiting jobs in serving order."""

    def __init__(self) -> None:
        self._pending: list[Waiting] = []
        self._seq = itertools.count()
        self._round = 0  # the round of the job served last
        self._owner_round: dict[str, int] = {}  # the round of each owner's latest waiting job

    def add(self, job_id: str, request: GenerationRequest, out_dir: Path, owner: str = "") -> None:
        owner = owner or job_id
        turn = max(self._round, self._owner_round.get(owner, 0)) + 1
        self._owner_round[owner] = turn
        bisect.insort(self._pending, Waiting(turn, next(self._seq), job_id, owner, request, out_dir))

    def pop(self) -> Waiting:
        """The next job to serve (raises IndexError when none waits)."""
        first = self._pending.pop(0)
        self._round = first.round
        # Owners with nothing left in later rounds start afresh from the current round (bounded memory).
        self._owner_round = {o: r for o, r in self._owner_round.items() if r > self._round}
        return first

    def position(self, job_id: str) -> int | None:
        for i, waiting in enumerate(self._pending, 1):
            if waiting.job_id == job_id:
                return i
        return None

    def __contains__(self, job_id: str) -> bool:
        return any(w.job_id == job_id for w in self._pending)

    def __len__(self) -> int:
        return len(self._pending)
