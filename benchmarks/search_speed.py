"""Sampling and beam-search speed of every family: 8 bars x 5 outputs per call, warm, plain and beam 2 x 2.

Prints figures; asserts nothing. `python benchmarks/search_speed.py [--families improv,melody] [--repeats 10]`.
Shipped models where we ship one; Magenta's fixture bundles for melody (lookback_rnn) and drums (drum_kit).
Performance plays 8 bars of 4/4 at 120 qpm (16 s, 1600 steps of 10 ms). "First call" is the call that traces:
one trace serves plain sampling and beam search, so a beam call after a plain one does not trace again.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "magenta"
# Warm medians of this benchmark on main before the shared driver (bf98017^), three runs on this 2-core machine
# shared with other sessions: each family's own driver, beam search a Python loop of one compiled call per step.
BEAM = "beam 2 x branch 2 (steps/iter 1)"
BEFORE: dict[tuple[str, str], str] = {
    ("improv", "plain"): "10.7-15.3 ms", ("improv", BEAM): "258-310 ms",
    ("melody", "plain"): "17-24 ms", ("melody", BEAM): "326-545 ms",
    ("drums", "plain"): "16-23 ms", ("drums", BEAM): "253-479 ms",
    ("polyphony", "plain"): "145-169 ms", ("polyphony", BEAM): "2.2-3.3 s",
    ("pianoroll", "plain"): "289-481 ms", ("pianoroll", BEAM): "0.81-1.12 s",
    ("performance", "plain"): "134-178 ms", ("performance", BEAM): "11.7-16.0 s",
}
FAMILIES = ("improv", "melody", "drums", "polyphony", "pianoroll", "performance")


def caller(family: str, bars: int, outputs: int) -> Callable[[Any, int], object]:
    """A function (search settings, seed) -> outputs, with the family's model loaded."""
    steps = bars * 16
    if family == "improv":
        from generation.families.improv.generator import ImprovGenerator
        from generation.music.chords import parse_progression

        improv = ImprovGenerator.load("chord_pitches_improv")
        chords = (parse_progression("Am Dm G7/F C F Bm7b5 Eb E") * bars)[:bars]
        return lambda search, seed: improv.generate(chords, 16, [57], outputs, search, seed)
    if family == "melody":
        from generation.families.melody.generator import MelodyGenerator

        melody = MelodyGenerator.load("lookback_rnn", FIXTURES / "lookback_rnn.mag")
        return lambda search, seed: melody.generate([60, -2, 60, -2, 67, -2, 67, -2], steps, outputs, search, seed)
    if family == "drums":
        from generation.families.drums.generator import DrumsGenerator

        drums = DrumsGenerator.load(FIXTURES / "drum_kit.mag")
        primer = [frozenset({36}), frozenset(), frozenset({42}), frozenset()]
        return lambda search, seed: drums.generate(primer, steps, outputs, search, seed)
    if family == "polyphony":
        from generation.families.polyphony.generator import PolyphonyGenerator
        from generation.music.notes import Note

        poly = PolyphonyGenerator.load()
        chord = [Note(0, 4, p, 100) for p in (60, 64, 67)]
        return lambda search, seed: poly.generate(chord, steps, condition_on_primer=True, inject_primer=True,
                                                  num_outputs=outputs, search=search, seed=seed)
    if family == "pianoroll":
        from generation.families.pianoroll.generator import PianorollGenerator

        roll = PianorollGenerator.load("rnn-nade")
        frames = [frozenset({55}), frozenset({55, 64}), frozenset({55, 64, 72})]
        return lambda search, seed: roll.generate(frames, steps, outputs, search, seed)
    from generation.families.performance.generator import PerformanceGenerator
    from generation.music.notes import Note

    perf = PerformanceGenerator.load("performance_with_dynamics")
    chord_notes = [Note(0, 50, p, 100) for p in (60, 64, 67)]
    num_steps = bars * 4 * 50  # 4 beats of 0.5 s per bar at 120 qpm, in 10 ms steps
    return lambda search, seed: perf.generate_notes(chord_notes, num_steps, num_outputs=outputs, search=search,
                                                    seed=seed)


def median_ms(run: Callable[[Any, int], object], search: Any, repeats: int) -> tuple[float, float, float]:
    """(first call's ms, median wall ms and median process CPU ms of `repeats` warm calls with other seeds).

    CPU time is the steadier figure on a machine shared with other work (it counts TensorFlow's threads too).
    """
    start = time.perf_counter()
    run(search, 0)
    first = (time.perf_counter() - start) * 1000
    run(search, 1)
    wall, cpu = [], []
    for seed in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        run(search, seed + 2)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return first, statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--outputs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--beam", default="2,2,1", help="beam_size,branch_factor,steps_per_iteration")
    args = parser.parse_args()

    from generation.engine.sampling import SearchSettings

    beam, branch, spi = (int(v) for v in args.beam.split(","))
    searches = {"plain": SearchSettings(),
                f"beam {beam} x branch {branch} (steps/iter {spi})":
                    SearchSettings(beam_size=beam, branch_factor=branch, steps_per_iteration=spi)}
    print(f"{args.bars} bars x {args.outputs} outputs per call, median of {args.repeats} warm calls")
    for family in args.families.split(","):
        run = caller(family, args.bars, args.outputs)
        for name, search in searches.items():
            first, wall, cpu = median_ms(run, search, args.repeats)
            before = BEFORE.get((family, name))
            print(f"{family:12} {name:34} warm {wall:8.1f} ms (CPU {cpu:8.1f} ms)   first call {first:6.0f} ms"
                  + (f"   before the shared driver: {before}" if before else ""), flush=True)


if __name__ == "__main__":
    main()
