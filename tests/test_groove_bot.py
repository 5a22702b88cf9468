"""/groove and /drumify through the HTTP API of a real `python -m bot`, its worker and the shipped GrooVAE models:
a quantised beat comes back with the same hits played with a drummer's velocities and timing, a melody's rhythm
comes back as drums on its onsets, both on channel 10 with audio and piano roll; same seed, same MIDI."""

from __future__ import annotations

import io

import numpy as np
import pretty_midi
import pytest
from botproc import BotProcess, midi_bytes, output_midis, post_multipart, run_to_end

QPM = 100.0
STEP_S = 60 / QPM / 4
# Four bars of rock on the grid at velocity 100: kick on 1 and the "and" of 2, snare on 2 and 4, eighth hi-hats.
BEAT = [(p, bar * 16 + s) for bar in range(4) for s in range(0, 16, 2)
        for p in ([36] if s in (0, 6) else [38] if s in (4, 12) else []) + [42]]
# Two bars of a tune: its onsets are the taps.
TUNE = [(67, 0, 4), (64, 4, 6), (65, 6, 8), (67, 8, 12), (72, 12, 16), (71, 16, 18), (69, 18, 20), (67, 20, 24),
        (65, 24, 26), (64, 26, 28), (62, 28, 32)]


@pytest.fixture
def bot(models_bot: BotProcess) -> BotProcess:
    return models_bot  # the session's shared bot (conftest.py)


def _file(notes: list[tuple[int, int, int]], drums: bool) -> bytes:
    return midi_bytes(notes, QPM, drums)


def _run(bot: BotProcess, text: str, name: str, data: bytes) -> tuple[pretty_midi.PrettyMIDI, bytes]:
    final = run_to_end(bot, text, (name, data), user="groover")
    (midi,) = output_midis(final)
    return pretty_midi.PrettyMIDI(io.BytesIO(midi)), midi


def test_groove_plays_the_same_hits_with_a_drummers_feel(bot: BotProcess) -> None:
    beat = _file([(p, s, s + 1) for p, s in BEAT], drums=True)
    midi, data = _run(bot, "/groove seed:4", "beat.mid", beat)
    assert midi.instruments and all(i.is_drum for i in midi.instruments)  # channel 10
    hits = sorted((n for i in midi.instruments for n in i.notes), key=lambda n: (n.start, n.pitch))
    assert len(hits) == len(BEAT)  # the user's hits, no more, no fewer
    steps = np.array([n.start / STEP_S for n in hits])
    assert sorted(np.round(steps).astype(int).tolist()) == sorted(s for _, s in BEAT)
    off = np.abs(steps - np.round(steps))
    assert off.max() <= 0.5 and off.mean() > 0.02  # pushed and pulled off the grid, never onto another step
    velocities = np.array([n.velocity for n in hits])
    assert velocities.std() > 5 and len(set(velocities.tolist())) > 5  # dynamics, not a flat 100
    _, again = _run(bot, "/groove seed:4", "beat.mid", beat)
    assert again == data


def test_drumify_plays_drums_on_the_tunes_onsets(bot: BotProcess) -> None:
    midi, _ = _run(bot, "/drumify seed:2", "tune.mid", _file(TUNE, drums=False))
    assert midi.instruments and all(i.is_drum for i in midi.instruments)
    hits = [n for i in midi.instruments for n in i.notes]
    taps = np.array(sorted({s for _, s, _ in TUNE}))
    struck = np.array([n.start / STEP_S for n in hits])
    gap = np.abs(struck[:, None] - taps[None, :])  # in steps, played times against the taps
    assert gap.min(axis=1).max() <= 0.5 and gap.min(axis=0).max() <= 0.5  # a drum on every tap, none elsewhere
    assert len({n.pitch for n in hits}) >= 2  # a kit, not one drum


def test_groove_refuses_a_file_without_drums_saying_what_to_do(bot: BotProcess) -> None:
    status, body = post_multipart(bot, "/groove", ("tune.mid", _file(TUNE, drums=False)), user="groover")
    assert status == 400 and "has no drums" in str(body) and "/drumify" in str(body), body
