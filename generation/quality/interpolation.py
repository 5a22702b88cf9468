"""MusicVAE interpolation, measured (issue 12, point 3): are the ends the inputs, is the path smooth, is every
step still music? Run: `python -m generation.quality.interpolation [--pairs 40] [--configs cat-mel_2bar,...]`.

Inputs are pairs of held-out human windows (the training split's other side), drawn with a fixed seed; each pair
is interpolated as a user's `/interpolate` is (slerp between the posterior means, `--steps` outputs, both ends
included, decoded at `--temperature`, Magenta's 0.5 by default).

- End accuracy: the share of 16th steps whose class (note on, hold, note off; or the set of drums struck) the
  first and last outputs share with their input.
- Smoothness: a feature of each output (melodies: mean pitch; drums: hits per bar) against its place on the path,
  as Spearman's rank correlation, signed so that +1 runs straight from the first input's value to the second's.
  Only pairs whose inputs differ in the feature by more than `FEATURE_GAP` count: nothing can move otherwise.
- Musical sense along the path: each output's NLL per step under our own autoregressive model of the same music
  (Melody RNN mono_rnn, whose range holds every MusicVAE pitch; Drums RNN drum_kit), divided by the mean NLL of
  the pair's two inputs. The same NLL of the held-out inputs themselves is printed beside it.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"
FEATURE_GAP = {"melody": 3.0, "drums": 2.0}  # semitones of mean pitch; hits per bar


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y + 1e-9 * np.arange(len(y))))
    return float(np.corrcoef(rx, ry)[0, 1])


def _mean_se(values: Sequence[float]) -> str:
    v = np.asarray(values, float)
    return f"{v.mean():.3f} +- {v.std(ddof=1) / np.sqrt(len(v)):.3f} (n={len(v)})" if len(v) > 1 else "n/a"


def held_out_windows(kind: str, steps: int) -> np.ndarray:
    """Held-out human windows as MusicVAE classes [N, steps], as the trainer validates on them."""
    from generation.families.music_vae import data

    if kind == "melody":
        from generation.families.melody.dataset import held_out, load_melodies

        stats: Counter[str] = Counter()
        melodies = [m for m in load_melodies(SHARED, stats) if held_out(m.piece)]
        return data.event_classes(data.melody_windows(melodies, steps, stats))
    from generation.families.drums.groove import read_takes, windows

    return np.array([w.events for w in windows(read_takes(SHARED / "groove", ("validation",)), steps // 16)],
                    np.int32)


def scorer(kind: str) -> tuple[Callable[[Any], float], Callable[[Any], float]]:
    """(feature of a track, NLL per step of a track under our autoregressive model of its kind)."""
    if kind == "melody":
        from generation.families.melody.generator import MelodyGenerator

        melody = MelodyGenerator.load("mono_rnn")

        def pitch(track: Any) -> float:
            notes = [e for e in track if e >= 0]
            return float(np.mean(notes)) if notes else float("nan")

        return pitch, lambda t: -melody.log_likelihood(list(t)) / (len(t) - 1)
    from generation.families.drums.generator import DrumsGenerator

    drums = DrumsGenerator.load("drum_kit")
    return (lambda t: sum(1 for s in t if s) / (len(t) / 16),
            lambda t: -drums.log_likelihood(list(t)) / (len(t) - 1))


def measure(config: str, pairs: int, steps: int, temperature: float, seed: int, refine_steps: int | None = None
            ) -> dict[str, Any]:
    from generation.families.music_vae.encoding import class_tracks, track_classes
    from generation.families.music_vae.generator import MusicVaeGenerator

    vae = MusicVaeGenerator.load(config)
    cfg = vae.config
    windows = held_out_windows(cfg.kind, cfg.steps)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(windows), size=(pairs, 2), replace=len(windows) < 2 * pairs)
    feature, nll = scorer(cfg.kind)
    ends, rhos, ratios, human = [], [], [], []
    for k, (i, j) in enumerate(picks):
        a, b = class_tracks(windows[[i, j]], cfg)
        path = vae.interpolate(a, b, steps, temperature, seed + k, refine_steps)
        got = track_classes(path, cfg)
        ends += [float((got[0] == windows[i]).mean()), float((got[-1] == windows[j]).mean())]
        f = np.array([feature(t) for t in path])
        fa, fb = feature(a), feature(b)
        if abs(fb - fa) > FEATURE_GAP[cfg.kind] and np.isfinite(f).all():
            rhos.append(_spearman(np.arange(steps), f) * np.sign(fb - fa))
        pair_nll = [nll(a), nll(b)]
        human += pair_nll
        ratios += [float(nll(t) / np.mean(pair_nll)) for t in path[1:-1]]
    r = np.array(ratios)
    return {"config": config, "pairs": pairs, "steps": steps, "temperature": temperature,
            "refine steps": vae.config.refine_steps if refine_steps is None else refine_steps,
            "end accuracy": _mean_se(ends), "ends >= 0.9": f"{np.mean(np.array(ends) >= 0.9):.2f}",
            "smoothness (signed Spearman)": _mean_se(rhos),
            "pairs with rho >= 0.8": f"{np.mean(np.array(rhos) >= 0.8):.2f}" if rhos else "n/a",
            "interpolant NLL / ends' NLL": _mean_se(ratios),
            "interpolants over 1.5x": f"{np.mean(r > 1.5):.3f} (max {r.max():.2f})",
            "held-out human NLL per step": _mean_se(human)}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", default="cat-mel_2bar,cat-drums_2bar")
    p.add_argument("--pairs", type=int, default=40)
    p.add_argument("--steps", type=int, default=7, help="outputs along each path, both ends included")
    p.add_argument("--temperature", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--refine_steps", type=int, default=None,
                   help="steps fitting each end's z to its input (default: the config's; 0: the posterior mean)")
    args = p.parse_args(argv)
    for config in args.configs.split(","):
        print(f"\n{config}: {args.pairs} held-out pairs, {args.steps} steps, temperature {args.temperature}")
        figures = measure(config, args.pairs, args.steps, args.temperature, args.seed, args.refine_steps)
        for name, value in figures.items():
            print(f"  {name}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
