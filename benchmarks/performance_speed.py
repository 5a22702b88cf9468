"""Performance RNN speed: model load, then 30 s of music (num_steps 3000) for 1 and for 5 outputs per call.

Prints figures; asserts nothing. `python benchmarks/performance_speed.py [--config NAME] [--layers 256,256,256]`.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="performance_with_dynamics")
    parser.add_argument("--num_steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--layers", default="", help="time an untrained net of these sizes instead, e.g. 256,256,256")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from generation.engine.sampling import SearchSettings
    from generation.families.performance.generator import PerformanceGenerator  # imports TensorFlow
    from generation.music.notes import Note

    t1 = time.perf_counter()
    generator = PerformanceGenerator.load(args.config)
    t2 = time.perf_counter()
    if args.layers:
        # Timing only: an untrained network of another size (e.g. Magenta's 3x256) in the same code path.
        from generation.engine.bundle import Bundle
        from generation.engine.rnn import EventRnn

        cfg = generator.config
        sizes = tuple(int(u) for u in args.layers.split(","))
        net = EventRnn(cfg.input_size, cfg.num_classes, sizes)
        generator = PerformanceGenerator(Bundle("performance", cfg.name, sizes, 0, net.numpy_weights()))
    primer = [Note(0, 50, 60, 100), Note(0, 50, 64, 100), Note(0, 50, 67, 100)]

    def once(outputs: int, seed: int) -> tuple[float, int]:
        start = time.perf_counter()
        generator.generate_notes(primer, args.num_steps, num_outputs=outputs, search=SearchSettings(), seed=seed)
        return time.perf_counter() - start, generator.last_event_count

    first, _ = once(1, 0)
    print(f"config {args.config}, layers {generator.bundle.layer_sizes}, num_steps {args.num_steps} "
          f"({args.num_steps / 100:g} s of music)")
    print(f"import tensorflow + generation: {t1 - t0:.2f} s; model load: {(t2 - t1) * 1000:.0f} ms; "
          f"first call (traces the loop): {first:.2f} s")
    for outputs in (1, 5):
        runs = [once(outputs, seed) for seed in range(1, args.repeats + 1)]
        secs = statistics.median(t for t, _ in runs)
        events = statistics.median(e for _, e in runs)
        print(f"{outputs} output{'s' if outputs > 1 else ''}: median {secs:.3f} s over {args.repeats} runs, "
              f"{events:.0f} events generated in all ({events / outputs:.0f} per output), "
              f"{secs * 1000 / (events / outputs):.3f} ms per event-step (batch of {outputs}), "
              f"{secs * 1000 / events:.3f} ms per event overall")
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
