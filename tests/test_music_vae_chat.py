"""/interpolate as a user meets it: two files (attached or linked) become a request, and every way of getting
it wrong is answered with what was wrong and what to do."""

from __future__ import annotations

import pytest

from bot.attachments import share_tokens
from bot.commands import CommandError, help_text, parse_command
from generation.families.music_vae.plugin import MusicVaeParams
from generation.request import GenerationRequest

BAR = [60, -2, 62, -2, 64, -2, 65, -2, 67, -2, -2, -2, 65, -2, 64, -2]
GROOVE = [[36, 42], [], [42], [], [38, 42], [], [42], []] * 2
TUNE = (("melody", tuple(BAR * 2)),)
BEAT = (("drums", tuple(tuple(s) for s in GROOVE)),)
BAND = (("melody", tuple(BAR)), ("drums", tuple(tuple(s) for s in GROOVE)))


def parse(text: str, files: tuple | None) -> GenerationRequest:
    request = parse_command(text, primer_from_attachment=files).request
    assert request is not None
    return request


def test_two_melodies_make_a_melody_path_at_magentas_temperature() -> None:
    request = parse("/interpolate steps:7", (TUNE, TUNE))
    params = request.params
    assert isinstance(params, MusicVaeParams)
    assert (request.family, request.config, request.temperature) == ("music_vae", "cat-mel_2bar", 0.5)
    assert params.steps == 7 and params.total_steps == 7 * 32 and len(params.melodies) == 2 and not params.drums
    assert GenerationRequest.from_json(request.to_json()) == request


def test_two_drum_files_choose_the_drum_model_and_magentas_spelling_is_accepted() -> None:
    assert parse("/interpolate", (BEAT, BAND)).config == "cat-drums_2bar"
    assert parse("/interpolate config:cat-drums_2bar_small", (BAND, BEAT)).params.drums[0] == tuple(
        tuple(s) for s in GROOVE)


@pytest.mark.parametrize(("text", "files", "says"), [
    ("/interpolate", None, "needs two MIDI files and got 0"),
    ("/interpolate", (TUNE,), "needs two MIDI files and got 1"),
    ("/interpolate 60 62 64", (TUNE, TUNE), "not typed notes"),
    ("/interpolate config:cat-mel_2bar", (TUNE, BEAT), "the second file has no melody part"),
    ("/interpolate config:cat-drums_2bar", (TUNE, BEAT), "the first file has no drums part"),
    ("/interpolate", (TUNE, (("melody", tuple([-2] * 16 + BAR[:6])),)), "needs at least one 4/4 bar"),
    ("/interpolate steps:40", (TUNE, TUNE), "Allowed: 2-11"),
    ("/interpolate config:cat-mel_4bar", (TUNE, TUNE), "unknown MusicVAE config"),
])
def test_mistakes_say_what_was_wrong_and_what_is_allowed(text: str, files: tuple | None, says: str) -> None:
    with pytest.raises(CommandError) as e:
        parse(text, files)
    assert says in str(e.value)


def test_share_links_stand_for_files_and_leave_the_options() -> None:
    words, tokens = share_tokens("/interpolate https://bot.example/s/AbCdEfGhIjKlMnOpQr12 /s/ZyXwVuTsRqPoNmLk_-34 "
                                 "steps:3")
    assert tokens == ["AbCdEfGhIjKlMnOpQr12", "ZyXwVuTsRqPoNmLk_-34"] and words == "/interpolate steps:3"


def test_help_explains_how_to_give_the_two_files() -> None:
    text = help_text("interpolate")
    assert "two MIDI files" in text and "share links" in text and "steps:" in text
