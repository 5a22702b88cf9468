"""Melody RNN speed: model load, then 5 outputs x 8 bars per call after load (batched, compiled loop).

Prints figures; asserts nothing. By default it times every shipped Melody RNN model in turn:
`python benchmarks/melody_speed.py [--bundle_file X.mag | --configs basic_rnn,...] [--layers 128,128] [--beam 2,2,1]`.
`--layers` times an untrained network of another size in the same code path (timing only).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

PRIMER = [60, -2, 60, -2, 67, -2, 67, -2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle_file", type=Path, default=None, help="a .mag or model folder instead of ours")
    parser.add_argument("--configs", default="", help="our shipped models to time (default: every one)")
    parser.add_argument("--outputs", type=int, default=5)
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--layers", default="", help="time an untrained net of these sizes instead, e.g. 128,128")
    parser.add_argument("--beam", default="2,2,1", help="beam_size,branch_factor,steps_per_iteration also timed "
                        "('' to skip)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from generation.engine.bundle import bundle_config, installed_configs
    from generation.families.melody.config import CONFIGS
    from generation.families.melody.generator import MelodyGenerator  # imports TensorFlow

    t1 = time.perf_counter()
    print(f"import tensorflow + generation: {t1 - t0:.2f} s")
    if args.bundle_file:
        sources: list[tuple[str, Path | None]] = [(bundle_config(args.bundle_file), args.bundle_file)]
    else:
        names = args.configs.split(",") if args.configs else [c for c in CONFIGS if c in installed_configs()]
        sources = [(name, None) for name in names]
    for config, path in sources:
        t1 = time.perf_counter()
        generator = MelodyGenerator.load(config, path)
        time_one(generator, args, (time.perf_counter() - t1) * 1000, path.name if path else "ours")


def time_one(generator: Any, args: argparse.Namespace, load_ms: float, bundle: str) -> None:
    from generation.engine.sampling import SearchSettings

    if args.layers:
        from generation.engine.bundle import Bundle
        from generation.engine.rnn import EventRnn

        cfg = generator.config
        sizes = tuple(int(u) for u in args.layers.split(","))
        net = EventRnn(cfg.input_size, cfg.num_classes, sizes, cfg.attn_length)
        generator = type(generator)(Bundle("melody", cfg.name, sizes, cfg.attn_length, net.numpy_weights()))
    steps = args.bars * 16

    def timed(search: SearchSettings, outputs: int) -> list[float]:
        for i in range(3):  # the first calls trace the loop (and retrace once with relaxed shapes)
            generator.generate(PRIMER, steps, outputs, search, seed=i)
        out = []
        for i in range(args.repeats):
            start = time.perf_counter()
            generator.generate(PRIMER, steps, outputs, search, seed=i + 10)
            out.append((time.perf_counter() - start) * 1000)
        return sorted(out)

    first = time.perf_counter()
    generator.generate(PRIMER, steps, args.outputs, SearchSettings(), seed=0)
    first = time.perf_counter() - first
    print(f"\nconfig {generator.config.name}, layers {generator.bundle.layer_sizes}, attention "
          f"{generator.bundle.attn_length}, bundle {bundle}{' (sizes replaced)' if args.layers else ''}")
    print(f"model load: {load_ms:.0f} ms; first call (traces the loop): {first * 1000:.0f} ms")
    ms = timed(SearchSettings(), args.outputs)
    print(f"{args.outputs} outputs x {args.bars} bars ({steps} steps), {args.repeats} runs: "
          f"median {statistics.median(ms):.1f} ms, p90 {ms[int(0.9 * len(ms))]:.1f} ms, min {ms[0]:.1f} ms")
    one = timed(SearchSettings(), 1)
    print(f"1 output x {args.bars} bars: median {statistics.median(one):.1f} ms")
    if args.beam:
        beam, branch, per = (int(x) for x in args.beam.split(","))
        ms = timed(SearchSettings(1.0, beam, branch, per), args.outputs)
        print(f"beam search (beam {beam}, branch {branch}, {per} step(s) per iteration), {args.outputs} outputs x "
              f"{args.bars} bars: median {statistics.median(ms):.1f} ms")


if __name__ == "__main__":
    main()
