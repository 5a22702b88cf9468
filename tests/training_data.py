"""A few real pieces of every training set, laid out as the shared datasets folder is, for trainer smoke runs.

Built from ../shared/datasets; a source that is missing there raises (a missing dataset fails a test, it does
not skip it).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def _copy(src: Path, dst: Path) -> None:
    if not src.exists():
        raise FileNotFoundError(f"{src} is missing: the trainer smoke tests need the shared datasets")
    dst.parent.mkdir(parents=True, exist_ok=True)
    (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)


def build(root: Path) -> Path:
    """Write the small datasets folder under `root` and return it."""
    _copy(SHARED / "nottingham/ABC_cleaned/morris.abc", root / "nottingham/ABC_cleaned/morris.abc")
    _copy(SHARED / "nottingham/ABC_cleaned/playford.abc", root / "nottingham/ABC_cleaned/playford.abc")
    composers = sorted(p for p in (SHARED / "openewld/dataset").iterdir() if p.is_dir())[:12]
    for folder in composers:
        _copy(folder, root / "openewld/dataset" / folder.name)
    for name, counts in (("Jsb16thSeparated.json", (8, 4, 0)), ("jsb-chorales-quarter.json", (8, 4, 4))):
        raw = json.loads((SHARED / "jsb_chorales" / name).read_text())
        small = {split: raw[split][:n] for split, n in zip(("train", "valid", "test"), counts, strict=True) if n}
        (root / "jsb_chorales").mkdir(parents=True, exist_ok=True)
        (root / "jsb_chorales" / name).write_text(json.dumps(small))
    for song in ("001", "002", "003", "021"):  # 001 and 021 are held out by the melody split's hash or POP909's
        _copy(SHARED / "pop909/POP909" / song, root / "pop909/POP909" / song)
    for piece, count in (("Bach/Fugue/bwv_856", 1), ("Bach/Fugue/bwv_854", 1), ("Bach/Fugue/bwv_848", 1)):
        for midi in sorted((SHARED / "asap" / piece).glob("*.mid"))[:count]:
            _copy(midi, root / "asap" / piece / midi.name)
    _groove(root / "groove")
    return root


def _groove(out: Path) -> None:
    """A few Groove takes per split and style (beats of at least 8 bars), with info.csv rows for them."""
    with (SHARED / "groove/info.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    wanted = {("train", s): 2 for s in ("rock", "funk", "jazz", "latin", "hiphop")}
    wanted.update({("validation", s): 1 for s in ("rock", "funk", "jazz", "latin", "hiphop")})
    kept = []
    for row in rows:
        key = (row["split"], row["style"].split("/")[0])
        if wanted.get(key, 0) and row["beat_type"] == "beat" and row["time_signature"] == "4-4" \
                and 15 < float(row["duration"]) < 40:
            wanted[key] -= 1
            kept.append(row)
            _copy(SHARED / "groove" / row["midi_filename"], out / row["midi_filename"])
    out.mkdir(parents=True, exist_ok=True)
    with (out / "info.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
