"""/harmonize, /chorale, /pianoroll and /perform through the HTTP API of a real `python -m bot`, its workers
and models: what comes back is read as MIDI and checked the way a musician would listen for it.
"""

from __future__ import annotations

import io
from typing import Any

import pretty_midi
import pytest
from botproc import BotProcess, midi_bytes, output_midis, post_command, post_multipart, run_to_end

TWINKLE = "C4 - C4 - G4 - G4 - A4 - A4 - G4 - - - F4 - F4 - E4 - E4 - D4 - D4 - C4 - - -"
TWINKLE_NOTES = [(60, 0, 2), (60, 2, 4), (67, 4, 6), (67, 6, 8), (69, 8, 10), (69, 10, 12), (67, 12, 16),
                 (65, 16, 18), (65, 18, 20), (64, 20, 22), (64, 22, 24), (62, 24, 26), (62, 26, 28), (60, 28, 32)]
STEP_S = 0.125  # a 16th note at 120 qpm


@pytest.fixture
def bot(models_bot: BotProcess) -> BotProcess:
    return models_bot  # the session's shared bot (conftest.py)


Files = tuple[str, bytes] | list[tuple[str, bytes]] | None  # one attachment or several


def run(bot: BotProcess, text: str, attachment: Files = None) -> tuple[dict[str, Any], list]:
    """Submit, wait for the end, and return the final view and each output's MIDI."""
    final = run_to_end(bot, text, attachment, user="poly", timeout=120)
    return final, [pretty_midi.PrettyMIDI(io.BytesIO(data)) for data in output_midis(final)]


def track(midi: pretty_midi.PrettyMIDI, name: str) -> list[pretty_midi.Note]:
    found = [i for i in midi.instruments if i.name == name]
    assert found, f"no {name} track in {[i.name for i in midi.instruments]}"
    return sorted(found[0].notes, key=lambda n: (n.start, n.pitch))


def most_voices(notes: list[pretty_midi.Note], step_s: float, steps: int) -> int:
    return max(sum(n.start <= (t + 0.5) * step_s < n.end for n in notes) for t in range(steps))


def test_harmonize_keeps_the_typed_melody_on_top_and_adds_voices(bot: BotProcess) -> None:
    final, midis = run(bot, f"/harmonize {TWINKLE} outputs:2 seed:5")
    assert final["model"] == "leadsheet_harmonizer" and len(midis) == 2
    for midi in midis:
        melody = [(n.pitch, round(n.start / STEP_S), round(n.end / STEP_S)) for n in track(midi, "Melody")]
        assert melody == TWINKLE_NOTES  # note for note
        harmony = track(midi, "Harmony")
        assert harmony, "nothing was added under the melody"
        for h in harmony:  # no added note sounds above the melody note sounding at the same time
            for m in track(midi, "Melody"):
                if m.start < h.end and h.start < m.end:
                    assert h.pitch < m.pitch, (h, m)
        assert most_voices(harmony + track(midi, "Melody"), STEP_S, 32) >= 3
        assert midi.get_end_time() == pytest.approx(32 * STEP_S, abs=1e-3)


def test_harmonize_an_attached_midi_melody(bot: BotProcess) -> None:
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(100, p, s * STEP_S, e * STEP_S) for p, s, e in TWINKLE_NOTES[:7]]
    midi.instruments.append(inst)
    buf = io.BytesIO()
    midi.write(buf)
    _, (out,) = run(bot, "/harmonize seed:3", ("twinkle.mid", buf.getvalue()))
    melody = [(n.pitch, round(n.start / STEP_S), round(n.end / STEP_S)) for n in track(out, "Melody")]
    assert melody == TWINKLE_NOTES[:7]
    assert out.get_end_time() == pytest.approx(16 * STEP_S, abs=1e-3)  # rounded up to one whole bar


def test_chorale_grows_from_the_c_major_chord(bot: BotProcess) -> None:
    _, (midi,) = run(bot, "/chorale G4 E4 C4 bars:2 seed:11")
    notes = track(midi, "Chorale")
    assert {n.pitch for n in notes if n.start == 0} >= {67, 64, 60}
    assert midi.get_end_time() == pytest.approx(32 * STEP_S, abs=1e-3)
    assert any(n.start >= 4 * STEP_S for n in notes), "nothing was generated after the primer"
    assert most_voices(notes, STEP_S, 32) >= 3


@pytest.mark.parametrize(("config", "step_s", "steps"), [("rnn-nade", 0.25, 32), ("rnn-nade-bach", 1.0, 8)])
def test_pianoroll_starts_with_the_primer_frames(bot: BotProcess, config: str, step_s: float, steps: int) -> None:
    """Two bars at qpm 60: 32 16th-note steps for the piano model, 8 quarter-note steps for the Bach model."""
    final, (midi,) = run(bot, f"/pianoroll [(55,), (55,64,), (55,64,72,)] config:{config} bars:2 seed:2")
    assert final["model"] == config
    notes = track(midi, "Piano")
    sounding = [{n.pitch for n in notes if n.start <= (t + 0.5) * step_s < n.end} for t in range(steps)]
    assert sounding[:3] == [{55}, {55, 64}, {55, 64, 72}]
    assert midi.get_end_time() == pytest.approx(steps * step_s, abs=1e-3)
    assert any(n.start >= 3 * step_s for n in notes), "nothing was generated after the primer"


def test_a_bad_pianoroll_primer_is_400_pointing_at_it(bot: BotProcess) -> None:
    status, body = post_command(bot, "/pianoroll [(60,), (130,)]", user="poly")
    assert status == 400 and "'130' is not a MIDI pitch" in body["error"], body


def test_perform_favours_the_asked_pitch_classes_at_the_asked_density(bot: BotProcess) -> None:
    final, (midi,) = run(bot, '/perform density:4 notes:"C E G B" seconds:10 seed:8')
    assert final["model"] == "multiconditioned_performance_with_dynamics"
    notes = [n for i in midi.instruments for n in i.notes]
    assert midi.get_end_time() == pytest.approx(10.0, abs=0.02)
    assert 2.0 <= len(notes) / 10.0 <= 8.0, len(notes)  # about 4 notes per second, not 1 and not 16
    asked = sum(n.pitch % 12 in (0, 4, 7, 11) for n in notes) / len(notes)
    assert asked >= 0.7, asked  # mostly C, E, G and B (a uniform choice would give 0.33)
    assert len({n.velocity for n in notes}) > 1  # dynamics: not every note at one velocity


def test_melody_continues_the_typed_melody_as_one_line(bot: BotProcess) -> None:
    """/melody through the bot with the shipped lookback_rnn: the typed opening kept, one note at a time,
    four bars long, same seed -> same MIDI."""
    final, midis = run(bot, "/melody C4 - C4 - G4 - G4 - bars:4 outputs:2 seed:11")
    assert final["model"] == "lookback_rnn" and len(midis) == 2
    for midi in midis:
        notes = sorted((round(n.start / STEP_S), round(n.end / STEP_S), n.pitch)
                       for i in midi.instruments for n in i.notes)
        assert [(p, s) for s, _, p in notes[:4]] == [(60, 0), (60, 2), (67, 4), (67, 6)]  # the model may hold on
        assert all(a[1] <= b[0] for a, b in zip(notes, notes[1:], strict=False)), "two notes at once"
        assert notes[-1][1] <= 64 and len(notes) > 4
    _, again = run(bot, "/melody C4 - C4 - G4 - G4 - bars:4 outputs:2 seed:11")
    assert [[(n.start, n.pitch) for n in m.instruments[0].notes] for m in again] == \
        [[(n.start, n.pitch) for n in m.instruments[0].notes] for m in midis]


FUNK_BAR = {0: (36, 42), 2: (42,), 4: (38, 42), 6: (42,), 7: (36,), 8: (36, 42), 10: (42,), 12: (38, 42), 14: (42,)}


def test_drums_continue_an_attached_groove_at_its_tempo_on_channel_10(bot: BotProcess) -> None:
    """/drums style:funk with a one-bar groove attached (100 qpm): the groove is kept note for note, four more
    bars follow (the default when a primer is attached), all at the file's tempo on the GM drum channel."""
    step_s = 60 / 100 / 4
    midi = pretty_midi.PrettyMIDI(initial_tempo=100)
    kit = pretty_midi.Instrument(0, is_drum=True)
    kit.notes = [pretty_midi.Note(100, p, s * step_s, (s + 1) * step_s) for s, ps in FUNK_BAR.items() for p in ps]
    midi.instruments.append(kit)
    buf = io.BytesIO()
    midi.write(buf)
    final, (out,) = run(bot, "/drums style:funk seed:3", ("groove.mid", buf.getvalue()))
    assert final["model"] == "drum_kit_style"
    assert all(i.is_drum for i in out.instruments) and out.instruments
    hits = {(round(n.start / step_s), n.pitch) for i in out.instruments for n in i.notes}
    assert {h for h in hits if h[0] < 16} == {(s, p) for s, ps in FUNK_BAR.items() for p in ps}
    assert out.get_end_time() == pytest.approx(5 * 16 * step_s, abs=1e-3)
    assert len({h for h in hits if h[0] >= 16}) > 16  # the model plays on: four bars, not silence
    status, body = post_multipart(bot, "/pianoroll seed:3", ("groove.mid", buf.getvalue()), user="poly")
    assert status == 400 and "takes no attached file" in str(body), body


def _onsets(notes: list[pretty_midi.Note], first_step: int, step_s: float) -> set[tuple[int, int]]:
    """(step within the 2-bar stretch, pitch) of the notes starting in the 32 steps from first_step."""
    return {(round(n.start / step_s) - first_step, n.pitch) for n in notes
            if first_step <= round(n.start / step_s) < first_step + 32}


def _like(got: set[tuple[int, int]], want: set[tuple[int, int]]) -> float:
    return len(got & want) / max(len(got), len(want), 1)


RISING = [(p, 2 * i, 2 * i + 2) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72] * 2)]  # eighths up, twice
FALLING = [(p, 4 * i, 4 * i + 4) for i, p in enumerate([79, 76, 72, 67, 79, 76, 72, 67])]  # quarters down


def test_interpolate_walks_from_the_first_file_to_the_second(bot: BotProcess) -> None:
    """Two 2-bar melodies attached: one piece of steps x 2 bars, one melody line, that starts nearer the first
    file and ends nearer the second; then the same from the two results' share links."""
    files = [("rising.mid", midi_bytes(RISING)), ("falling.mid", midi_bytes(FALLING))]
    final, (out,) = run(bot, "/interpolate steps:4 seed:5", files)
    assert final["model"] == "cat-mel_2bar"
    notes = sorted((n for i in out.instruments for n in i.notes), key=lambda n: n.start)
    assert notes and not any(i.is_drum for i in out.instruments)
    assert out.get_end_time() <= 4 * 32 * STEP_S + 1e-3 and notes[-1].start >= 3 * 32 * STEP_S
    assert all(a.end <= b.start + 1e-6 for a, b in zip(notes, notes[1:], strict=False))  # one line
    rising = {(s, p) for p, s, _ in RISING}
    falling = {(s, p) for p, s, _ in FALLING}
    first, last = _onsets(notes, 0, STEP_S), _onsets(notes, 96, STEP_S)
    assert _like(first, rising) > _like(first, falling) and _like(last, falling) > _like(last, rising)

    # Slack's way (and anyone's): the share links of two earlier results stand for the files
    link = final["share_url"]
    again, (path,) = run(bot, f"/interpolate {link} {link} steps:2 seed:1")
    assert again["status"] == "done" and path.get_end_time() <= 2 * 32 * STEP_S + 1e-3


def test_interpolate_between_two_grooves_plays_drums_on_channel_10(bot: BotProcess) -> None:
    rock = [(p, s, s + 1) for s in range(0, 32, 2) for p in ([36] if s % 8 == 0 else [38] if s % 8 == 4 else [])
            + [42]]
    sparse = [(36, s, s + 1) for s in range(0, 32, 8)] + [(51, s, s + 1) for s in range(0, 32, 4)]
    final, (out,) = run(bot, "/interpolate steps:3 seed:2",
                        [("rock.mid", midi_bytes(rock, drums=True)), ("ride.mid", midi_bytes(sparse, drums=True))])
    assert final["model"] == "cat-drums_2bar"
    assert out.instruments and all(i.is_drum for i in out.instruments)


@pytest.mark.parametrize(("files", "says"), [
    (1, "needs two MIDI files and got 1"),
    (3, "more than 2"),
])
def test_interpolate_with_the_wrong_number_of_files_says_so(bot: BotProcess, files: int, says: str) -> None:
    status, body = post_multipart(bot, "/interpolate", [(f"f{i}.mid", midi_bytes(RISING)) for i in range(files)],
                                  user="poly")
    assert status == 400 and says in str(body), body
