"""`music_vae_train`: train a MusicVAE config (cat-mel_2bar and hierdec-mel_16bar on lead-sheet and POP909 melodies,
cat-drums_2bar and the GrooVAE configs on the Groove MIDI Dataset, hierdec-trio_16bar on trios put together from
POP909 and Groove); write its bundle + model card."""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generation.cli.train_flags import add_loop_flags, parse_hparams, start_training
from generation.families.music_vae.config import ALIASES, CONFIGS, resolve
from generation.families.music_vae.groove_config import GROOVE_CONFIGS

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"
FOLDERS = {"nottingham": "nottingham/ABC_cleaned", "openewld": "openewld/dataset", "pop909": "pop909/POP909"}
# Magenta's hparam names (music_vae/lstm_models.get_default_hparams); grad_clip is the loop's clip_norm.
HPARAMS = {"batch_size": int, "z_size": int, "enc_rnn_size": list, "dec_rnn_size": list, "free_bits": float,
           "max_beta": float, "learning_rate": float, "grad_clip": float}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="music_vae_train", description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=[*CONFIGS, *ALIASES, *GROOVE_CONFIGS], required=True,
                   help="Magenta's _small/_big spellings train the same config")
    p.add_argument("--hparams", default="", help="Magenta's form, e.g. 'batch_size=64,z_size=128,enc_rnn_size=[256],"
                   f"dec_rnn_size=[256,256]' ({', '.join(HPARAMS)}; defaults: the config's, see its card)")
    p.add_argument("--datasets_dir", type=Path, default=SHARED,
                   help="melodies and trios: the shared datasets folder")
    p.add_argument("--sources", default=",".join(FOLDERS), help=f"melodies: some of {', '.join(FOLDERS)}")
    p.add_argument("--groove_dir", type=Path, default=SHARED / "groove",
                   help="drums and GrooVAE: the Groove MIDI Dataset")
    p.add_argument("--eval_windows", type=int, default=300,
                   help="held-out windows reconstructed by argmax decoding for the card")
    p.add_argument("--prior_samples", type=int, default=200, help="prior samples per temperature for the card")
    p.add_argument("--run_dir", type=Path, help="Magenta's name for --output_dir")
    p.add_argument("--trio_cache_dir", default=tempfile.gettempdir(),
                   help="hierdec-trio_16bar: where the trio build (~3 min) is kept for the next run, under a key of "
                   "the code and data it came from ('' builds without keeping it)")
    p.add_argument("--warm_start", default="",
                   help="16-bar configs: comma-separated 2-bar model folders (e.g. models/cat-mel_2bar,"
                   "models/cat-drums_2bar) whose decoder starts each core decoder of its kind, and whose encoder "
                   "starts the encoder when the inputs match; the conductor starts fresh")
    p.add_argument("--input_dropout", type=float, default=0.0,
                   help="share (0-0.9) of the decoder's teacher-forced inputs hidden in training (word dropout): the "
                   "decoder must read z for them, which raises the reconstruction of a tune; 0 hides none")
    p.add_argument("--freeze", default="",
                   help="comma-separated variable scopes kept as they start, e.g. core_decoder/ to keep "
                   "--warm_start's core decoders while the conductor learns")
    add_loop_flags(p, steps=20000, learning_rate=None, final_learning_rate=None, eval_every=100, clip_norm=None,
                   init_help="carry on training a bundle of the same config")
    args = p.parse_args(argv)
    if not 0.0 <= args.input_dropout <= 0.9:
        p.error(f"--input_dropout takes 0 to 0.9, not {args.input_dropout}")
    config: Any = GROOVE_CONFIGS.get(args.config) or resolve(args.config)
    try:
        hp = parse_hparams(args.hparams, HPARAMS)
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    config = dataclasses.replace(
        config, batch_size=hp.get("batch_size", config.batch_size), z_size=hp.get("z_size", config.z_size),
        encoder_sizes=tuple(hp.get("enc_rnn_size", config.encoder_sizes)),
        decoder_sizes=tuple(hp.get("dec_rnn_size", config.decoder_sizes)),
        free_bits=hp.get("free_bits", config.free_bits), beta=hp.get("max_beta", config.beta))
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    if getattr(config, "kind", "groove") == "melody":
        if not sources or set(sources) - set(FOLDERS):
            p.error(f"--sources takes some of {', '.join(FOLDERS)}, not {args.sources!r}")
        missing = [s for s in sources if not (args.datasets_dir / FOLDERS[s]).is_dir()]
        if missing:
            p.error(f"no {', '.join(missing)} data under {args.datasets_dir} (expected "
                    f"{', '.join(FOLDERS[s] for s in missing)}); pass --datasets_dir or leave them out of --sources")
    elif getattr(config, "kind", "groove") == "trio":
        for need in ("pop909/POP909", "groove/info.csv"):
            if not (args.datasets_dir / need).exists():
                p.error(f"no {need} under {args.datasets_dir}: the trios are built from POP909 and Groove there; "
                        "pass --datasets_dir")
    elif not (args.groove_dir / "info.csv").is_file():
        p.error(f"no Groove MIDI Dataset at {args.groove_dir} (info.csv missing); pass --groove_dir")
    args.learning_rate = args.learning_rate or hp.get("learning_rate", config.learning_rate)
    args.final_learning_rate = args.final_learning_rate or args.learning_rate / 10
    args.clip_norm = args.clip_norm or hp.get("grad_clip", config.clip_norm)
    settings = start_training(args)  # TensorFlow loads here

    from generation.engine.bundle import default_bundle_dir
    from generation.engine.training import run
    from generation.errors import InputError
    from generation.families.music_vae.train import MusicVaeTrainer, VaeSettings

    out = args.output_dir or args.run_dir or default_bundle_dir(config.name)
    if config.name in GROOVE_CONFIGS:
        from generation.families.music_vae.groove_data import load_groove_set
        from generation.families.music_vae.groove_train import GrooveTrainer

        try:
            run(GrooveTrainer(config, load_groove_set(args.groove_dir, config), config.batch_size), settings, out,
                args.init_from, args.card_only)
        except InputError as e:
            raise SystemExit(f"error: {e}") from None
        return 0
    windows, data_info = (melody_data(args.datasets_dir, sources, config) if config.kind == "melody"
                          else trio_data(args.datasets_dir, args.trio_cache_dir) if config.kind == "trio"
                          else drum_data(args.groove_dir))
    options = VaeSettings(batch_size=config.batch_size, eval_windows=args.eval_windows,
                          prior_samples=args.prior_samples,
                          warm_start=tuple(f.strip() for f in args.warm_start.split(",") if f.strip()),
                          input_dropout=args.input_dropout,
                          freeze=tuple(f.strip() for f in args.freeze.split(",") if f.strip()))
    try:
        trainer = MusicVaeTrainer(config, windows, data_info, options)
        run(trainer, settings, out, args.init_from, args.card_only)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    return 0


def melody_data(datasets_dir: Path, sources: Sequence[str], config: Any) -> tuple[Any, dict[str, Any]]:
    """The melody family's melodies as 2-bar windows, and what the card says of them."""
    from generation.families.melody.dataset import SOURCES, load_melodies
    from generation.families.music_vae.data import melody_set

    stats: Counter[str] = Counter()
    melodies = load_melodies(datasets_dir, stats, sources)
    info = {"sources": {s: {"pieces": stats[f"{s}: pieces"], "licence": SOURCES[s],
                            "melodies": sum(m.source == s for m in melodies)} for s in sources},
            "split": "the melody family's: 10% of pieces held out by a hash of the piece name",
            "augmentation": "each training window drawn in a random transposition of -5..+6 semitones that stays "
                            "within MIDI 21-108 (Magenta's cat-mel_2bar: -5..+5); held-out windows as they are"}
    return melody_set(melodies, config), info


def drum_data(groove_dir: Path) -> tuple[Any, dict[str, Any]]:
    """Groove's 2-bar windows (train: from every bar line; validation: not overlapping), and the card's words."""
    from generation.families.drums.groove import LICENCE, read_takes, windows
    from generation.families.music_vae.data import drum_set

    takes = read_takes(groove_dir, ("train", "validation"))
    train = [t for t in takes if t.split == "train"]
    valid = [t for t in takes if t.split == "validation"]
    info = {"dataset": "Groove MIDI Dataset (magenta/groove), 4/4 takes, beats and fills", "licence": LICENCE,
            "takes": {"train": len(train), "validation": len(valid)},
            "split": "Groove's own (info.csv): train for training, validation held out",
            "augmentation": "none (drums have no key)"}
    return drum_set((w.events for w in windows(train, bars=2, hop=1)), (w.events for w in windows(valid, 2))), info


def trio_data(datasets_dir: Path, cache_dir: str) -> tuple[Any, dict[str, Any]]:
    """The trio windows (built from POP909 and Groove, or from the cache of that build) and the card's counts and
    words."""
    from generation.families.music_vae.trio_windows import TrioWindows, cached_trio_set

    trios = cached_trio_set(datasets_dir, Path(cache_dir) if cache_dir else None)
    info = {**trios.info,
            "split": "the melody family's: 10% of songs held out by a hash of the song's name; their drums from "
                     "Groove's validation takes, the training songs' from its train takes",
            "augmentation": "each training window's melody and bass moved together by one random shift of -5..+6 "
                            "semitones that stays within MIDI 21-108; the drums as they are; held-out windows as "
                            "they are"}
    return TrioWindows(trios), info


if __name__ == "__main__":
    raise SystemExit(main())
