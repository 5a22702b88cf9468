"""JSB chorales benchmark: NLL per time step of the shipped Bach RNN-NADE beside the published RNN-NADE figure.

Prints a table; asserts nothing. `python benchmarks/jsb_nll.py [--bundle models/rnn-nade-bach]`.
NLL per time step: nats, summed over the 88 keys, averaged over every frame of every piece of a split of
jsb-chorales-quarter.json (the Boulanger-Lewandowski et al. 2012 split), the first frame of each piece predicted
from the initial state. The model was selected on `valid`; `test` is scored here and in its card only.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JSB = REPO.parent / "shared" / "datasets" / "jsb_chorales" / "jsb-chorales-quarter.json"
PUBLISHED = 5.19  # RNN-NADE, Boulanger-Lewandowski, Bengio & Vincent, ICML 2012, JSB test set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=REPO / "models" / "rnn-nade-bach")
    parser.add_argument("--data", type=Path, default=JSB)
    args = parser.parse_args()

    from generation.engine.bundle import Bundle
    from generation.families.pianoroll.dataset import load_jsb
    from generation.families.pianoroll.generator import PianorollGenerator
    from generation.families.pianoroll.train import evaluate

    generator = PianorollGenerator(Bundle.load(args.bundle))
    bundle = generator.bundle
    print(f"model: {bundle.config}, LSTM {'x'.join(map(str, bundle.layer_sizes))}, NADE hidden "
          f"{generator.model.nade_hidden}, float16 weights from {args.bundle}")
    print(f"data: {args.data.name}, one frame per quarter note\n")
    print(f"| {'split':<6} | {'pieces':>6} | {'frames':>6} | {'NLL nats/step':>13} | {'published RNN-NADE':>18} "
          f"| {'seconds':>7} |")
    print(f"|{'-' * 8}|{'-' * 7}:|{'-' * 7}:|{'-' * 14}:|{'-' * 19}:|{'-' * 8}:|")
    for split in ("test", "valid", "train"):
        rolls = load_jsb(args.data, split)
        start = time.perf_counter()
        nll = evaluate(generator.model, rolls)
        published = f"{PUBLISHED:.2f}" if split == "test" else ""
        print(f"| {split:<6} | {len(rolls):>6} | {sum(len(r) for r in rolls):>6} | {nll:>13.3f} | {published:>18} "
              f"| {time.perf_counter() - start:>7.1f} |")
    print("\nLower is better. Published: Boulanger-Lewandowski, Bengio & Vincent (2012), RNN-NADE on JSB, 5.19.")


if __name__ == "__main__":
    main()
