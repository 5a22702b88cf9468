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

import faulthandler
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from generation.errors import InputError
from generation.request import GenerationRequest

# Inside each job's output folder: FluidSynth's raw render and the encode are made here, and the folder is removed
# when the job ends. If the worker dies mid-render, whoever restarts it removes `<out_dir>/.scratch`.
SCRATCH_DIR = ".scratch"
CHAT_DEFAULTS = ("chord_pitches_improv", "polyphony", "rnn-nade", "rnn-nade-bach",
                 "multiconditioned_performance_with_dynamics")


class Worker:
    """Runs requests; keeps loaded generators between jobs."""

    def __init__(self) -> None:
        self._generators: dict[str, Any] = {}

    def generator(self, config: str) -> Any:
        if config not in self._generators:
            if config == "polyphony":
                from generation.models.polyphony.generator import PolyphonyGenerator

                self._generators[config] = PolyphonyGenerator.load()
            elif config.startswith("rnn-nade"):
                from generation.models.pianoroll.generator import PianorollGenerator

                self._generators[config] = PianorollGenerator.load(config)
            elif "performance" in config:
                from generation.models.performance.generator import PerformanceGenerator

                self._generators[config] = PerformanceGenerator.load(config)
            else:
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
            except Exception as e:  # noqa: BLE001 - a model that cannot load: its jobs will say so; the others run
                print(f"worker: skipping {config}: {e}", file=sys.stderr)
                continue
            if config == "polyphony":
                generator.generate(_pitch_primer((67, 64, 60)), 16, condition_on_primer=True, inject_primer=True,
                                   num_outputs=1, search=search, seed=0)
            elif config.startswith("rnn-nade"):
                generator.generate([frozenset({60, 64, 67})], 8, 1, search, 0)
            elif "performance" in config:
                generator.warm_up()
            else:
                for chords in ("C G", "C G Am F"):  # two lengths: the traced loop then takes any length
                    generator.generate(parse_progression(chords), 16, [60], 1, search, 0)

    def run(self, job_id: str, request: GenerationRequest, out_dir: Path, emit: Any) -> dict[str, Any]:
        from generation.render.audio import render_midi
        from generation.render.pianoroll import render_pianoroll

        emit({"job_id": job_id, "event": "progress", "stage": "generating", "done": 0, "total": 1})
        start = time.perf_counter()
        make = {"improv": self._improv, "polyphony": self._polyphony, "pianoroll": self._pianoroll,
                "performance": self._performance}[request.family]
        stem, midis, step_s = make(request)
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
                render_midi(midi_path, out_dir / f"{stem}_{i}.ogg", scratch_dir=scratch)
                render_pianoroll(midi_path, out_dir / f"{stem}_{i}.png")
                outputs.append({"midi": midi_path.name, "audio": f"{stem}_{i}.ogg", "pianoroll": f"{stem}_{i}.png",
                                "seconds": round(request.total_steps * step_s, 3)})
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return {
            "outputs": outputs,
            "seed": request.seed,
            "model": request.config,
            "timing": {"generate_s": round(generated - start, 3),
                       "render_s": round(time.perf_counter() - generated, 3)},
        }

    def _improv(self, request: GenerationRequest) -> tuple[str, list[Any], float]:
        from generation.music.chords import parse_chord
        from generation.music.midi import leadsheet_midi

        chords = [parse_chord(c) for c in request.chords]
        melodies = self.generator(request.config).generate(
            chords, request.steps_per_chord, request.primer, request.num_outputs, _search(request), request.seed
        )
        steps = [c for c in chords for _ in range(request.steps_per_chord)]
        midis = [leadsheet_midi(m, steps, request.qpm, request.render_chords) for m in melodies]
        return "melody", midis, 15.0 / request.qpm

    def _polyphony(self, request: GenerationRequest) -> tuple[str, list[Any], float]:
        from generation.music.notes import melody_events_notes, notes_midi

        primer = _pitch_primer(request.primer_pitches) if request.primer_pitches else \
            melody_events_notes(request.primer)
        pieces = self.generator("polyphony").generate(
            primer, request.num_steps, condition_on_primer=request.condition_on_primer,
            inject_primer=request.inject_primer, num_outputs=request.num_outputs, search=_search(request),
            seed=request.seed)
        harmonising = request.inject_primer and not request.condition_on_primer and not request.primer_pitches
        kept = {(n.start, n.pitch) for n in primer}
        midis = []
        for notes in pieces:
            if harmonising:  # the given melody on its own track, so it stands out in the piano roll
                tracks = {"Melody": [n for n in notes if (n.start, n.pitch) in kept],
                          "Harmony": [n for n in notes if (n.start, n.pitch) not in kept]}
            else:
                tracks = {"Chorale": notes}
            midis.append(notes_midi(tracks, 4, request.qpm, request.num_steps))
        return ("harmony" if harmonising else "chorale"), midis, 15.0 / request.qpm

    def _pianoroll(self, request: GenerationRequest) -> tuple[str, list[Any], float]:
        from generation.music.notes import frames_notes, notes_midi

        generator = self.generator(request.config)
        primer = [frozenset(step) for step in request.primer_pianoroll]
        pieces = generator.generate(primer, request.num_steps, request.num_outputs, _search(request), request.seed)
        spq = generator.steps_per_quarter
        midis = [notes_midi({"Piano": frames_notes(frames)}, spq, request.qpm, request.num_steps)
                 for frames in pieces]
        return "pianoroll", midis, 60.0 / request.qpm / spq


    def _performance(self, request: GenerationRequest) -> tuple[str, list[Any], float]:
        from generation.models.performance.generator import performance_midi
        from generation.models.performance.primer import melody_primer, pitches_primer

        end = None
        if request.primer_pitches:
            primer = pitches_primer(request.primer_pitches)
        elif request.primer:
            primer, end = melody_primer(request.primer)
        else:
            primer = []
        pieces = self.generator(request.config).generate_notes(
            primer, request.num_steps, num_outputs=request.num_outputs, search=_search(request), seed=request.seed,
            notes_per_second=request.notes_per_second or None,
            pitch_class_histogram=request.pitch_class_histogram or None, primer_end=end)
        return "performance", [performance_midi(notes, request.num_steps) for notes in pieces], 0.01


def _pitch_primer(pitches: Any) -> list[Any]:
    """Magenta's --primer_pitches: the pitches held together for one quarter note (4 steps)."""
    from generation.music.notes import Note

    return [Note(0, 4, p) for p in pitches]


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
    # A native crash (an encoder, TensorFlow) prints the Python stack of every thread to stderr, the operator's log.
    faulthandler.enable()
    # The protocol owns stdout; anything else printed (library chatter) goes to stderr.
    protocol = sys.stdout
    sys.stdout = sys.stderr
    warm = [c for c in sys.argv[1:] if not c.startswith("-")]
    if not warm:  # the chat commands' default models; the others load on first use
        from generation.models.bundle import installed_configs

        warm = [c for c in CHAT_DEFAULTS if c in installed_configs()]
    serve(sys.stdin, protocol, warm)


if __name__ == "__main__":
    main()
