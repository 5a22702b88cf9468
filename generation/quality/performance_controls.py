"""Are Performance RNN controls honoured? Density and pitch-class figures per config (`python -m` this module)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from generation.families.performance.generator import PerformanceGenerator

DENSITIES = (1.0, 2.0, 4.0, 8.0)
HISTOGRAMS = {
    "Cmaj7 (C E G B)": (2, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1),
    "C major weighted": (5, 0, 1, 1, 4, 0, 1, 3, 0, 2, 1, 1),
}
NUM_STEPS = 3000  # 30 s
TOLERANCE = 0.25
MIN_COSINE = 0.9


def _generate(generator: PerformanceGenerator, outputs: int, seed: int, **controls: Any) -> list[list[Any]]:
    from generation.engine.sampling import SearchSettings

    return generator.generate_notes([], NUM_STEPS, num_outputs=outputs, search=SearchSettings(), seed=seed,
                                    **controls)


def control_figures(generator: PerformanceGenerator, outputs: int = 4, seed: int = 11) -> dict[str, Any]:
    """Generated density (notes/s over 30 s) per requested density, and pitch-class cosine per requested histogram.

    Configs that take a control are measured with steering on and off (conditioning inputs only); the
    others are measured with the same requests, which they ignore (what unconditioned output does).
    """
    from generation.families.performance.encoding import cosine, pitch_class_histogram

    cfg = generator.config
    seconds = NUM_STEPS / 100
    figures: dict[str, Any] = {"outputs": outputs, "seconds": seconds, "density": {}, "pitch": {}}
    modes = [("steered", True), ("conditioning only", False)]
    for nps in DENSITIES:
        row = {}
        for mode, steer in modes if cfg.density else [("unconditioned", True)]:
            kwargs: dict[str, Any] = {"notes_per_second": nps} if cfg.density else {}
            per_output = [len(notes) / seconds for notes in _generate(generator, outputs, seed, steer=steer,
                                                                      **kwargs)]
            mean = float(np.mean(per_output))
            row[mode] = {"per_output": per_output, "mean": mean, "error": abs(mean - nps) / nps,
                         "within": abs(mean - nps) <= TOLERANCE * nps}
        figures["density"][str(nps)] = row
    for name, hist in HISTOGRAMS.items():
        row = {}
        for mode, steer in modes if cfg.pitch else [("unconditioned", True)]:
            kwargs = {"pitch_class_histogram": hist} if cfg.pitch else {}
            cos = [cosine(hist, pitch_class_histogram(notes)) for notes in _generate(generator, outputs, seed,
                                                                                     steer=steer, **kwargs)]
            row[mode] = {"per_output": cos, "mean": float(np.mean(cos)), "min": float(np.min(cos)),
                         "ok": float(np.mean(cos)) >= MIN_COSINE}
        figures["pitch"][name] = row
    return figures


def table_lines(config: str, figures: dict[str, Any]) -> list[str]:
    """Markdown rows: one per request and mode."""
    lines = []
    unconditioned = [row["unconditioned"]["mean"] for row in figures["density"].values() if "unconditioned" in row]
    if unconditioned:  # the request is ignored: one row says it
        within = [nps for nps in figures["density"] if abs(unconditioned[0] - float(nps)) <= TOLERANCE * float(nps)]
        lines.append(f"| {config} | density 1, 2, 4, 8/s | unconditioned | {unconditioned[0]:.2f} notes/s whatever "
                     f"the request | {'only for ' + ', '.join(within) if within else 'no'} |")
    for nps, row in figures["density"].items():
        for mode, f in row.items():
            if mode == "unconditioned":
                continue
            lines.append(f"| {config} | density {float(nps):g}/s | {mode} | {f['mean']:.2f} notes/s "
                         f"({f['error']:.0%} off) | {'yes' if f['within'] else 'no'} |")
    for name, row in figures["pitch"].items():
        for mode, f in row.items():
            lines.append(f"| {config} | pitch {name} | {mode} | cosine {f['mean']:.3f} (min {f['min']:.3f}) | "
                         f"{'yes' if f['ok'] else 'no'} |")
    return lines


HEADER = ["| config | request | mode | generated | within 25% / cosine >= 0.9 |", "|---|---|---|---|---|"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="", help="comma-separated (default: every installed config)")
    parser.add_argument("--outputs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    from generation.engine.bundle import installed_configs
    from generation.families.performance.config import CONFIGS
    from generation.families.performance.generator import PerformanceGenerator

    names = args.configs.split(",") if args.configs else [c for c in CONFIGS if c in installed_configs()]
    print("\n".join(HEADER))
    for name in names:
        figures = control_figures(PerformanceGenerator.load(name), args.outputs, args.seed)
        print("\n".join(table_lines(name, figures)), flush=True)


if __name__ == "__main__":
    main()
