"""MusicVAE speed: model load, then a 5-step interpolation (encode both ends and fit their z, as the config's
`refine_steps` says; slerp; decode 5) per call after load, and 5 prior samples. Prints figures; asserts nothing.

`python benchmarks/music_vae_speed.py [--configs cat-mel_2bar,hierdec-mel_16bar] [--steps 5] [--repeats 20]`
(every MusicVAE config by default, each our installed model; a config with none installed is named, not timed).
hierdec-mel_16bar times the 5-step interpolation of 16 bars (5 x 256 steps decoded, bar after bar, in one call);
hierdec-trio_16bar the same with three parts (melody, bass and drums decoded for each bar before the next).
`--bundle_file DIR` times that model folder instead (one config).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="", help="our shipped models to time (default: every one)")
    parser.add_argument("--steps", type=int, default=5, help="outputs along the path, both ends included")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--bundle_file", type=Path, help="a model folder to time instead of our installed one")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from generation.engine.bundle import installed_configs
    from generation.families.music_vae.config import CONFIGS
    from generation.families.music_vae.generator import MusicVaeGenerator  # imports TensorFlow

    print(f"import tensorflow + generation: {time.perf_counter() - t0:.2f} s")
    names = args.configs.split(",") if args.configs else list(CONFIGS)
    if args.bundle_file is not None and len(names) != 1:
        parser.error("--bundle_file times one model: name its config with --configs")
    for name in names:
        if args.bundle_file is None and name not in installed_configs():
            print(f"\nconfig {name}: no model installed (music_vae_train --config={name}); not timed")
            continue
        t1 = time.perf_counter()
        vae = MusicVaeGenerator.load(name, args.bundle_file)
        load_ms = (time.perf_counter() - t1) * 1000
        time_config(vae, args.steps, args.repeats, load_ms)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process memory: peak RSS {peak:.0f} MB")


def time_config(vae: Any, steps: int, repeats: int, load_ms: float) -> None:
    """Median and p90 of an interpolation between two of the model's own samples, and of 5 prior samples."""
    a, b = vae.sample(2, 1.0, seed=1)  # two ends of the model's own length

    def timed(call: Callable[[int], object]) -> tuple[float, float]:
        for i in range(2):  # the first calls trace
            call(i)
        runs = []
        for i in range(repeats):
            start = time.perf_counter()
            call(i + 10)
            runs.append((time.perf_counter() - start) * 1000)
        return statistics.median(runs), sorted(runs)[int(0.9 * (len(runs) - 1))]

    cfg = vae.config
    print(f"\nconfig {cfg.name} ({cfg.bars} bars, {cfg.steps} steps), z {cfg.z_size}, load {load_ms:.0f} ms")
    med, p90 = timed(lambda s: vae.interpolate(a, b, steps, 0.5, s))
    print(f"{steps}-step interpolation of {cfg.bars} bars, {repeats} runs: median {med:.1f} ms, p90 {p90:.1f} ms")
    med, p90 = timed(lambda s: vae.sample(5, 0.5, s))
    print(f"5 prior samples of {cfg.bars} bars: median {med:.1f} ms, p90 {p90:.1f} ms")


if __name__ == "__main__":
    main()
