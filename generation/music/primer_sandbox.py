"""A user's MIDI attachment read as a primer in a child process with hard memory, CPU and time limits.

The bot calls `read_primer_attachment`: the file's chunk layout is checked here (cheap, no event is read), then
`python -m generation.music.primer_sandbox` counts its events against PRIMER_LIMITS and parses it, with
RLIMIT_AS, RLIMIT_CPU and a wall-clock timeout, the bytes on stdin and the result as JSON on stdout. Whatever a
file does to the parser, the bot's memory and event loop do not see it.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import resource
import sys
import weakref
from dataclasses import dataclass
from typing import Any

from generation.errors import InputError
from generation.music.midi_limits import PRIMER_LIMITS, check_structure
from generation.music.primer import MELODY_READER

log = logging.getLogger(__name__)

MEMORY_BYTES = 512 * 2**20  # address space; a file at every limit peaks near 130 MB RSS and 2.6 s of CPU here
CPU_SECONDS = 5
WALL_SECONDS = 10.0
CONCURRENT_READS = 2  # per event loop: a burst of attachments queues here instead of forking 50 parsers
_MAX_REPLY_BYTES = 64 * 1024
_ENV_KEPT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH", "HOME")  # no tokens or secrets
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


# The parts a reader of several (MusicVAE's) may name; "notes": every note of a tune as rows of small numbers
# (/drumify keep:on keeps them, generation/families/music_vae/groove_keep.py).
PARTS = ("melody", "bass", "drums", "notes")


@dataclass(frozen=True)
class AttachedPrimer:
    """What a command's reader made of an attached MIDI file: its events (or steps) and the file's tempo; a
    reader of named parts gives ((part, events), ...) in PARTS order."""

    events: tuple[Any, ...]
    qpm: float


async def read_primer_attachment(data: bytes, name: str, reader: str = MELODY_READER) -> AttachedPrimer:
    """An attached MIDI file read by `reader` ("module:function" under generation/, the command's own): by
    default the top line as melody events at 16th-note steps (as `read_primer_midi`); a step reader (drums)
    gives a tuple of pitches per step.

    Never blocks the event loop and never parses in this process.

    Raises:
        InputError: the file is beyond a limit, damaged or not MIDI, has no notes, or could not be read within
            the child's memory, CPU or time limits; the message names the file and says what is allowed.
    """
    name = _printable(name)
    what = f"the attachment {name}" if name else "the attachment"
    check_structure(data, what, PRIMER_LIMITS)
    loop = asyncio.get_running_loop()
    slots = _slots.setdefault(loop, asyncio.Semaphore(CONCURRENT_READS))
    async with slots:
        reply = await _run_child(data, name or "attachment", what, reader)
    if "refused" in reply:
        raise InputError(str(reply["refused"]))
    events, qpm = reply.get("events"), reply.get("qpm")
    qpm = float(qpm) if isinstance(qpm, int | float) and 0 < qpm < 10_000 else 120.0
    if isinstance(events, dict) and events and all(k in PARTS for k in events):  # a reader of named parts
        checked = {k: _checked(v) for k, v in events.items()}
        if all(v is not None for v in checked.values()):
            return AttachedPrimer(tuple((k, checked[k]) for k in PARTS if k in checked), qpm)
    elif (checked_events := _checked(events)) is not None:
        return AttachedPrimer(checked_events, qpm)
    log.warning("primer reader answered %r for %s", str(reply)[:200], what)
    raise InputError(f"{what} could not be read as a primer; attach a MIDI file, or type the primer.")


def _checked(events: Any) -> tuple[Any, ...] | None:
    """Melody events (ints -2..127) or steps (lists of pitches 0..127) as a tuple; None for anything else."""
    if isinstance(events, list) and events and all(type(e) is int and -2 <= e <= 127 for e in events):
        return tuple(events)
    if isinstance(events, list) and events and all(
            isinstance(e, list) and all(type(p) is int and 0 <= p <= 127 for p in e) for e in events):
        return tuple(tuple(e) for e in events)
    return None


async def _run_child(data: bytes, name: str, what: str, reader: str) -> dict[str, object]:
    env = {k: os.environ[k] for k in _ENV_KEPT if k in os.environ}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__, name, str(MEMORY_BYTES), str(CPU_SECONDS), reader, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(data), WALL_SECONDS)
    except TimeoutError:
        raise InputError(f"{what} took longer than {WALL_SECONDS:g} s to read; a primer must be readable in "
                         f"{WALL_SECONDS:g} s. Attach a shorter melody.") from None
    finally:
        if proc.returncode is None:  # timed out or cancelled: the child must not outlive the request
            proc.kill()
            await proc.wait()
    if proc.returncode != 0 or len(out) > _MAX_REPLY_BYTES:
        log.warning("primer reader for %s exited %s: %s", what, proc.returncode, err[-500:].decode(errors="replace"))
        raise InputError(f"{what} could not be read within a primer's limits ({MEMORY_BYTES // 2**20} MB of "
                         f"memory, {CPU_SECONDS} s of processor time). Attach a shorter melody.")
    try:
        reply = json.loads(out)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        log.warning("primer reader for %s wrote %r", what, out[:200])
        raise InputError(f"{what} could not be read as a primer; attach a MIDI file, or type the primer.")
    return reply


def _plain(events: Any) -> Any:
    """JSON form of a reader's answer: events or steps as lists (a set of pitches sorted, a list kept in its
    order: a row of numbers), or {part: that} for a reader of parts."""
    if isinstance(events, dict):
        return {k: _plain(v) for k, v in events.items()}
    return [e if isinstance(e, int) else list(e) if isinstance(e, list | tuple) else sorted(e) for e in events]


def _printable(name: str) -> str:
    """A file name safe to show and to pass as an argument: printable characters, at most 80."""
    return "".join(c for c in name if c.isprintable())[:80].strip()


def main() -> int:
    """Child: limit this process, read the file from stdin, print {"events", "qpm"} or {"refused"} as JSON.

    Arguments: the file's name, then optionally the memory (bytes) and CPU (seconds) limits, never above ours,
    and the reader ("module:function" under generation/; the melody reader by default).
    """
    name = sys.argv[1] if len(sys.argv) > 1 else "attachment"
    memory = min(int(sys.argv[2]), MEMORY_BYTES) if len(sys.argv) > 2 else MEMORY_BYTES
    cpu = min(int(sys.argv[3]), CPU_SECONDS) if len(sys.argv) > 3 else CPU_SECONDS
    module, _, function = (sys.argv[4] if len(sys.argv) > 4 else MELODY_READER).partition(":")
    if not module.startswith("generation."):
        raise SystemExit(f"reader {module!r} is not ours")
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 * PRIMER_LIMITS.max_bytes, 2 * PRIMER_LIMITS.max_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    what = f"the attachment {name}"
    data = sys.stdin.buffer.read(PRIMER_LIMITS.max_bytes + 1)
    try:
        read = getattr(importlib.import_module(module), function)  # after the limits: readers import pretty_midi
        events, qpm = read(data, what, name)
        reply: dict[str, object] = {"events": _plain(events), "qpm": qpm}
    except InputError as e:
        reply = {"refused": str(e)}
    except MemoryError:
        reply = {"refused": f"{what} needs more than {memory // 2**20} MB of memory to read; attach a "
                            "shorter melody."}
    sys.stdout.write(json.dumps(reply))
    return 0


if __name__ == "__main__":
    sys.exit(main())
