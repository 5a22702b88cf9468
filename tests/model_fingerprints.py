"""The MIDI each shipped model writes for a fixed seed and primer, as MD5s: the record that a refactor of the
sampling or model code changes no music. `python tests/model_fingerprints.py --write` records the current
figures into tests/data/model_fingerprints.json; tests/test_model_fingerprints.py compares against them.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

RECORD = Path(__file__).parent / "data" / "model_fingerprints.json"
IMPROV = ["--backing_chords=Am Dm G7 C", "--primer_melody=[57]", "--steps_per_chord=16"]
PERFORMANCE = ["--num_steps=500", "--primer_melody=[60, -2, 64, -2, 67]"]
# name -> (CLI module, its flags). Every shipped config, plus beam search where a family has its own driver.
CASES: dict[str, tuple[str, list[str]]] = {
    **{c: ("improv_rnn_generate", [f"--config={c}", *IMPROV])
       for c in ("basic_improv", "attention_improv", "chord_pitches_improv")},
    "chord_pitches_improv+beam": ("improv_rnn_generate", ["--config=chord_pitches_improv", *IMPROV,
                                                          "--beam_size=2", "--branch_factor=2"]),
    "polyphony": ("polyphony_rnn_generate", ["--num_steps=64", "--primer_pitches=[67,64,60]",
                                            "--condition_on_primer=true", "--inject_primer_during_generation=true"]),
    "polyphony+beam": ("polyphony_rnn_generate", ["--num_steps=64", "--primer_pitches=[67,64,60]",
                                                  "--beam_size=2", "--branch_factor=2"]),
    **{c: ("pianoroll_rnn_nade_generate", [f"--config={c}", "--num_steps=32",
                                           "--primer_pianoroll=[(55,), (55,64,), (55,64,72,)]"])
       for c in ("rnn-nade", "rnn-nade-bach")},
    "rnn-nade+beam": ("pianoroll_rnn_nade_generate", ["--config=rnn-nade", "--num_steps=32", "--beam_size=2",
                                                      "--branch_factor=2", "--primer_pianoroll=[(55,), (55,64,)]"]),
    **{c: ("performance_rnn_generate", [f"--config={c}", *PERFORMANCE])
       for c in ("performance", "performance_with_dynamics", "performance_with_dynamics_and_modulo_encoding",
                 "density_conditioned_performance_with_dynamics", "pitch_conditioned_performance_with_dynamics",
                 "multiconditioned_performance_with_dynamics")},
    **{c: ("melody_rnn_generate", [f"--config={c}", "--num_steps=64", "--primer_melody=[60, -2, 60, -2, 67]"])
       for c in ("basic_rnn", "mono_rnn", "lookback_rnn", "attention_rnn")},
    "lookback_rnn+beam": ("melody_rnn_generate", ["--config=lookback_rnn", "--num_steps=64", "--beam_size=2",
                                                  "--branch_factor=2", "--primer_melody=[60, -2, 60, -2, 67]"]),
    # Magenta's own sampling, where ours steers by default: the same MIDI as before the steering existed.
    "chord_pitches_improv+no_steering": ("improv_rnn_generate", ["--config=chord_pitches_improv", *IMPROV,
                                                                 "--no_steering"]),
    "polyphony+no_voice_leading": ("polyphony_rnn_generate", ["--num_steps=64", "--primer_pitches=[67,64,60]",
                                                              "--condition_on_primer=true",
                                                              "--inject_primer_during_generation=true",
                                                              "--no_voice_leading"]),
    "rnn-nade-bach+no_voice_leading": ("pianoroll_rnn_nade_generate", ["--config=rnn-nade-bach", "--num_steps=32",
                                                                       "--primer_pianoroll=[(55,), (55,64,), "
                                                                       "(55,64,72,)]", "--no_voice_leading"]),
    "drum_kit": ("drums_rnn_generate", ["--config=drum_kit", "--num_steps=64", "--primer_drums=[(36,), (), (42,)]"]),
    "drum_kit_style": ("drums_rnn_generate", ["--config=drum_kit_style", "--style=funk", "--qpm=100",
                                              "--num_steps=64", "--primer_drums=[(36,), (), (42,)]"]),
    "performance_with_dynamics+beam": ("performance_rnn_generate", ["--config=performance_with_dynamics",
                                                                    *PERFORMANCE, "--beam_size=2",
                                                                    "--branch_factor=2"]),
}


def fingerprint(name: str) -> str:
    """MD5 of the one MIDI file the case's CLI writes with --seed=7 (run in this process)."""
    import importlib

    module, flags = CASES[name]
    main = importlib.import_module(f"generation.cli.{module}").main
    with tempfile.TemporaryDirectory() as out:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            code = main([*flags, f"--output_dir={out}", "--num_outputs=1", "--seed=7"])
        assert code == 0, f"{name}: exit {code}"
        (midi,) = Path(out).glob("*.mid")
        return hashlib.md5(midi.read_bytes()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"record into {RECORD}")
    args = parser.parse_args()
    figures = {}
    for name in CASES:
        figures[name] = fingerprint(name)
        print(f"{name:50} {figures[name]}", flush=True)
    if args.write:
        RECORD.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
