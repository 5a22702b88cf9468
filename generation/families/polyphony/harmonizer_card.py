"""The lead-sheet harmoniser's held-out figures (the quality report's harmonize measures, same code) and its
MODEL_CARD.md (the sections every card has; a counting model has no optimiser, so no training curve)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from generation.data.leadsheet import LeadSheet
from generation.engine.model_card import table
from generation.families.polyphony.harmonizer import CONFIG, LeadSheetHarmonizer
from generation.music.notes import melody_events_notes
from generation.quality.common import quality_lines

BARS, BAR = 8, 16
SEED = 2024
CORPORA = {"nottingham": "Nottingham", "openewld": "OpenEWLD"}
STEERING = (
    "not sampled note by note. The chords are the HMM's best (key, chord path) (Viterbi; further outputs are drawn "
    "from the chord posterior), and the voicing is a dynamic programme that keeps the bass on the root, the 3rd and "
    "7th present and the melody on top, and avoids parallel 5ths/octaves and overlaps: nothing to turn off. The "
    "[polyphony] rows are /harmonize's `config:polyphony` path (Magenta's: the shipped Polyphony RNN with the "
    "melody injected), sampled with that model's voice leading (`--no_voice_leading` turns it off).")
FIGURES = ("harmony in the tune's key (share of 4-bar segments)", "harmony notes belonging to the chord symbol",
           "bass on the chord root, strong beats", "bass on a chord tone, strong beats",
           "parallel 5ths/octaves per 100 chord changes (melody + harmony)")


def harmonize_figures(harmonizer: LeadSheetHarmonizer, tunes: Sequence[LeadSheet], given: bool) -> dict[str, Any]:
    """The report's harmonize figures over the first 8 bars of each tune (report.held_out_openings), the chords
    picked by the model, or (`given`) the tune's own voiced by our voicer; plus the tunes' own chord symbols
    voiced plainly for the key figure (human). Values are common.Stat."""
    from generation.quality import texture as tx
    from generation.quality.common import mean_stat, ratio_stat
    from generation.quality.leadsheet_rows import parse_steps, voiced_chords

    steps = BARS * BAR
    strong = [b + o for b in range(0, steps, BAR) for o in (0, 8)]
    in_key, human_key, tones, root, tone, parallels = [], [], [], [], [], []
    for i, tune in enumerate(tunes):
        melody = melody_events_notes(tune.melody)
        chords = parse_steps(tune.chords)
        made = harmonizer.harmonize(melody, steps, chords=chords if given else (), seed=SEED + i)[0]
        key = tx.estimate_key(melody + voiced_chords(chords))
        in_key.append(tx.harmony_in_key(key, made.harmony, 4 * BAR, steps))
        human_key.append(tx.harmony_in_key(key, voiced_chords(chords), 4 * BAR, steps))
        tones.append(tx.chord_tone_notes(made.harmony, chords))
        on_root, on_tone, beats = tx.bass_on_chord(made.harmony, chords, strong)
        root.append((on_root, beats))
        tone.append((on_tone, beats))
        parallels.append(tx.parallel_perfects(made.melody + made.harmony))
    ours = [mean_stat(in_key), ratio_stat(tones), ratio_stat(root), ratio_stat(tone), ratio_stat(parallels, 100.0)]
    return {"ours": dict(zip(FIGURES, ours, strict=True)), "human_key": mean_stat(human_key), "tunes": len(tunes)}


def held_out_quality(harmonizer: LeadSheetHarmonizer, sheets: dict[str, list[LeadSheet]]) -> dict[str, Any]:
    """Per corpus: figures with chords picked by the model and with the tunes' own chords, as JSON."""
    from generation.quality.leadsheet_rows import held_out_openings

    out: dict[str, Any] = {}
    for corpus, label in CORPORA.items():
        tunes = held_out_openings(sheets[corpus])
        for mode, given in (("picked", False), ("given", True)):
            figures = harmonize_figures(harmonizer, tunes, given)
            out[f"{label}, chords {mode}"] = {
                "tunes": figures["tunes"], "human_key": asdict(figures["human_key"]),
                "ours": {k: asdict(v) for k, v in figures["ours"].items()}}
    return out


def report_rows(harmonizer: LeadSheetHarmonizer, sheets: dict[str, list[LeadSheet]], samples: int
                ) -> list[dict[str, Any]]:
    """The quality report's harmonize rows (as JSON) for this harmoniser and, beside it, the Polyphony RNN path."""
    from generation.families.polyphony.generator import PolyphonyGenerator
    from generation.quality.common import rows_to_json
    from generation.quality.leadsheet_rows import by_harmonizer, by_polyphony, harmonize_rows, held_out_openings

    paths = {CONFIG: by_harmonizer(harmonizer), "polyphony": by_polyphony(PolyphonyGenerator.load())}
    return rows_to_json(harmonize_rows(samples, paths, held_out_openings(sheets["nottingham"])))


def _stat(d: dict[str, Any]) -> str:
    from generation.quality.common import Stat

    return str(Stat(**d))


def card_lines(info: dict[str, Any], command: str) -> list[str]:
    data, dev, held = info["data"], info["development"], info["held_out_chords"]
    chosen = dev["chosen"]
    lines = [f"# {CONFIG}: model card", "",
             f"_Written by `{command}`; the figures below come from the run that produced `weights.npz`._", "",
             "Harmony under a melody, as a musician reading a lead sheet would: a chord per half bar picked by a "
             "hidden Markov model learnt from folk and jazz lead sheets, then voiced in three parts (bass and two "
             "inner voices) under the melody, which stays note for note on top. `/harmonize` (default) and "
             "`polyphony_rnn_generate --config=leadsheet_harmonizer`.", "",
             "## Model",
             "- States: chords relative to the key's tonic (Roman numerals): 12 roots x 7 qualities (major, minor, "
             "7, m7, maj7, dim, aug; other symbols reduced to these), for major and minor keys; states rarer than "
             f"{info['smoothing']['min_share']:.2%} of a mode's segments are never chosen "
             f"({data['states_allowed']['major']} major-key, {data['states_allowed']['minor']} minor-key states "
             "kept).",
             "- Emission: the melody's pitch classes in the half bar relative to the tonic (beats sounding + 0.25 "
             "per onset), multinomial per state, backed off to the quality's root-relative profile.",
             "- Transition: chord bigrams, one table for half bars that start a bar and one for the others; first "
             "and last chord of a tune. The key is latent at run time: the best (key, chord path) of the 24 keys "
             "(Viterbi); further outputs are drawn from the chord posterior (forward filtering, backward sampling).",
             "- Voicing: a dynamic programme over candidate (bass, tenor, alto) voicings below the melody: bass on the "
             "root (the slash bass for given chords), 3rd and 7th present, least voice movement, no parallel "
             "5ths/octaves between any two voices (melody included), no overlap.",
             f"- {info['parameters']:,} table entries (log-probabilities, float16).", "", "## Data"]
    for name, d in data["datasets"].items():
        lines.append(f"- {name}: {d['pieces']:,} tunes, {d['train']:,} in the training split. Licence: "
                     f"{d['licence']}.")
    lines += [f"- Split: {data['split']}.",
              f"- Counted: {data['train_tunes']:,} tunes, {data['segments']:,} chorded half bars "
              f"({data['tunes_per_mode']['major']} tunes read in a major key, {data['tunes_per_mode']['minor']} "
              "in a minor key: the Krumhansl key of the whole lead sheet, melody and chords voiced together).",
              "", "## Training",
              f"- Counting, then the two decoding weights chosen on the {data['dev_tunes']} development tunes "
              f"(chord accuracy over their first {8} bars), then counted again on all {data['train_tunes']} "
              f"training tunes; {info['training']['seconds']:.0f} s on a shared 2-core CPU.",
              f"- Chosen: melody weight {chosen['melody_weight']}, end weight {chosen['end_weight']} "
              f"(development chord accuracy {chosen['chord']:.3f}).", "",
              *table(["melody weight", "end weight", "chord", "root", "chord tones"],
                     [[g["melody_weight"], g["end_weight"], f"{g['chord']:.3f}", f"{g['root']:.3f}",
                       f"{g['tones']:.3f}"] for g in dev["grid"]], left=0),
              "", "## Validation of the shipped weights",
              f"The stored float16 tables on the {held['tunes']} held-out tunes (chords decoded from the melody alone "
              "against the tunes' own, per chorded half bar):", "",
              *table(["tunes' part", "half bars", "same chord", "same root", "our chord tones in theirs"],
                     [[k.replace("_", " "), v["segments"], f"{v['chord']:.3f}", f"{v['root']:.3f}",
                       f"{v['tones']:.3f}"] for k, v in held.items() if isinstance(v, dict)]),
              *(["", "## Quality beside human", *quality_lines(info["quality_rows"], STEERING)]
                if info.get("quality_rows") else []),
              "", "## Quality beside human: harmonising held-out tunes",
              "The quality report's harmonize measures (generation/quality/texture.py; settings as "
              "`python -m generation.quality.report --only harmonize`): the first 8 bars of each held-out 4/4 tune. "
              "*Picked*: chords chosen by the model from the melody alone; *given*: the tune's own chord symbols "
              "voiced by our voicer. Human: the tune's own chord symbols voiced plainly (key figure only; chord "
              "and bass figures are 1 by definition for it). Mean ± standard error (n tunes).", ""]
    rows = []
    for name, q in info["quality"].items():
        for figure, stat in q["ours"].items():
            human = _stat(q["human_key"]) if figure.startswith("harmony in") else "-"
            rows.append([name, figure, _stat(stat), human])
    lines += [*table(["tunes, chords", "figure", "ours", "human"], rows, left=4), "",
              "## Limits",
              "- 4/4 only at run time (half bars of 16-step bars from step 0); a pickup shifts the bar lines.",
              "- One chord per half bar at most; the harmony is block chords held or restruck on bar lines, no "
              "rhythm of its own, no passing notes.",
              "- Learnt from British/Irish folk dances and public-domain popular songs: plain diatonic harmony, "
              "few extended or chromatic chords; modal tunes are read as major or minor.",
              "- Nottingham is GPL-3.0: these tables are derived from it.", ""]
    return lines


def write_card(folder: Path, info: dict[str, Any], command: str) -> None:
    """folder/MODEL_CARD.md; refuses a dataset without a licence, as every card does."""
    for name, d in info["data"]["datasets"].items():
        if not d["licence"].strip():
            raise ValueError(f"dataset {name} has no licence: only data with a known licence may train a model")
    (folder / "MODEL_CARD.md").write_text("\n".join(card_lines(info, command)))
