"""MusicVAE as a plug-in: two clips in, the path through the latent space between them out, as one piece."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generation.families.music_vae import chat
from generation.families.music_vae.config import CONFIGS, STEPS_PER_BAR
from generation.families.plugin import FamilyPlugin, Made
from generation.request import GenerationRequest

MODEL_STEPS = 2 * STEPS_PER_BAR  # every config so far is a 2-bar model


@dataclass(frozen=True)
class MusicVaeParams:
    """steps: pieces on the path, both ends included; melodies (melody events) or drums (GM pitches per 16th
    step): the two clips, each as read from its file (the worker fits them to the model's length)."""

    steps: int
    melodies: tuple[tuple[int, ...], ...] = ()
    drums: tuple[tuple[tuple[int, ...], ...], ...] = ()

    @property
    def total_steps(self) -> int:
        return self.steps * MODEL_STEPS


def _load(config: str) -> Any:
    from generation.families.music_vae.generator import MusicVaeGenerator

    return MusicVaeGenerator.load(config)


def _warm_up(generator: Any) -> None:
    generator.sample(1, 0.5, 0)


def _make(generator: Any, request: GenerationRequest) -> Made:
    from generation.families.drums.midi import drums_midi
    from generation.families.melody.midi import melody_midi
    from generation.families.music_vae.inputs import align

    params: MusicVaeParams = request.params
    kind = generator.config.kind
    ends = [list(e) for e in params.melodies] if kind == "melody" else [
        [frozenset(s) for s in e] for e in params.drums]
    (a, b), _ = align(list(zip(("the first file", "the second file"), ends, strict=True)), kind,
                      generator.config.steps, True)
    path = generator.interpolate(a, b, params.steps, request.temperature, request.seed)
    whole = [x for piece in path for x in piece]  # the path end to end, as Magenta Studio writes it
    midi = melody_midi(whole, request.qpm) if kind == "melody" else drums_midi(whole, request.qpm)
    return Made("path", [midi], 15.0 / request.qpm)


PLUGIN = FamilyPlugin(name="music_vae", configs=tuple(CONFIGS), params=MusicVaeParams,
                      warm_configs=(chat.MELODY,), generate_command="music_vae_generate",
                      train_command="music_vae_train", commands=chat.COMMANDS,
                      load=_load, warm_up=_warm_up, make=_make)
