"""The chat grammar: what users type, what runs, and what they are told when it is wrong."""

from __future__ import annotations

import pretty_midi
import pytest

from bot.commands import OPTIONS_OF, CommandError, help_text, parse_command
from generation.music.transpose import transpose_midi
from generation.request import GenerationRequest


def test_the_readme_command_builds_the_request() -> None:
    request = parse_command("/improv C G Am F primer:60").request
    assert request is not None
    assert request.params.chords == ("C", "G", "Am", "F")
    assert request.params.primer == (60,)
    assert request.params.steps_per_chord == 16 and request.total_steps == 64
    assert request.config == "chord_pitches_improv" and request.params.render_chords


def test_every_option_is_read() -> None:
    request = parse_command(
        "/improv Dm7 G7 Cmaj7 config:basic_improv bars:6 qpm:90 temperature:0.8 outputs:3 seed:42 chords:off "
        "primer:[62,-2,65]"
    ).request
    assert request is not None
    assert request.params.chords == ("Dm7", "G7", "Cmaj7", "Dm7", "G7", "Cmaj7")  # bars repeat the progression
    assert (request.config, request.qpm, request.temperature, request.num_outputs, request.seed) == (
        "basic_improv", 90.0, 0.8, 3, 42)
    assert request.params.primer == (62, -2, 65) and not request.params.render_chords


def test_on_bass_and_no_chord_spellings() -> None:
    request = parse_command("/improv C on G N.C. F").request
    assert request is not None and request.params.chords == ("C/G", "N.C.", "F")


def test_steps_per_chord_and_quoted_primer() -> None:
    request = parse_command('/improv C G steps_per_chord:8 primer:"60 -2 64"').request
    assert request is not None and request.total_steps == 16 and request.params.primer == (60, -2, 64)


@pytest.mark.parametrize(
    ("text", "token", "words"),
    [
        ("/improv C G Hm7 F", "Hm7", ["root note A-G", "Accepted"]),
        ("/improv C Gsus4 config:basic_improv", "Gsus4", ["triads", "chord_pitches_improv"]),
        ("/improv C G temperature:9", "temperature:9", ["between 0.1 and 3", "Allowed"]),
        ("/improv C G outputs:0", "outputs:0", ["1-4"]),
        ("/improv C G bars:x", "bars:x", ["integer"]),
        ("/improv C G foo:1", "foo:1", ["unknown option", "config"]),
        ("/improv C G config:jazz", "config:jazz", ["basic_improv", "chord_pitches_improv"]),
        ("/improv C primer:[60,500]", "primer:[60,500]", ["'500'", "0-127"]),
        ("/improv C7 G7 primer:30", "primer:30", ["outside", "48-83"]),
        ("/improv C G bars:4 steps_per_chord:8", "bars:", ["not both"]),
        ("/improv", "", ["no chords"]),
        ("/jazz C", "/jazz", ["unknown command", "/improv"]),
        ('/improv C "G', '"', ["quotes"]),  # the caret sits under the unclosed quote
    ],
)
def test_bad_commands_point_at_the_token(text: str, token: str, words: list[str]) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    error = caught.value
    assert error.token == token
    for word in words:
        assert word in str(error)
    if token:
        caret_line = error.pointer().splitlines()[1]
        assert caret_line.index("^") == text.index(token)


def test_primer_longer_than_the_chords_is_refused() -> None:
    with pytest.raises(CommandError, match="primer is 20 steps"):
        parse_command("/improv C steps_per_chord:16 primer:[" + ",".join(["60"] * 20) + "]")


def test_help_lists_every_command_and_each_commands_options() -> None:
    assert parse_command("/help").name == "help"
    overview = help_text()
    for name, options in OPTIONS_OF.items():
        assert f"/{name} " in overview
        assert parse_command(f"/help {name}").topic == name
        text = help_text(name)
        for option in options:
            assert f"{option.name}:" in text and option.allowed in text


def test_help_for_an_unknown_command_says_which_exist() -> None:
    with pytest.raises(CommandError, match="no command 'improve'; commands: /improv, /harmonize"):
        parse_command("/help improve")


def test_harmonize_takes_note_names_or_events_and_keeps_the_melody_on_top() -> None:
    """Twinkle typed two ways gives the same request: the melody injected from the start, whole bars long."""
    named = parse_command("/harmonize C4 - C4 - G4 - G4 - A4 - A4 - G4 - - - qpm:90").request
    events = parse_command("/harmonize [60,-2,60,-2,67,-2,67,-2,69,-2,69,-2,67,-2,-2,-2] qpm:90").request
    assert named == events and named is not None
    assert (named.family, named.config, named.params.num_steps, named.qpm) == ("polyphony", "leadsheet_harmonizer",
                                                                               16, 90.0)
    assert named.params.primer[:5] == (60, -2, 60, -2, 67)
    assert named.params.inject_primer and not named.params.condition_on_primer
    longer = parse_command("/harmonize C4 r E4 bars:2").request
    assert longer is not None and longer.params.num_steps == 32 and longer.params.primer == (60, -1, 64)


def test_chorale_from_pitches_or_a_melody() -> None:
    default = parse_command("/chorale").request
    assert default is not None and default.params.primer_pitches == (67, 64, 60) and default.params.num_steps == 128
    chord = parse_command("/chorale G4 E4 C4 bars:4 keep:off").request
    assert chord is not None and chord.params.primer_pitches == (67, 64, 60) and chord.params.num_steps == 64
    assert chord.params.condition_on_primer and not chord.params.inject_primer
    melody = parse_command("/chorale melody:C4,-,D4,-,E4").request
    assert melody is not None and melody.params.primer == (60, -2, 62, -2, 64) and melody.params.primer_pitches == ()


def test_pianoroll_reads_the_lectures_primer_and_steps_by_the_models_grid() -> None:
    piano = parse_command("/pianoroll [(55,), (55,64,), (55,64,72,)] bars:2").request
    assert piano is not None and piano.config == "rnn-nade" and piano.qpm == 60.0
    assert piano.params.primer_pianoroll == ((55,), (55, 64), (55, 64, 72)) and piano.params.num_steps == 2 * 16
    bach = parse_command("/pianoroll [(60, 64, 67)] config:rnn_nade_bach bars:2").request
    assert bach is not None and bach.config == "rnn-nade-bach" and bach.params.num_steps == 2 * 4


@pytest.mark.parametrize(("text", "token", "words"), [
    ("/harmonize C4 - H4", "H4", ["'H4' is not a note", "C4, F#5"]),
    ("/harmonize", "", ["no melody given"]),
    ("/harmonize r r", "r", ["no notes"]),
    ("/harmonize C4 primer:60", "primer:60", ["unknown option 'primer'", "bars, qpm"]),
    ("/chorale 67 64 X", "X", ["'X' is not a pitch", "G4 E4 C4"]),
    ("/chorale G4 melody:C4", "G4", ["not both"]),
    ("/chorale keep:maybe", "keep:maybe", ["on or off"]),
    ("/pianoroll [(60,), (7,)]", "[(60,),", ["pitch 7 is not a piano key", "21-108"]),
    ("/pianoroll [(60,) x]", "[(60,)", ["'x' is outside any (...) step"]),
    ("/pianoroll config:bach", "config:bach", ["rnn-nade | rnn-nade-bach"]),
    ("/chorale melody:C4,-,D4,-,E4,-,F4,-,G4,-,A4,-,B4,-,C5,-,D5 bars:1", "bars:1", ["add bars"]),
])
def test_bad_polyphonic_commands_point_at_the_token(text: str, token: str, words: list[str]) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    error = caught.value
    assert error.token == token
    for word in words:
        assert word in error.reason


def test_perform_takes_density_and_friendly_pitch_classes() -> None:
    request = parse_command('/perform density:1 notes:"C E G B" seconds:20').request
    assert request is not None and request.family == "performance"
    assert request.config == "multiconditioned_performance_with_dynamics" and request.params.num_steps == 2000
    assert request.params.notes_per_second == 1.0
    assert request.params.pitch_class_histogram == (1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1)
    blues = parse_command("/perform C4 E4 G4 histogram:[5,0,1,1,4,0,1,3,0,2,1,1]").request
    assert blues is not None and blues.params.primer_pitches == (60, 64, 67) and blues.params.num_steps == 3000
    assert blues.params.pitch_class_histogram == (5, 0, 1, 1, 4, 0, 1, 3, 0, 2, 1, 1)
    assert blues.params.notes_per_second == 0


@pytest.mark.parametrize(("text", "token", "words"), [
    ("/perform density:2 config:pitch_conditioned_performance_with_dynamics", "density:2",
     ["cannot take density", "config:density_conditioned_performance_with_dynamics"]),
    ("/perform density:100", "density:100", ["0.25-64"]),
    ("/perform histogram:[1,2]", "histogram:[1,2]", ["12 numbers >= 0"]),
    ("/perform notes:C,H", "notes:C,H", ["'H' is not a note name"]),
    ("/perform notes:C histogram:[1,0,0,0,0,0,0,0,0,0,0,0]", "histogram:[1,0,0,0,0,0,0,0,0,0,0,0]", ["not both"]),
])
def test_bad_perform_commands_point_at_the_token(text: str, token: str, words: list[str]) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    assert caught.value.token == token
    for word in words:
        assert word in caught.value.reason


def test_transpose_is_an_option_of_every_command_and_rides_on_the_request() -> None:
    assert all(options[-1].name == "transpose" for options in OPTIONS_OF.values())
    request = parse_command("/melody C4 - E4 - bars:2 transpose:+2 seed:3").request
    assert request is not None and request.transpose == 2 and request.params.primer[:1] == (60,)  # notes as typed
    assert GenerationRequest.from_json(request.to_json()).transpose == 2
    plain = parse_command("/melody C4 - E4 - bars:2 seed:3").request
    assert plain is not None and "transpose" not in plain.to_json()  # older records read and write as before
    with pytest.raises(CommandError) as bad:
        parse_command("/drums bars:1 transpose:13")
    assert bad.value.token == "transpose:13" and "between -12 and 12" in bad.value.reason
    with pytest.raises(ValueError, match="transpose=-13 is out of range"):
        GenerationRequest.from_json(request.to_json().replace('"transpose": 2', '"transpose": -13'))
    assert "transpose:" in help_text("melody")


def test_transposing_moves_pitched_notes_and_leaves_drums() -> None:
    midi = pretty_midi.PrettyMIDI()
    piano, kit = pretty_midi.Instrument(0), pretty_midi.Instrument(0, is_drum=True)
    piano.notes = [pretty_midi.Note(90, p, i * 0.5, i * 0.5 + 0.5) for i, p in enumerate([60, 64, 125, 3])]
    kit.notes = [pretty_midi.Note(90, 36, 0.0, 0.1), pretty_midi.Note(90, 42, 0.5, 0.6)]
    midi.instruments += [piano, kit]
    transpose_midi(midi, 5)
    assert [n.pitch for n in piano.notes] == [65, 69, 118, 8]  # 130 is past the MIDI range: an octave down
    assert [n.pitch for n in kit.notes] == [36, 42]
    transpose_midi(midi, -12)
    assert [n.pitch for n in piano.notes] == [53, 57, 106, 8]  # -4 would be below 0: an octave up
