"""Pianoroll RNN-NADE speed and memory: model load, then 128 steps x 5 outputs (and x 1) per call.

Prints figures; asserts nothing. `python benchmarks/pianoroll_speed.py [--config rnn-nade-bach]`.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="rnn-nade")
    parser.add_argument("--outputs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    t0 = time.perf_counter()
    from generation.engine.sampling import SearchSettings
    from generation.families.pianoroll.generator import PianorollGenerator  # imports TensorFlow

    t1 = time.perf_counter()
    generator = PianorollGenerator.load(args.config)
    t2 = time.perf_counter()
    primer = [frozenset({55}), frozenset({55, 64}), frozenset({55, 64, 72}), frozenset()]
    first = time.perf_counter()
    generator.generate(primer, args.steps, args.outputs, SearchSettings(), seed=0)
    first = time.perf_counter() - first
    timings: dict[int, list[float]] = {args.outputs: [], 1: []}
    for outputs, times in timings.items():
        for i in range(args.repeats):
            start = time.perf_counter()
            generator.generate(primer, args.steps, outputs, SearchSettings(), seed=i + 1)
            times.append(time.perf_counter() - start)
    print(f"config {args.config}, LSTM {generator.bundle.layer_sizes}, NADE hidden {generator.model.nade_hidden}")
    print(f"import tensorflow + generation: {t1 - t0:.2f} s")
    print(f"model load: {(t2 - t1) * 1000:.0f} ms")
    print(f"first call (traces the loop): {first:.2f} s")
    for outputs, times in timings.items():
        ms = sorted(t * 1000 for t in times)
        print(f"{args.steps} steps x {outputs} outputs, {args.repeats} runs: median {statistics.median(ms):.0f} ms "
              f"({statistics.median(ms) / args.steps:.2f} ms/step), min {ms[0]:.0f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process memory: RSS now {rss_mb():.0f} MB, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
