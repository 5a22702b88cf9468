"""A model worker process: JSON lines in (jobs), JSON lines out (progress, results). `python -m generation.worker`.

Loads each model once and stays warm. Takes a GenerationRequest and an output folder; writes per output a
MIDI file, an OGG (FluidSynth, peak-normalised) and a piano-roll PNG. Never sees chat tokens.

Protocol (one JSON object per line):
    in:  {"job_id": str, "request": {...GenerationRequest...}, "out_dir": str}
    out: {"event": "ready"}                                       once, after warm-up
         {"job_id", "event": "progress", "stage": "generating" | "rendering", "done": int, "total": int}
         {"job_id", "event": "done", "result": {"outputs": [{"midi", "audio", "pianoroll", "seconds"}],
                                                 "notes": [str, ...] (what was done to the input), ...}}
         {"job_id", "event": "error", "message": str}              a message a user may read
"""

from __future__ import annotations

import faulthandler
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from generation.errors import InputError
from generation.families.plugin import bounded_notes
from generation.families.registry import families, family, family_of_config
from generation.request import GenerationRequest

# Inside each job's output folder: FluidSynth's raw render and the encode are made here, and the folder is removed
# when the job ends. If the worker dies mid-render, whoever restarts it removes `<out_dir>/.scratch`.
SCRATCH_DIR = ".scratch"


class Worker:
    """Runs requests; keeps loaded generators between jobs."""

    def __init__(self) -> None:
        self._generators: dict[str, Any] = {}

    def generator(self, config: str) -> Any:
        if config not in self._generators:
            self._generators[config] = family_of_config(config).load(config)
        return self._generators[config]

    def warm_up(self, configs: list[str]) -> None:
        """Load and trace the models now, so the first user does not wait for it."""
        for config in configs:
            try:
                family_of_config(config).warm_up(self.generator(config))
            except Exception as e:  # noqa: BLE001 - a model that cannot load: its jobs will say so; the others run
                print(f"worker: skipping {config}: {e}", file=sys.stderr)

    def run(self, job_id: str, request: GenerationRequest, out_dir: Path, emit: Any) -> dict[str, Any]:
        from generation.render.audio import render_midi
        from generation.render.pianoroll import render_pianoroll

        emit({"job_id": job_id, "event": "progress", "stage": "generating", "done": 0, "total": 1})
        start = time.perf_counter()
        plugin = family(request.family)
        if request.config not in plugin.configs:  # never let a config fall into another family's code
            raise InputError(f"{request.config!r} is not a {plugin.name} config; its configs: "
                             f"{', '.join(plugin.configs)}.")
        made = plugin.make(self.generator(request.config), request)
        stem, midis, step_s, notes = made.stem, made.midis, made.step_seconds, list(made.notes)
        if request.transpose:  # a step after any family's writing: the same piece, moved
            from generation.music.transpose import transpose_midi

            midis = [transpose_midi(midi, request.transpose) for midi in midis]
            notes += _drums_stayed(midis, request.transpose)
        generated = time.perf_counter()
        out_dir.mkdir(parents=True, exist_ok=True)
        outputs = []
        scratch = out_dir / SCRATCH_DIR
        try:
            for i, midi in enumerate(midis, 1):
                emit({"job_id": job_id, "event": "progress", "stage": "rendering", "done": i - 1,
                      "total": len(midis)})
                midi_path = out_dir / f"{stem}_{i}.mid"
                midi.write(str(midi_path))
                # The audio lasts the piece (a last bar of rest included), never past the MIDI file's end.
                length_s = min(request.total_steps * step_s, midi.get_end_time())
                render_midi(midi_path, out_dir / f"{stem}_{i}.ogg", scratch_dir=scratch, min_seconds=length_s)
                render_pianoroll(midi_path, out_dir / f"{stem}_{i}.png")
                outputs.append({"midi": midi_path.name, "audio": f"{stem}_{i}.ogg", "pianoroll": f"{stem}_{i}.png",
                                "seconds": round(request.total_steps * step_s, 3)})
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return {
            "outputs": outputs,
            "seed": request.seed,
            "model": request.config,
            "notes": bounded_notes(notes),
            "timing": {"generate_s": round(generated - start, 3),
                       "render_s": round(time.perf_counter() - generated, 3)},
        }


def _drums_stayed(midis: Any, semitones: int) -> list[str]:
    """A note when transpose: met drums, which it leaves as they are (their keys are instruments, not pitches)."""
    parts = [(i.is_drum, bool(i.notes)) for midi in midis for i in midi.instruments]
    if not any(drum and played for drum, played in parts):
        return []
    if any(not drum and played for drum, played in parts):
        return [f"transpose:{semitones:+d} moved every part but the drums, which stay as they are (a drum key is "
                "an instrument, not a pitch)."]
    return [f"transpose:{semitones:+d} left this piece as it was: it is all drums, and drums are not transposed "
            "(a drum key is an instrument, not a pitch)."]


def serve(stdin: TextIO, out: TextIO, warm: list[str]) -> None:
    """Read jobs until stdin closes."""

    def emit(message: dict[str, Any]) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    worker = Worker()
    worker.warm_up(warm)
    emit({"event": "ready"})
    for line in stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        job_id = job.get("job_id", "?")
        try:
            request = GenerationRequest.from_json(json.dumps(job["request"]))
            result = worker.run(job_id, request, Path(job["out_dir"]), emit)
            emit({"job_id": job_id, "event": "done", "result": result})
        except InputError as e:
            emit({"job_id": job_id, "event": "error", "message": str(e)})
        except Exception as e:  # noqa: BLE001 - the job fails, the worker lives on
            from generation.render.audio import RenderError

            message = str(e) if isinstance(e, RenderError) else f"internal error while generating ({type(e).__name__})"
            print(f"job {job_id} failed: {e!r}", file=sys.stderr)
            emit({"job_id": job_id, "event": "error", "message": message})


def main() -> None:
    # A native crash (an encoder, TensorFlow) prints the Python stack of every thread to stderr, the operator's log.
    faulthandler.enable()
    # The protocol owns stdout; anything else printed (library chatter) goes to stderr.
    protocol = sys.stdout
    sys.stdout = sys.stderr
    warm = [c for c in sys.argv[1:] if not c.startswith("-")]
    if not warm:  # the chat commands' default models; the others load on first use
        from generation.engine.bundle import installed_configs

        warm = [c for plugin in families() for c in plugin.warm_configs if c in installed_configs()]
    serve(sys.stdin, protocol, warm)


if __name__ == "__main__":
    main()
