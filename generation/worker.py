"""A model worker process: JSON lines in (jobs), JSON lines out (progress, results). `python -m generation.worker`.

Loads each model once and stays warm. Takes a GenerationRequest and an output folder; writes per output a
MIDI file, an OGG (FluidSynth, peak-normalised) and a piano-roll PNG. Never sees chat tokens.

Protocol (one JSON object per line):
    in:  {"job_id": str, "request": {...GenerationRequest...}, "out_dir": str}
    out: {"event": "ready"}                                       once, after warm-up
         {"job_id", "event": "progress", "stage": "generating" | "rendering", "done": int, "total": int}
         {"job_id", "event": "done", "result": {"outputs": [{"midi", "audio", "pianoroll", "seconds"}], ...}}
         {"job_id", "event": "error", "message": str}              a message a user may read
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from generation.errors import InputError
from generation.request import GenerationRequest


class Worker:
    """Runs requests; keeps loaded generators between jobs."""

    def __init__(self) -> None:
        self._generators: dict[str, Any] = {}

    def generator(self, config: str) -> Any:
        if config not in self._generators:
            from generation.models.improv.generator import ImprovGenerator

            self._generators[config] = ImprovGenerator.load(config)
        return self._generators[config]

    def warm_up(self, configs: list[str]) -> None:
        """Load and trace the models now, so the first user does not wait for it."""
        from generation.music.chords import parse_progression

        search = _search(GenerationRequest("improv", "", ("C",)))
        for config in configs:
            try:
                generator = self.generator(config)
            except InputError as e:  # a model not installed: its jobs will say so; the others still run
                print(f"worker: skipping {config}: {e}", file=sys.stderr)
                continue
            for chords in ("C G", "C G Am F"):  # two lengths: the traced loop then takes any length
                generator.generate(parse_progression(chords), 16, [60], 1, search, 0)

    def run(self, job_id: str, request: GenerationRequest, out_dir: Path, emit: Any) -> dict[str, Any]:
        from generation.music.chords import parse_chord
        from generation.music.midi import leadsheet_midi
        from generation.render.audio import render_midi
        from generation.render.pianoroll import render_pianoroll

        emit({"job_id": job_id, "event": "progress", "stage": "generating", "done": 0, "total": 1})
        chords = [parse_chord(c) for c in request.chords]
        start = time.perf_counter()
        melodies = self.generator(request.config).generate(
            chords, request.steps_per_chord, request.primer, request.num_outputs, _search(request), request.seed
        )
        generated = time.perf_counter()
        out_dir.mkdir(parents=True, exist_ok=True)
        steps = [c for c in chords for _ in range(request.steps_per_chord)]
        outputs = []
        for i, melody in enumerate(melodies, 1):
            emit({"job_id": job_id, "event": "progress", "stage": "rendering", "done": i - 1,
                  "total": len(melodies)})
            midi_path = out_dir / f"melody_{i}.mid"
            midi = leadsheet_midi(melody, steps, request.qpm, request.render_chords)
            midi.write(str(midi_path))
            render_midi(midi_path, out_dir / f"melody_{i}.ogg")
            render_pianoroll(midi_path, out_dir / f"melody_{i}.png")
            outputs.append({"midi": midi_path.name, "audio": f"melody_{i}.ogg", "pianoroll": f"melody_{i}.png",
                            "seconds": round(len(melody) * 15.0 / request.qpm, 3)})
        return {
            "outputs": outputs,
            "seed": request.seed,
            "model": request.config,
            "timing": {"generate_s": round(generated - start, 3),
                       "render_s": round(time.perf_counter() - generated, 3)},
        }


def _search(request: GenerationRequest) -> Any:
    from generation.models.sampling import SearchSettings

    return SearchSettings(request.temperature, request.beam_size, request.branch_factor, request.steps_per_iteration)


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
    # The protocol owns stdout; anything else printed (library chatter) goes to stderr.
    protocol = sys.stdout
    sys.stdout = sys.stderr
    warm = [c for c in sys.argv[1:] if not c.startswith("-")]
    serve(sys.stdin, protocol, warm)


if __name__ == "__main__":
    main()
