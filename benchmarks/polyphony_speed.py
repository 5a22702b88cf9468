"""Polyphony RNN speed and memory: model load, then 128 steps x 5 outputs (and x 1) per call, batched and compiled.

Prints figures; asserts nothing. `python benchmarks/polyphony_speed.py [--bundle_file PATH] [--repeats 5]`.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle_file", type=Path, default=None, help="default: our shipped model")
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--beam", action="store_true", help="also time beam_size 2, branch_factor 2")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from generation.engine.sampling import SearchSettings
    from generation.families.polyphony.encoding import melody_primer_notes  # imports TensorFlow
    from generation.families.polyphony.generator import PolyphonyGenerator

    t1 = time.perf_counter()
    generator = PolyphonyGenerator.load(args.bundle_file)
    t2 = time.perf_counter()
    twinkle = melody_primer_notes([60, -2, 60, -2, 67, -2, 67, -2, 69, -2, 69, -2, 67, -2, -2, -2])

    def timed(outputs: int, seed: int, search: SearchSettings) -> tuple[float, int]:
        start = time.perf_counter()
        pieces = generator.generate(twinkle, args.steps, condition_on_primer=False, inject_primer=True,
                                    num_outputs=outputs, search=search, seed=seed)
        # Events: a STEP_END per step plus a note event for every note start and every step a note is held.
        events = sum(args.steps + sum(n.end - n.start for n in p) for p in pieces)
        return time.perf_counter() - start, events

    first, _ = timed(5, 0, SearchSettings())
    print(f"layers {generator.bundle.layer_sizes}; {args.steps} steps per output, primer Twinkle injected")
    print(f"import tensorflow + generation: {t1 - t0:.2f} s")
    print(f"model load: {(t2 - t1) * 1000:.0f} ms")
    print(f"first call (traces the loop): {first * 1000:.0f} ms")
    for outputs in (5, 1):
        runs = [timed(outputs, seed, SearchSettings()) for seed in range(1, args.repeats + 1)]
        ms = [t * 1000 for t, _ in runs]
        events = statistics.median(e for _, e in runs)
        med = statistics.median(ms)
        print(f"{outputs} output(s) x {args.steps} steps, {args.repeats} runs: median {med:.0f} ms "
              f"(min {min(ms):.0f}), {events:.0f} events per call, {med * 1000 / events:.0f} us per event-row")
    if args.beam:
        search = SearchSettings(beam_size=2, branch_factor=2, steps_per_iteration=16)
        timed(1, 0, search)
        t, _ = timed(1, 1, search)
        print(f"beam 2 x branch 2, 16 events per iteration, 1 output: {t * 1000:.0f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process memory: RSS now {rss_mb():.0f} MB, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
