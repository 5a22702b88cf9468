"""/arrange as a musician hears it: the shipped models (lead-sheet harmoniser, GrooVAE drumify, the style pulses)
arrange a melody for each band, in process; then end to end through the shared real bot, a melody result's
Arrange and Add drums buttons (HTTP API) make multi-track results whose melody is the result's, note for note."""

from __future__ import annotations

import io
import json
from typing import Any

import mido
import pretty_midi
import pytest
from botproc import BotProcess, get_json, output_midis, request, run_to_end, wait_for_job

from bot.commands import CommandError, help_text, parse_command
from generation.families.arrange.arranger import Arranger
from generation.families.arrange.styles import STYLES
from generation.families.registry import family

# Eight bars that move between tonic, subdominant and dominant, one word per 16th note.
TUNE = ("C4 - E4 - G4 - E4 - C4 - - - r - - - F4 - A4 - C5 - A4 - F4 - - - r - - - "
        "G4 - B4 - D5 - B4 - G4 - - - r - - - C5 - - - G4 - - - C4 - - - - - - - ") * 2
STEP_S = 0.125  # a 16th at 120 qpm
DRUM_CHANNEL = 9  # channel 10, counted from 0 as MIDI files do


@pytest.fixture(scope="module")
def arranger() -> Arranger:
    return Arranger.load()


def arrange(arranger: Arranger, options: str) -> pretty_midi.PrettyMIDI:
    request = parse_command(f"/arrange {TUNE} {options}").request
    assert request is not None and request.family == "arrange"
    (midi,) = family("arrange").make(arranger, request).midis
    buf = io.BytesIO()
    midi.write(buf)  # as the worker writes it: the channels are assigned on writing
    return pretty_midi.PrettyMIDI(io.BytesIO(buf.getvalue()))


def typed_notes() -> list[tuple[int, float, float]]:
    request = parse_command(f"/arrange {TUNE}").request
    assert request is not None
    events = request.params.melody
    notes, start = [], None
    for t, e in enumerate([*events, -1]):
        if e != -2 and start is not None:
            notes.append((start[0], start[1] * STEP_S, t * STEP_S))
            start = None
        if e >= 0:
            start = (e, t)
    return notes


def part(midi: pretty_midi.PrettyMIDI, name: str) -> pretty_midi.Instrument:
    found = [i for i in midi.instruments if i.name == name]
    assert len(found) == 1, [i.name for i in midi.instruments]
    return found[0]


def channels(midi: pretty_midi.PrettyMIDI) -> dict[int, int]:
    """The written file's program per channel."""
    buf = io.BytesIO()
    midi.write(buf)
    buf.seek(0)
    return {m.channel: m.program for t in mido.MidiFile(file=buf).tracks for m in t if m.type == "program_change"}


@pytest.mark.parametrize("style", list(STYLES))
def test_each_band_keeps_the_melody_and_plays_its_programs(arranger: Arranger, style: str) -> None:
    midi = arrange(arranger, f"style:{style} seed:3")
    band = STYLES[style]
    melody = sorted((n.pitch, round(n.start, 4), round(n.end, 4)) for n in part(midi, "Melody").notes)
    assert melody == sorted((p, round(s, 4), round(e, 4)) for p, s, e in typed_notes()), "the melody, note for note"
    assert all(n.velocity == 100 for n in part(midi, "Melody").notes)
    programs = {name: part(midi, name).program for name in ("Melody", "Chords", "Bass")}
    assert programs == {"Melody": band.melody, "Chords": band.chords, "Bass": band.bass}
    chords, bass = part(midi, "Chords").notes, part(midi, "Bass").notes
    assert len(chords) >= 16 and len(bass) >= 8
    for n in bass:  # the bass under the chords, the chords under the melody
        assert all(n.pitch < c.pitch for c in chords if c.start <= n.start < c.end), n
    for c in chords:
        assert all(c.pitch < m.pitch for m in part(midi, "Melody").notes if m.start <= c.start < m.end), c
    assert len({lyric.text for lyric in midi.lyrics}) >= 2, "the chords change, and are named"
    assert midi.get_end_time() == pytest.approx(128 * STEP_S, abs=0.06)
    kits = [i for i in midi.instruments if i.is_drum]
    if not band.drums:
        assert not kits and DRUM_CHANNEL not in channels(midi)
        return
    (kit,) = kits
    assert kit.program == band.kit and channels(midi)[DRUM_CHANNEL] == band.kit
    bars_with_drums = {int(n.start // (16 * STEP_S)) for n in kit.notes}
    assert bars_with_drums == set(range(8)), "the drummer plays every bar"


def test_styles_differ_as_a_band_would(arranger: Arranger) -> None:
    rock, jazz, pop = (arrange(arranger, f"style:{s} seed:5") for s in ("rock", "jazz", "pop"))
    eighths = [n for n in part(rock, "Bass").notes if round((n.end - n.start) / STEP_S) == 2]
    assert len(eighths) >= 0.8 * len(part(rock, "Bass").notes), "a rock bass strikes every 8th"
    ride = {n.pitch for i in jazz.instruments if i.is_drum for n in i.notes}
    assert 51 in ride and 42 not in ride, "the jazz drummer keeps time on the ride (Groove's jazz drummers do)"
    assert 42 in {n.pitch for i in pop.instruments if i.is_drum for n in i.notes}
    assert all(round((n.end - n.start) / STEP_S) <= 4 for n in part(jazz, "Bass").notes), "a walking bass: beats"


def test_drums_on_and_off_and_the_same_seed(arranger: Arranger) -> None:
    strings = arrange(arranger, "style:classical drums:on seed:2")
    (kit,) = [i for i in strings.instruments if i.is_drum]
    assert kit.program == STYLES["classical"].kit
    assert not [i for i in arrange(arranger, "style:rock drums:off seed:2").instruments if i.is_drum]
    once, again = arrange(arranger, "style:rock seed:9"), arrange(arranger, "style:rock seed:9")
    assert [(n.pitch, n.start) for i in once.instruments for n in i.notes] == \
        [(n.pitch, n.start) for i in again.instruments for n in i.notes]


@pytest.mark.parametrize(("text", "says"), [
    ("/arrange", "no melody given: type one"),
    ("/arrange C4 - - - style:metal", "Allowed: rock | pop | jazz | classical"),
    ("/arrange r r r r", "the melody has no notes to arrange"),
    ("/arrange C4 - - - bars:65", "Allowed: 1-64"),
    ("/arrange C9 - - -", "pitch"),
])
def test_mistakes_say_what_is_allowed(text: str, says: str) -> None:
    with pytest.raises(CommandError, match=says):
        parse_command(text)


def test_help_comes_from_the_option_table() -> None:
    assert "/arrange MELODY" in help_text()
    text = help_text("arrange")
    assert "style:" in text and "drums:" in text and "jazz: tenor sax" in text and "transpose:" in text


# --- end to end: the buttons under a melody result, through the shared bot ------------------------------------------
@pytest.fixture(scope="module")
def melody(models_bot: BotProcess) -> dict[str, Any]:
    return run_to_end(models_bot, "/melody C4 - E4 - G4 - C5 - bars:4 seed:6", user="arranger")


def press(bot: BotProcess, job: dict[str, Any], action: str) -> dict[str, Any]:
    status, body, _ = request("POST", f"{bot.url}/api/jobs/{job['job_id']}/actions/{action}",
                              json.dumps({"user": "arranger"}).encode(), {"Content-Type": "application/json"})
    assert status == 202, body
    return dict(json.loads(body))


def notes_of(midi: pretty_midi.PrettyMIDI, pitched: bool = True) -> list[tuple[int, float, float]]:
    return sorted((n.pitch, round(n.start, 3), round(n.end, 3)) for i in midi.instruments if i.is_drum != pitched
                  for n in i.notes)


def test_arrange_and_add_drums_under_a_melody_result(models_bot: BotProcess, melody: dict[str, Any]) -> None:
    status, view = get_json(f"{models_bot.url}/api/jobs/{melody['job_id']}")
    assert status == 200 and [a["label"] for a in view["actions"]][-2:] == ["Add drums", "Arrange"], view["actions"]
    (source_bytes,) = output_midis(melody)
    source = notes_of(pretty_midi.PrettyMIDI(io.BytesIO(source_bytes)))

    arranged = wait_for_job(models_bot, press(models_bot, melody, "arrange")["job_id"], timeout=180)
    assert arranged["status"] == "done", arranged
    assert arranged["command"].startswith("/arrange http") and arranged["model"] == "arrange"
    (data,) = output_midis(arranged)  # audio and piano roll served too
    midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    assert sorted((n.pitch, round(n.start, 3), round(n.end, 3)) for n in part(midi, "Melody").notes) == source
    pop = STYLES["pop"]
    assert {i.name: i.program for i in midi.instruments} == {"Melody": pop.melody, "Chords": pop.chords,
                                                             "Bass": pop.bass, "Drums": pop.kit}
    assert channels(midi)[DRUM_CHANNEL] == pop.kit
    assert "drums" not in [a["action"] for a in arranged["actions"]], "an arrangement has its drums already"

    drummed = wait_for_job(models_bot, press(models_bot, melody, "drums")["job_id"], timeout=180)
    assert drummed["status"] == "done" and drummed["command"].startswith("/drumify keep:on http"), drummed
    (data,) = output_midis(drummed)
    midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    assert notes_of(midi) == source, "the melody kept note for note"
    drums = notes_of(midi, pitched=False)
    assert drums and DRUM_CHANNEL in channels(midi)
    onsets = {round(s / STEP_S) for _, s, _ in source}
    assert {round(s / STEP_S) for _, s, _ in drums} <= onsets | {o + 1 for o in onsets} | {o - 1 for o in onsets}, \
        "drums on the melody's onsets (a drummer's timing moves a hit less than a 16th)"
