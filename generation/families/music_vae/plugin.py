"""MusicVAE as a plug-in: two clips in, the path through the latent space between them out, as one piece; /trio:
16 bars of melody, bass and drums sampled, or variations of a trio; and GrooVAE's /groove and /drumify: a drum
part or a rhythm in, drums played with a drummer's feel out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generation.families.music_vae import chat, groove_chat, trio_chat
from generation.families.music_vae.config import SHIPPED, STEPS_PER_BAR
from generation.families.music_vae.groove_config import GROOVE_CONFIGS
from generation.families.plugin import FamilyPlugin, Made
from generation.request import GenerationRequest


@dataclass(frozen=True)
class MusicVaeParams:
    """steps: pieces on the path, both ends included; melodies (melody events) or drums (GM pitches per 16th
    step): the two clips, each as read from its file (the worker fits them to the model's length); bars: the
    model's length, each piece's (2, or 16 for hierdec-mel_16bar).
    /trio (steps 1, bars 16): nothing to sample a trio, or the file's trio to vary: melodies (its melody, its
    bass) and drums (its drums), and change, how far each output moves from it toward a new piece (0-1).
    GrooVAE (steps 1): groove, the drum part to humanise (GM pitches per 16th step), or taps, the rhythm to
    drumify (1 where a note starts), each in whole bars from a bar line (the chat fits them)."""

    steps: int
    melodies: tuple[tuple[int, ...], ...] = ()
    drums: tuple[tuple[tuple[int, ...], ...], ...] = ()
    groove: tuple[tuple[int, ...], ...] = ()
    taps: tuple[int, ...] = ()
    bars: int = 2
    keep: tuple[tuple[int, ...], ...] = ()  # drumify keep:on: the tune's notes, kept (groove_keep.py)
    change: float = 0.0

    @property
    def total_steps(self) -> int:
        return len(self.groove) or len(self.taps) or self.steps * self.bars * STEPS_PER_BAR


def _load(config: str) -> Any:
    if config in GROOVE_CONFIGS:
        from generation.families.music_vae.groove_generator import GrooveGenerator

        return GrooveGenerator.load(config)
    from generation.families.music_vae.generator import MusicVaeGenerator

    return MusicVaeGenerator.load(config)


def _warm_up(generator: Any) -> None:
    if generator.config.name in GROOVE_CONFIGS:
        import numpy as np

        generator.play(np.zeros((1, generator.config.steps, generator.config.control_size)), 1.0, 0)
    else:  # an interpolation's two ends: the decoder, and z's fit compiled for a pair (XLA compiles per shape)
        generator.encode(generator.sample(2, 0.5, 0), refine_steps=min(1, generator.config.refine_steps))


def _make_groove(generator: Any, request: GenerationRequest) -> Made:
    """Each output the whole part played 2 bars at a time, its own draws (seed and output number)."""
    from generation.families.music_vae.groove_inputs import groove_midi, output_seed
    from generation.families.music_vae.groove_keep import with_tune

    params: MusicVaeParams = request.params
    midis = []
    for i in range(request.num_outputs):
        seed = output_seed(request.seed, i)
        if request.config == groove_chat.HUMANIZE:
            hits, steps, _ = generator.humanize_track(params.groove, request.temperature, seed)
        else:
            hits, steps, _ = generator.drumify_track([bool(t) for t in params.taps], request.temperature, seed)
        drums = groove_midi(hits, request.qpm, steps)
        midis.append(with_tune(drums, params.keep, params.taps, request.qpm) if params.keep else drums)
    return Made("groove" if request.config == groove_chat.HUMANIZE else "drums", midis, 15.0 / request.qpm)


def _make_trio(generator: Any, request: GenerationRequest) -> Made:
    """Sampled trios, or variations of the file's trio (its three parts fitted to 16 bars together)."""
    from generation.families.music_vae.trio_inputs import align_trios, trio_midi

    params: MusicVaeParams = request.params
    notes: list[str] = []
    if params.melodies:
        (trio,), notes = align_trios([("the file", params.melodies[0], params.melodies[1], params.drums[0])],
                                 generator.config.steps, False)
        trios = generator.vary(trio, request.num_outputs, params.change, request.temperature, request.seed)
    else:
        trios = generator.sample(request.num_outputs, request.temperature, request.seed)
    return Made("trio", [trio_midi(t, request.qpm) for t in trios], 15.0 / request.qpm, tuple(notes))


def _make(generator: Any, request: GenerationRequest) -> Made:
    if request.config in GROOVE_CONFIGS:
        return _make_groove(generator, request)
    if request.config == trio_chat.TRIO:
        return _make_trio(generator, request)
    from generation.families.drums.midi import drums_midi
    from generation.families.melody.midi import melody_midi
    from generation.families.music_vae.inputs import align

    params: MusicVaeParams = request.params
    kind = generator.config.kind
    ends = [list(e) for e in params.melodies] if kind == "melody" else [
        [frozenset(s) for s in e] for e in params.drums]
    (a, b), notes = align(list(zip(("the first file", "the second file"), ends, strict=True)), kind,
                      generator.config.steps, True)
    path = generator.interpolate(a, b, params.steps, request.temperature, request.seed)
    whole = [x for piece in path for x in piece]  # the path end to end, as Magenta Studio writes it
    midi = melody_midi(whole, request.qpm) if kind == "melody" else drums_midi(whole, request.qpm)
    return Made("path", [midi], 15.0 / request.qpm, tuple(notes))  # what fitting the files did, for the user


PLUGIN = FamilyPlugin(name="music_vae", configs=(*SHIPPED, *GROOVE_CONFIGS), params=MusicVaeParams,
                      warm_configs=(chat.MELODY,), generate_command="music_vae_generate",
                      train_command="music_vae_train",
                      commands=chat.COMMANDS + groove_chat.COMMANDS
                      + (trio_chat.COMMANDS if trio_chat.TRIO in SHIPPED else ()),
                      load=_load, warm_up=_warm_up, make=_make)
