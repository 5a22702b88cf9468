"""`arrange_train`: the style pulses /arrange's drummer plays, counted from the Groove MIDI Dataset, and their card.

No network is trained: the arranger's chords and drums come from our trained leadsheet_harmonizer and
groovae_2bar_tap_fixed_velocity. What it learns here is, for each Groove style a band of ours plays (rock, pop,
jazz), how often that style's drummers strike at each 16th of a 4/4 bar (beats, not fills, of Groove's training
split), and how much of their time-keeping is on the ride rather than the closed hi-hat. A position struck in at
least PULSE_THRESHOLD of the bars is the style's pulse. The card sets beside each figure the same figure on
Groove's held-out bars (validation and test), and the pulse the same rule finds there. Seconds of CPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from generation.engine.bundle import Bundle, default_bundle_dir
from generation.families.arrange.chat import CONFIG, FAMILY, TRAIN_COMMAND
from generation.families.arrange.styles import STYLES
from generation.families.drums.groove import GROOVE_DIR, LICENCE, read_takes, take_bars

PULSE_THRESHOLD = 0.6
CLOSED_HAT_CLASS, RIDE_CLASS = 2, 8  # drums/encoding.py's classes
COMPONENTS = ("leadsheet_harmonizer", "groovae_2bar_tap_fixed_velocity")


def style_bars(groove: Path, styles: tuple[str, ...], splits: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per style, the class bit masks [bars, 16] of every beat bar with a hit in the given splits."""
    out: dict[str, list[tuple[int, ...]]] = {s: [] for s in styles}
    for take in read_takes(groove, splits):
        if take.style in out and take.beat_type == "beat":
            out[take.style] += [b.events for b in take_bars(take) if any(b.events)]
    return {s: np.array(v, np.int64).reshape(-1, 16) for s, v in out.items()}


def figures(bars: np.ndarray) -> dict[str, list[float]]:
    """Per 16th of the bar, the share of bars striking there and its standard error; the ride share."""
    struck = (bars > 0).astype(np.float64)
    n = max(len(bars), 1)
    hat, ride = ((bars >> CLOSED_HAT_CLASS) & 1).sum(), ((bars >> RIDE_CLASS) & 1).sum()
    return {"hit": [round(float(p), 4) for p in struck.mean(0)] if len(bars) else [0.0] * 16,
            "se": [round(float(e), 4) for e in struck.std(0, ddof=1) / np.sqrt(n)] if len(bars) > 1 else [0.0] * 16,
            "ride_share": [round(float(ride / max(ride + hat, 1)), 4)]}


def train(groove: Path, out: Path) -> Bundle:
    styles = tuple(dict.fromkeys(s.groove for s in STYLES.values() if s.groove))
    start = time.perf_counter()
    trained = style_bars(groove, styles, ("train",))
    held = style_bars(groove, styles, ("validation", "test"))
    train_figures = {s: figures(trained[s]) for s in styles}
    hits = np.array([train_figures[s]["hit"] for s in styles])
    ride_share = np.array([train_figures[s]["ride_share"][0] for s in styles])
    info = {
        "styles": list(styles), "pulse_threshold": PULSE_THRESHOLD, "components": list(COMPONENTS),
        "data": {"dataset": "Groove MIDI Dataset (magenta/groove), 4/4 beats", "licence": LICENCE,
                 "train_bars": {s: len(trained[s]) for s in styles},
                 "held_out_bars": {s: len(held[s]) for s in styles}},
        "training": {"finished": True, "kind": "counts (no network)", "seconds": round(time.perf_counter() - start, 1)},
        "train": train_figures, "held_out": {s: figures(held[s]) for s in styles},
    }
    bundle = Bundle(FAMILY, CONFIG, (), 0, {"hit_probability": hits.astype(np.float32),
                                            "ride_share": ride_share.astype(np.float32)}, info)
    bundle.save(out)
    (out / "MODEL_CARD.md").write_text(card(bundle))
    return bundle


def card(bundle: Bundle) -> str:
    info = bundle.info
    styles = info["styles"]
    lines = [f"# {CONFIG}: model card", "",
             f"_Written by `{TRAIN_COMMAND}`; the figures below come from the run that produced `weights.npz`._", "",
             "The style pulses of /arrange (a melody played by a band: rock, pop, jazz, classical). The arrangement's "
             "chords and bass come from `leadsheet_harmonizer` and its drums from `groovae_2bar_tap_fixed_velocity` "
             "(see their cards); this bundle holds what `arrange_train` counts for the drummer: per style, how often "
             "Groove's drummers strike at each 16th of the bar, and how much of their time-keeping is on the ride. "
             f"A position struck in at least {PULSE_THRESHOLD:.0%} of a style's bars is its pulse; the drummer's taps "
             "are the melody's onsets and that pulse. No network is trained.", "",
             "## Data", f"- {info['data']['dataset']}: beats (not fills) of Groove's own training split; held out: "
             "its validation and test splits.",
             f"- Licence: {info['data']['licence']}.",
             "- Bars with at least one hit: " + ", ".join(
                 f"{s} {info['data']['train_bars'][s]:,} training / {info['data']['held_out_bars'][s]:,} held out"
                 for s in styles) + ".", "",
             "## Training", f"- Counts over the training bars in {info['training']['seconds']} s; no network, no "
             "steps, nothing drawn.", "",
             "## Hit probability per 16th of the bar, and the pulse", "",
             "Training bars, then held-out bars (standard errors of the held-out shares: at most "
             f"{max(max(info['held_out'][s]['se']) for s in styles):.3f}). Ride share: ride hits / (ride + closed "
             "hi-hat hits); above 0.5 the arranger plays GrooVAE's closed hi-hat on the ride.", "",
             "| style | bars | " + " | ".join(str(k + 1) for k in range(16)) + " | pulse | ride share |",
             "|---|---|" + "---:|" * 16 + "---|---:|"]
    for s in styles:
        for kind, label in (("train", "training"), ("held_out", "held out")):
            row = info[kind][s]
            pulse = " ".join(str(k + 1) for k in range(16) if row["hit"][k] >= PULSE_THRESHOLD)
            lines.append(f"| {s} | {label} | " + " | ".join(f"{p:.2f}" for p in row["hit"])
                         + f" | {pulse} | {row['ride_share'][0]:.2f} |")
    lines += ["", "## Licence", f"- {info['data']['licence']} (the counts are derived from it).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=TRAIN_COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--groove_dir", type=Path, default=GROOVE_DIR, help="the Groove MIDI Dataset's folder")
    parser.add_argument("--output_dir", type=Path, default=default_bundle_dir(CONFIG), help="where the bundle goes")
    args = parser.parse_args(argv)
    if not (args.groove_dir / "info.csv").is_file():
        print(f"no Groove MIDI Dataset at {args.groove_dir} (info.csv); give --groove_dir", file=sys.stderr)
        return 2
    bundle = train(args.groove_dir, args.output_dir)
    for s, pulse in zip(bundle.info["styles"], bundle.weights["hit_probability"], strict=True):
        print(f"{s}: pulse at 16ths {[k + 1 for k, p in enumerate(pulse) if p >= PULSE_THRESHOLD]}")
    print(f"wrote {args.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
