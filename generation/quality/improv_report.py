"""Chord-tone quality of Improv RNN models beside human lead sheets: `python -m generation.quality.improv_report`.

For each config: melodies generated over several progressions (the lecture's included) at temperature 1.0,
their chord-tone ratio, and the same melodies scored against the progression a tritone away: a model that
follows the chords scores far higher against the real chords than against the shifted ones.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from generation.data.leadsheet import LeadSheet
from generation.music.chords import NO_CHORD, Chord, ChordError, parse_chord, parse_progression
from generation.quality.chord_tones import Tally, chord_tone_tally

PROGRESSIONS: dict[str, str] = {
    "pop": "C G Am F C G Am F",
    "lecture": "Am Dm G7/F C F Bm7b5 Eb E",
    "lecture_chromatic": "Cmaj7 C#maj7 Dm7 D#m7 Cmaj7 C#maj7 Dm7 D#m7",
    "ii_V_I": "Dm7 G7 Cmaj7 Cmaj7 Dm7 G7 Cmaj7 A7",
    "minor": "Am F C G Am Dm E7 Am",
}
STEPS_PER_CHORD = 16
PRIMER = (60,)


def evaluate_generator(generator: Any, outputs: int = 6, temperature: float = 1.0, seed: int = 0) -> dict:
    """Generate `outputs` melodies per progression and score them against the chords and a tritone away."""
    from generation.engine.sampling import SearchSettings  # TensorFlow only when a model is evaluated

    per: dict[str, dict[str, float]] = {}
    total, shifted_total = Tally(), Tally()
    for i, (name, text) in enumerate(PROGRESSIONS.items()):
        chords = parse_progression(text)
        melodies = generator.generate(chords, STEPS_PER_CHORD, PRIMER, outputs, SearchSettings(temperature),
                                      seed + i)
        steps = [c for c in chords for _ in range(STEPS_PER_CHORD)]
        shifted = [c.transpose(6) for c in steps]
        bars = range(0, len(steps), 16)
        real = sum((chord_tone_tally(m, steps, bars, len(PRIMER)) for m in melodies), Tally())
        tritone = sum((chord_tone_tally(m, shifted, bars, len(PRIMER)) for m in melodies), Tally())
        per[name] = {"chord_tone_ratio": real.ratio, "tritone_ratio": tritone.ratio, "notes": real.notes}
        total, shifted_total = total + real, shifted_total + tritone
    return {
        "temperature": temperature,
        "generations": outputs * len(PROGRESSIONS),
        "chord_tone_ratio": total.ratio,
        "standard_error": math.sqrt(total.ratio * (1 - total.ratio) / max(total.notes, 1)),
        "tritone_ratio": shifted_total.ratio,
        "margin": total.ratio - shifted_total.ratio,
        "notes_scored": total.notes,
        "per_progression": per,
    }


def human_reference(sheets: Iterable[LeadSheet], four_four_only: bool = False) -> dict[str, float]:
    """The same ratio over human lead sheets (and a tritone away, for scale)."""
    cache: dict[str | None, Chord] = {None: NO_CHORD}
    real, shifted, pieces = Tally(), Tally(), 0
    for sheet in sheets:
        if four_four_only and not _is_four_four(sheet.bar_starts, len(sheet.melody)):
            continue
        chords = [cache[f] if f in cache else cache.setdefault(f, _parse_or_none(f)) for f in sheet.chords]
        real = real + chord_tone_tally(sheet.melody, chords, sheet.bar_starts)
        shifted = shifted + chord_tone_tally(sheet.melody, [c.transpose(6) for c in chords], sheet.bar_starts)
        pieces += 1
    return {"pieces": pieces, "chord_tone_ratio": real.ratio, "tritone_ratio": shifted.ratio,
            "notes_scored": real.notes}


def _parse_or_none(figure: str | None) -> Chord:
    try:
        return parse_chord(figure or "")
    except ChordError:
        return NO_CHORD


def _is_four_four(bar_starts: Sequence[int], length: int) -> bool:
    bars = [b - a for a, b in zip([*bar_starts], [*bar_starts[1:], length], strict=True)]
    inner = bars[1:-1] or bars
    return statistics.median(inner) == 16 and sum(b == 16 for b in inner) >= 0.9 * len(inner)


def human_figures(datasets: Path) -> dict[str, dict[str, float]]:
    from generation.data.nottingham import load_nottingham
    from generation.data.openewld import load_openewld

    return {
        "nottingham": human_reference(load_nottingham(datasets / "nottingham" / "ABC_cleaned")),
        "openewld_4_4": human_reference(load_openewld(datasets / "openewld" / "dataset"), four_four_only=True),
    }


def main(argv: Sequence[str] | None = None) -> int:
    from generation.families.improv.config import CONFIGS
    from generation.families.improv.generator import ImprovGenerator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=[*CONFIGS, "all"], default="all")
    parser.add_argument("--outputs", type=int, default=10, help="melodies per progression")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets_dir", type=Path, default=Path(__file__).resolve().parents[3] / "shared"
                        / "datasets", help="for the human figures; skipped if missing")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {}
    if args.datasets_dir.is_dir():
        report["human"] = human_figures(args.datasets_dir)
    for name in CONFIGS if args.config == "all" else [args.config]:
        report[name] = evaluate_generator(ImprovGenerator.load(name), args.outputs, args.temperature, args.seed)
    print(json.dumps(report, indent=2))
    print()
    for name, figures in report.items():
        if name == "human":
            for corpus, f in figures.items():
                print(f"human {corpus:<14} chord-tone {f['chord_tone_ratio']:.3f}  tritone "
                      f"{f['tritone_ratio']:.3f}  ({f['pieces']} pieces, {f['notes_scored']} notes)")
        else:
            print(f"{name:<20} chord-tone {figures['chord_tone_ratio']:.3f} +- {figures['standard_error']:.3f}  "
                  f"tritone {figures['tritone_ratio']:.3f}"
                  f"  margin {figures['margin']:+.3f}  ({figures['generations']} melodies, "
                  f"{figures['notes_scored']} notes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
