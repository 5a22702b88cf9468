"""Drums RNN speed: model load, then 5 outputs x 8 bars per call (batched, compiled loop), plain and beam search.

Prints figures; asserts nothing. `python benchmarks/drums_speed.py [--bundle drum_kit|drum_kit_style|PATH]
[--layers 256,256,256] [--plain]`. Default: our shipped drum_kit; a styled config plays its first style.
`--plain` times the step without the one-hot folded into the first layer (the shipped generator folds it:
EventRnn.fold_one_hot).
Under load, the process's CPU time per call is steadier than the wall clock; both are printed.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

PRIMER = [frozenset({36}), frozenset(), frozenset({42}), frozenset()]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


CPU_MS: list[float] = []  # process CPU time of each timed call, in order


def timed(fn: object, repeats: int) -> list[float]:
    times = []
    CPU_MS.clear()
    for i in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        fn(i + 1)  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
        CPU_MS.append((time.process_time() - cpu) * 1000)
    return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=Path("drum_kit"), help="a config id, a .mag or a model folder")
    parser.add_argument("--outputs", type=int, default=5)
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--layers", default="", help="time an untrained net of these sizes instead, e.g. 256,256,256")
    parser.add_argument("--plain", action="store_true", help="the one-hot not folded (EventRnn.fold_one_hot)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from generation.engine.sampling import SearchSettings
    from generation.families.drums.generator import DrumsGenerator  # imports TensorFlow

    t1 = time.perf_counter()
    generator = DrumsGenerator.load(args.bundle if args.bundle.exists() else str(args.bundle))
    t2 = time.perf_counter()
    if args.layers:
        # Timing only: an untrained network of another size (e.g. Magenta's 3 x 256) in the same code path.
        from generation.engine.bundle import Bundle
        from generation.engine.rnn import EventRnn

        cfg = generator.config
        sizes = tuple(int(u) for u in args.layers.split(","))
        net = EventRnn(cfg.input_size, cfg.num_classes, sizes, cfg.attn_length)
        generator = DrumsGenerator(Bundle("drums", cfg.name, sizes, cfg.attn_length, net.numpy_weights()))
    if args.plain:
        from generation.engine.sampling import OneHotStepper

        generator.stepper = OneHotStepper(generator.model, generator.config.num_classes)
    steps = args.bars * 16
    style = generator.config.styles[0] if generator.config.styles else None
    plain_generate = generator.generate

    def generate(primer: list[frozenset[int]], steps: int, outputs: int, search: SearchSettings, seed: int) -> None:
        plain_generate(primer, steps, outputs, search, seed, style=style)

    plain, beam = SearchSettings(), SearchSettings(beam_size=2, branch_factor=2, steps_per_iteration=16)
    first = time.perf_counter()
    generate(PRIMER, steps, args.outputs, plain, seed=0)
    first = time.perf_counter() - first
    many = timed(lambda s: generate(PRIMER, steps, args.outputs, plain, seed=s), args.repeats)
    many_cpu = sorted(CPU_MS)
    one = timed(lambda s: generate(PRIMER, steps, 1, plain, seed=s), args.repeats)
    generate(PRIMER, steps, args.outputs, beam, seed=0)  # traces the beam's shapes
    beams = timed(lambda s: generate(PRIMER, steps, args.outputs, beam, seed=s), max(3, args.repeats // 4))
    print(f"bundle {args.bundle.name}{f' ({style})' if style else ''}, layers {generator.bundle.layer_sizes}, "
          f"attention {generator.bundle.attn_length}{', one-hot not folded' if args.plain else ', one-hot folded'}")
    print(f"import tensorflow + generation: {t1 - t0:.2f} s")
    print(f"model load: {(t2 - t1) * 1000:.0f} ms")
    print(f"first call (traces the loop): {first * 1000:.0f} ms")
    print(f"{args.outputs} outputs x {args.bars} bars ({steps} steps), {args.repeats} runs: "
          f"median {statistics.median(many):.1f} ms, p90 {many[int(0.9 * len(many))]:.1f} ms, min {many[0]:.1f} ms; "
          f"CPU time median {statistics.median(many_cpu):.1f} ms, min {many_cpu[0]:.1f} ms")
    print(f"1 output x {args.bars} bars: median {statistics.median(one):.1f} ms")
    print(f"beam search (beam 2, branch 2, 16 steps per iteration), {args.outputs} outputs x {args.bars} bars: "
          f"median {statistics.median(beams):.1f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process memory: RSS now {rss_mb():.0f} MB, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
