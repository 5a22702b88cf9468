"""The chat grammar: what users type, what runs, and what they are told when it is wrong."""

from __future__ import annotations

import pytest

from bot.commands import OPTIONS, CommandError, help_text, parse_command


def test_the_readme_command_builds_the_request() -> None:
    request = parse_command("/improv C G Am F primer:60").request
    assert request is not None
    assert request.chords == ("C", "G", "Am", "F")
    assert request.primer == (60,)
    assert request.steps_per_chord == 16 and request.total_steps == 64
    assert request.config == "chord_pitches_improv" and request.render_chords


def test_every_option_is_read() -> None:
    request = parse_command(
        "/improv Dm7 G7 Cmaj7 config:basic_improv bars:6 qpm:90 temperature:0.8 outputs:3 seed:42 chords:off "
        "primer:[62,-2,65]"
    ).request
    assert request is not None
    assert request.chords == ("Dm7", "G7", "Cmaj7", "Dm7", "G7", "Cmaj7")  # bars repeat the progression
    assert (request.config, request.qpm, request.temperature, request.num_outputs, request.seed) == (
        "basic_improv", 90.0, 0.8, 3, 42)
    assert request.primer == (62, -2, 65) and not request.render_chords


def test_on_bass_and_no_chord_spellings() -> None:
    request = parse_command("/improv C on G N.C. F").request
    assert request is not None and request.chords == ("C/G", "N.C.", "F")


def test_steps_per_chord_and_quoted_primer() -> None:
    request = parse_command('/improv C G steps_per_chord:8 primer:"60 -2 64"').request
    assert request is not None and request.total_steps == 16 and request.primer == (60, -2, 64)


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
        ('/improv C "G', "", ["quotes"]),
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


def test_help_lists_every_option_of_the_parser() -> None:
    assert parse_command("/help").name == "help"
    text = help_text()
    for option in OPTIONS:
        assert f"{option.name}:" in text and option.allowed in text
