"""/continue through the HTTP API of a real `python -m bot`, its worker and the shipped Melody RNN and Drums RNN: a
melody file and a drum file come back as one MIDI each that starts with the user's notes and runs on for the bars
asked, a share link stands for a file (Slack's way), and the same seed gives the same MIDI."""

from __future__ import annotations

import io
from typing import Any

import pretty_midi
import pytest
from botproc import (
    BotProcess,
    get_bytes,
    midi_bytes,
    output_midis,
    post_command,
    post_multipart,
    run_to_end,
)

# Two bars at 100 qpm, on 16th steps: (pitch, start, end); the last note is held to the bar line.
TUNE = [(67, 0, 4), (64, 4, 6), (65, 6, 8), (67, 8, 12), (72, 12, 16), (71, 16, 18), (69, 18, 20), (67, 20, 24),
        (65, 24, 26), (64, 26, 28), (62, 28, 32)]
GROOVE = [(p, s, s + 1) for s in range(0, 16, 2) for p in ([36] if s in (0, 6, 10) else [38] if s % 8 == 4 else [])
          + [42]]  # one bar of rock with a syncopated kick


@pytest.fixture
def bot(models_bot: BotProcess) -> BotProcess:
    return models_bot  # the session's shared bot (conftest.py)


def midi_file(notes: list[tuple[int, int, int]], qpm: float, drums: bool = False, program: int = 0) -> bytes:
    return midi_bytes(notes, qpm, drums, program, velocity=100)


def run(bot: BotProcess, text: str, attachment: tuple[str, bytes] | None = None
        ) -> tuple[dict[str, Any], list[tuple[pretty_midi.PrettyMIDI, bytes]]]:
    """Submit, wait for the end, check each output's audio and piano roll; the final view and each MIDI."""
    final = run_to_end(bot, text, attachment, user="cont")
    return final, [(pretty_midi.PrettyMIDI(io.BytesIO(data)), data) for data in output_midis(final)]


def grid(midi: pretty_midi.PrettyMIDI, step_s: float) -> list[tuple[int, int, int]]:
    """(pitch, start step, end step) of every note, in time order."""
    return sorted(((n.pitch, round(n.start / step_s), round(n.end / step_s)) for i in midi.instruments
                   for n in i.notes), key=lambda n: (n[1], n[0]))


def test_a_melody_file_is_continued_by_the_bars_asked(bot: BotProcess) -> None:
    """Two bars of melody at 100 qpm + bars:2: two outputs, each the tune note for note then two bars more of
    one melody line on a GM piano, at the file's tempo; the same seed gives the same files."""
    step_s = 60 / 100 / 4
    tune = ("tune.mid", midi_file(TUNE, 100))
    final, outs = run(bot, "/continue bars:2 outputs:2 seed:21", tune)
    assert final["model"] == "attention_rnn" and len(outs) == 2
    for midi, _ in outs:
        assert [(i.is_drum, i.program) for i in midi.instruments] == [(False, 0)]
        notes = grid(midi, step_s)
        kept = [n for n in notes if n[1] < 32]
        # the user's notes unchanged; the last may be tied over the bar line, as Magenta's continuations do
        assert kept[:-1] == TUNE[:-1] and kept[-1][:2] == TUNE[-1][:2], kept
        assert midi.get_end_time() == pytest.approx(4 * 16 * step_s, abs=1e-3)  # 2 bars + the 2 asked
        new = [n for n in notes if n[1] >= 32]
        assert len(new) >= 3, "the model did not continue the tune"
        assert all(a[2] <= b[1] for a, b in zip(notes, notes[1:], strict=False)), "two notes at once"
    _, again = run(bot, "/continue bars:2 outputs:2 seed:21", tune)
    assert [grid(m, step_s) for m, _ in again] == [grid(m, step_s) for m, _ in outs]

    # Slack's way (and anyone's): the share link of that result stands for its MIDI, which is continued in turn
    first = grid(outs[0][0], step_s)
    linked, (longer,) = run(bot, f"/continue {final['share_url']} bars:1 seed:2 config:lookback_rnn")
    assert linked["model"] == "lookback_rnn"
    assert longer[0].get_end_time() == pytest.approx(5 * 16 * step_s, abs=1e-3)
    assert [n for n in grid(longer[0], step_s) if n[1] < 64][:-1] == first[:-1]


def test_a_drum_file_is_continued_on_channel_10(bot: BotProcess) -> None:
    """One bar of rock (channel 10, 90 qpm) + bars:3: the groove hit for hit, then three bars of drums, all on the
    GM drum channel; the same seed gives the same MIDI bytes."""
    step_s = 60 / 90 / 4
    groove = ("groove.mid", midi_file(GROOVE, 90, drums=True))
    final, ((midi, data),) = run(bot, "/continue bars:3 seed:4", groove)
    assert final["model"] == "drum_kit"
    assert midi.instruments and all(i.is_drum for i in midi.instruments)
    hits = {(n[1], n[0]) for n in grid(midi, step_s)}
    assert {h for h in hits if h[0] < 16} == {(s, p) for p, s, _ in GROOVE}
    assert midi.get_end_time() == pytest.approx(4 * 16 * step_s, abs=1e-3)
    assert len({h for h in hits if h[0] >= 16}) >= 12, "the model did not play on"
    _, ((_, same),) = run(bot, "/continue bars:3 seed:4", groove)
    assert same == data


def test_a_file_without_the_part_asked_is_refused_with_what_it_has(bot: BotProcess) -> None:
    status, body = post_multipart(bot, "/continue part:melody", ("groove.mid", midi_file(GROOVE, 90, drums=True)),
                                  user="cont")
    assert status == 400 and "the file has no melody part" in body["error"] and "Allowed: part:drums" in \
        body["error"], body
    status, body = post_command(bot, "/continue bars:4", user="cont")
    assert status == 400 and "/continue needs a MIDI file" in body["error"], body
    status, page = get_bytes(bot.url + "/")
    assert status == 200 and b"<code>/continue bars:8  (attach a MIDI file)</code>" in page  # the chat's header
