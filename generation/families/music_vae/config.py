"""MusicVAE configs (Magenta's `music_vae/configs.py` names), their encodings and our network sizes. No TensorFlow.

Magenta ships each 2-bar config in a `_small` and a `_big` size; we train one size per config (sized to train on
a 2-core CPU in about 25 minutes; the 16-bar ones in about 40), and accept both of Magenta's spellings as aliases of
it (`hierdec-mel_16bar_small` and `_big` too, and the trio's, though Magenta ships those in a single size).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from generation.engine.bundle import default_bundle_dir
from generation.errors import InputError

Kind = Literal["melody", "drums", "trio"]
STEPS_PER_BAR = 16
MIN_PITCH, MAX_PITCH = 21, 109  # Magenta's OneHotMelodyConverter: MIDI 21-108, the 88 piano keys (+ 2 = 90 classes)
NUM_DRUM_CLASSES = 9
MELODY_CLASSES = MAX_PITCH - MIN_PITCH + 2
TRIO_PARTS = ("melody", "bass", "drums")  # Magenta's TrioConverter order
TRAIN_COMMAND = "music_vae_train"


@dataclass(frozen=True)
class MusicVaeConfig:
    """One MusicVAE configuration.

    Attributes:
        name: the config id (Magenta's, without `_small`/`_big`).
        kind: "melody" (one-hot of no event, note off, MIDI 21-108: 90 classes), "drums" (the 9 drum classes
            struck at a step as one of 512 classes; the inputs are the 9-bit roll, Magenta's roll_input) or "trio"
            (melody, bass and drums at each step: 90 + 90 + 512 classes, Magenta's TrioConverter; the inputs
            the melody's and the bass's one-hots and the drums' roll, 189 wide).
        steps: 16th-note steps per sequence.
        z_size: latent dimensions.
        encoder_sizes: units of each bidirectional LSTM layer, each way.
        bar_encoder_sizes: a hierarchical encoder (Magenta's HierarchicalLstmEncoder, level lengths [bars, 16]):
            units of each bidirectional LSTM layer, each way, of the level that reads the bars' encodings in order
            (the `encoder_sizes` layers then read each bar on its own). Empty: one bidirectional LSTM reads all
            the steps (Magenta's BidirectionalLstmEncoder).
        decoder_sizes: units of each decoder LSTM layer (of the core decoder, for a hierarchical one; of each
            part's core decoder, for a trio).
        conductor_sizes: units of each layer of the conductor LSTM of a hierarchical decoder (Magenta's
            HierarchicalLstmDecoder with level lengths [bars, 16]): it runs once per bar from z, and its output
            conditions the core decoder for that bar. Empty: a flat decoder (Magenta's CategoricalLstmDecoder).
        beta: weight of the KL term past the free bits.
        free_bits: KL (in bits, as Magenta's hparam; ln 2 nats each) the posterior may spend before it costs.
        batch_size, learning_rate, clip_norm: training defaults.
        refine_steps: Adam steps that move an encoded track's z from the posterior mean toward the z under which
            the decoder gives that track the highest likelihood (network.MusicVae.refine), so that the ends of an
            interpolation come back as the inputs. 0: the posterior mean as it is (Magenta's way).
    """

    name: str
    kind: Kind
    description: str
    steps: int = 2 * STEPS_PER_BAR
    z_size: int = 256
    encoder_sizes: tuple[int, ...] = (256,)
    bar_encoder_sizes: tuple[int, ...] = ()
    decoder_sizes: tuple[int, ...] = (256, 256)
    conductor_sizes: tuple[int, ...] = ()
    beta: float = 0.2
    free_bits: float = 48.0
    batch_size: int = 128
    learning_rate: float = 0.001
    clip_norm: float = 1.0
    refine_steps: int = 30

    @property
    def num_classes(self) -> int:
        """Classes per step; a trio's three parts together (90 + 90 + 512, Magenta's output depth)."""
        return sum(self.part_classes)

    @property
    def part_classes(self) -> tuple[int, ...]:
        """Classes of each part: (90,), (512,), or the trio's (90, 90, 512)."""
        return {"melody": (MELODY_CLASSES,), "drums": (2**NUM_DRUM_CLASSES,)}.get(
            self.kind, (MELODY_CLASSES, MELODY_CLASSES, 2**NUM_DRUM_CLASSES))

    @property
    def part_inputs(self) -> tuple[int, ...]:
        """Width of each part's input row: the one-hot for melodies, the 9-bit roll for drums."""
        return tuple(NUM_DRUM_CLASSES if c == 2**NUM_DRUM_CLASSES else c for c in self.part_classes)

    @property
    def input_size(self) -> int:
        """Width of one input row: the one-hot for melodies, the 9-bit roll for drums, the three side by side."""
        return sum(self.part_inputs)

    @property
    def bars(self) -> int:
        return self.steps // STEPS_PER_BAR

    @property
    def hierarchical(self) -> bool:
        return bool(self.conductor_sizes)


CONFIGS: dict[str, MusicVaeConfig] = {
    c.name: c
    for c in (
        # Magenta's cat-mel_2bar_small: z 256, encoder 512, decoder 2 x 256, beta 0.2 annealed over ~100k steps
        # from 0, no free bits. Our runs are a few thousand steps, where that anneal keeps beta near 0; a fixed
        # beta past 48 free bits (Magenta's drums setting) lets the same amount of information through.
        MusicVaeConfig("cat-mel_2bar", "melody",
                       "MusicVAE of 2-bar melodies: encode, decode, sample and interpolate monophonic melodies "
                       "(MIDI 21-108, 16th notes)."),
        # Magenta's cat-drums_2bar_small: z 256, encoder 512, decoder 2 x 256, beta 0.2, 48 free bits.
        MusicVaeConfig("cat-drums_2bar", "drums",
                       "MusicVAE of 2-bar drum patterns: the 9 drum classes of Magenta's drum models, any "
                       "combination per 16th note."),
        # Magenta's hierdec-mel_16bar: encoder 2 x 2048 each way, z 512, conductor 2 x 1024, core decoder
        # 2 x 1024, 256 free bits, beta 0.2, batch 512, no transposition (about 175M parameters). Ours: z 256, a
        # one-layer conductor of 256, core 2 x 256, and a hierarchical encoder (Magenta's hier-mel_16bar's
        # kind): 256 each way per bar, then 256 each way over the bars (3.6M). Its flat 256-unit encoder, run
        # over all 256 steps, had learnt little of the middle bars after 1,100 CPU steps (teacher-forced accuracy
        # 0.658 against ~0.62 for always holding; decoded tunes one note a bar); the bars' encoder runs 16 steps
        # at a time and starts as cat-mel_2bar's (--warm_start). Magenta's 256 free bits.
        MusicVaeConfig("hierdec-mel_16bar", "melody",
                       "Hierarchical MusicVAE of 16-bar melodies: a conductor LSTM gives each bar an embedding "
                       "from z, from which a core LSTM decodes the bar's 16th notes (MIDI 21-108); encode, "
                       "decode, sample and interpolate whole 16-bar tunes.",
                       steps=16 * STEPS_PER_BAR, bar_encoder_sizes=(256,), conductor_sizes=(256,),
                       free_bits=256.0, batch_size=32, refine_steps=0),
        # Magenta's hierdec-trio_16bar: encoder 2 x 2048 each way, z 512, conductor 2 x 1024, three core decoders
        # (melody, bass, drums; SplitMultiOutLstmDecoder) of 2 x 1024 each, 256 free bits, beta 0.2, batch 256.
        # Ours: the 16-bar melody model's encoder (hierarchical), z and conductor, and a core decoder of 2 x 256
        # per part, the 2-bar models' decoder sizes, so that --warm_start can start the melody and bass cores from
        # cat-mel_2bar and the drum core from cat-drums_2bar (a step of 32 windows: 4.5 s on the shared CPU under
        # load; one layer of 256 per core, 3.1 s, cannot be warm-started).
        MusicVaeConfig("hierdec-trio_16bar", "trio",
                       "Hierarchical MusicVAE of 16-bar trios: melody, bass and drums together; a conductor LSTM "
                       "gives each bar an embedding from z, from which one core LSTM per part decodes the bar; "
                       "sample, encode, decode and interpolate whole three-part pieces.",
                       steps=16 * STEPS_PER_BAR, bar_encoder_sizes=(256,), conductor_sizes=(256,),
                       free_bits=256.0, batch_size=32, refine_steps=0),
    )
}
ALIASES: dict[str, str] = {f"{name}_{size}": name for name in CONFIGS for size in ("small", "big")}
# Trainable (music_vae_train) and playable from a bundle (music_vae_generate --bundle_file), but not offered in
# chat nor shipped until a trained model's card shows music. hierdec-mel_16bar, hierarchical encoder, warm-started
# from cat-mel_2bar, 60 CPU minutes (2,594 steps): validation NLL 0.970 nats/step, teacher-forced accuracy 0.675,
# but argmax reconstruction 0.631 (holding everywhere scores ~0.62: about one note a bar comes back), so
# /interpolate bars:16 would not start at the first tune; prior samples at temperature 1.0 are near human (3.99
# notes a bar, mean leap 2.86; human 5.03, 2.45), at 0.5 sparse (1.49). That run is kept in
# models/in_training/hierdec-mel_16bar for --init_from. The trio is untrained with this encoder. /trio,
# /interpolate bars:, the Slack manifest's /trio and tests/test_music_vae_16bar_model.py and
# test_music_vae_trio_model.py (in git history, 95bea0e and 64468bb) come back with them.
NOT_SHIPPED: frozenset[str] = frozenset({"hierdec-mel_16bar", "hierdec-trio_16bar"})
SHIPPED: tuple[str, ...] = tuple(name for name in CONFIGS if name not in NOT_SHIPPED)


def resolve(config: str) -> MusicVaeConfig:
    """The config of an id or one of Magenta's `_small`/`_big` spellings.

    Raises:
        InputError: no such config.
    """
    name = ALIASES.get(config, config)
    if name not in CONFIGS:
        raise InputError(f"unknown MusicVAE config {config!r}; choose one of {', '.join(CONFIGS)} "
                         f"(or Magenta's {', '.join(ALIASES)}).")
    return CONFIGS[name]


def installed_model(config: str) -> Path:
    """The folder of our trained model for `config` (an alias resolves; no TensorFlow needed to ask).

    Raises:
        InputError: unknown config, or none installed; the message names the command that trains one.
    """
    name = resolve(config).name
    folder = default_bundle_dir(name)
    if not (folder / "bundle.json").is_file():
        raise InputError(f"no trained {name} model is installed (expected {folder / 'bundle.json'}). Train one "
                         f"with {TRAIN_COMMAND} --config={name}, or pass --bundle_file with a model folder of ours.")
    return folder
