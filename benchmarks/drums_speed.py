"""Drums RNN speed: model load, then 5 outputs x 8 bars per call (batched, compiled loop), plain and beam search.

Prints figures; asserts nothing. `python benchmarks/drums_speed.py [--bundle PATH] [--layers 256,256,256]`.
Default bundle: Magenta's tiny drum_kit.mag fixture (2 x 32 LSTM, attention 32), since no model is trained yet.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "magenta" / "drum_kit.mag"
PRIMER = [frozenset({36}), frozenset(), frozenset({42}), frozenset()]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn: object, repeats: int) -> list[float]:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i + 1)  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=FIXTURE, help="a .mag, a model folder or a config id")
    parser.add_argument("--outputs", type=int, default=5)
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--layers", default="", help="time an untrained net of these sizes instead, e.g. 256,256,256")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from generation.families.drums.generator import DrumsGenerator  # imports TensorFlow
    from generation.models.sampling import SearchSettings

    t1 = time.perf_counter()
    generator = DrumsGenerator.load(args.bundle if args.bundle.exists() else str(args.bundle))
    t2 = time.perf_counter()
    if args.layers:
        # Timing only: an untrained network of another size (e.g. Magenta's 3 x 256) in the same code path.
        from generation.models.bundle import Bundle
        from generation.models.rnn import EventRnn

        cfg = generator.config
        sizes = tuple(int(u) for u in args.layers.split(","))
        net = EventRnn(cfg.input_size, cfg.num_classes, sizes, cfg.attn_length)
        generator = DrumsGenerator(Bundle("drums", cfg.name, sizes, cfg.attn_length, net.numpy_weights()))
    steps = args.bars * 16
    plain, beam = SearchSettings(), SearchSettings(beam_size=2, branch_factor=2, steps_per_iteration=16)
    first = time.perf_counter()
    generator.generate(PRIMER, steps, args.outputs, plain, seed=0)
    first = time.perf_counter() - first
    many = timed(lambda s: generator.generate(PRIMER, steps, args.outputs, plain, seed=s), args.repeats)
    one = timed(lambda s: generator.generate(PRIMER, steps, 1, plain, seed=s), args.repeats)
    generator.generate(PRIMER, steps, args.outputs, beam, seed=0)  # traces the beam's shapes
    beams = timed(lambda s: generator.generate(PRIMER, steps, args.outputs, beam, seed=s), max(3, args.repeats // 4))
    print(f"bundle {args.bundle.name}, layers {generator.bundle.layer_sizes}, attention {generator.bundle.attn_length}")
    print(f"import tensorflow + generation: {t1 - t0:.2f} s")
    print(f"model load: {(t2 - t1) * 1000:.0f} ms")
    print(f"first call (traces the loop): {first * 1000:.0f} ms")
    print(f"{args.outputs} outputs x {args.bars} bars ({steps} steps), {args.repeats} runs: "
          f"median {statistics.median(many):.1f} ms, p90 {many[int(0.9 * len(many))]:.1f} ms, min {many[0]:.1f} ms")
    print(f"1 output x {args.bars} bars: median {statistics.median(one):.1f} ms")
    print(f"beam search (beam 2, branch 2, 16 steps per iteration), {args.outputs} outputs x {args.bars} bars: "
          f"median {statistics.median(beams):.1f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process memory: RSS now {rss_mb():.0f} MB, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
