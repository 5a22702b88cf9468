"""Improv RNN speed and memory: model load, then 5 outputs x 8 bars per call (batched, compiled loop).

Prints figures; asserts nothing. `python benchmarks/improv_speed.py [--config chord_pitches_improv]`.
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
    parser.add_argument("--config", default="chord_pitches_improv")
    parser.add_argument("--outputs", type=int, default=5)
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--layers", default="", help="time an untrained net of these sizes instead, e.g. 256,256,256")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from generation.engine.sampling import SearchSettings
    from generation.families.improv.generator import ImprovGenerator  # imports TensorFlow
    from generation.music.chords import parse_progression

    t1 = time.perf_counter()
    generator = ImprovGenerator.load(args.config)
    t2 = time.perf_counter()
    if args.layers:
        # Timing only: an untrained network of another size (e.g. Magenta's 3x256) in the same code path.
        from generation.engine.bundle import Bundle
        from generation.engine.rnn import EventRnn

        cfg = generator.config
        sizes = tuple(int(u) for u in args.layers.split(","))
        net = EventRnn(cfg.input_size, cfg.num_classes, sizes, cfg.attn_length)
        generator = ImprovGenerator(Bundle("improv", cfg.name, sizes, cfg.attn_length, net.numpy_weights()))
    chords = (parse_progression("Am Dm G7/F C F Bm7b5 Eb E") * args.bars)[: args.bars]
    first = time.perf_counter()
    generator.generate(chords, 16, [57], args.outputs, SearchSettings(), seed=0)
    first = time.perf_counter() - first
    times = []
    for i in range(args.repeats):
        start = time.perf_counter()
        generator.generate(chords, 16, [57], args.outputs, SearchSettings(), seed=i + 1)
        times.append(time.perf_counter() - start)
    one = []
    for i in range(args.repeats):
        start = time.perf_counter()
        generator.generate(chords, 16, [57], 1, SearchSettings(), seed=i + 1)
        one.append(time.perf_counter() - start)
    ms = sorted(t * 1000 for t in times)
    print(f"config {args.config}, layers {generator.bundle.layer_sizes}, attention {generator.bundle.attn_length}")
    print(f"import tensorflow + generation: {t1 - t0:.2f} s")
    print(f"model load: {(t2 - t1) * 1000:.0f} ms")
    print(f"first call (traces the loop): {first * 1000:.0f} ms")
    print(f"{args.outputs} outputs x {args.bars} bars ({args.bars * 16} steps), {args.repeats} runs: "
          f"median {statistics.median(ms):.1f} ms, p90 {ms[int(0.9 * len(ms))]:.1f} ms, min {ms[0]:.1f} ms")
    print(f"1 output x {args.bars} bars: median {statistics.median(one) * 1000:.1f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process memory: RSS now {rss_mb():.0f} MB, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
