"""/continue as a user meets it: an attached (or linked) MIDI file becomes a Melody RNN or Drums RNN request that
keeps the file's part and adds the bars asked, and every way of getting it wrong says what was wrong and what is
allowed. Files are read by the command's own reader in the real sandboxed child process."""

from __future__ import annotations

import asyncio
import io

import pretty_midi
import pytest

from bot.attachments import expected, share_tokens
from bot.commands import CommandError, help_text, parse_command
from generation.families.drums.plugin import DrumsParams
from generation.families.melody.plugin import MelodyParams
from generation.music.primer_sandbox import read_primer_attachment
from generation.request import GenerationRequest

BAR = (60, -2, 62, -2, 64, -2, 65, -2, 67, -2, -2, -2, 65, -2, 64, -2)
GROOVE = tuple(((36, 42), (), (42,), (), (38, 42), (), (42,), ())) * 2
TUNE = (("melody", BAR * 2),)
BEAT = (("drums", GROOVE),)
BAND = (("melody", BAR), ("drums", GROOVE))


def parse(text: str, files: tuple | None) -> GenerationRequest:
    request = parse_command(text, primer_from_attachment=files).request
    assert request is not None
    return request


def test_a_melody_is_continued_by_attention_rnn_four_bars_by_default() -> None:
    request = parse("/continue seed:9", TUNE)
    assert (request.family, request.config, request.seed) == ("melody", "attention_rnn", 9)
    assert request.params == MelodyParams(num_steps=(2 + 4) * 16, primer=BAR * 2)
    assert GenerationRequest.from_json(request.to_json()) == request
    eight = parse("/continue bars:8 config:lookback_rnn temperature:0.8 outputs:3", TUNE)
    assert (eight.config, eight.temperature, eight.num_outputs) == ("lookback_rnn", 0.8, 3)
    assert eight.params.num_steps == (2 + 8) * 16


def test_a_melody_ending_inside_a_bar_is_continued_from_the_next_bar_line_its_last_note_as_written() -> None:
    short = BAR[:10]  # ... 67 held for two steps, then the file ends
    request = parse("/continue bars:1", (("melody", short),))
    assert request.params.primer == short + (-1,) + (-2,) * 5  # 67 ends where it did, silence to the bar line
    assert request.params.num_steps == 32


def test_a_drum_file_goes_to_the_drums_rnn_with_its_hits_as_given() -> None:
    request = parse("/continue bars:2 seed:1", BEAT)
    assert (request.family, request.config) == ("drums", "drum_kit")
    assert request.params == DrumsParams(num_steps=(1 + 2) * 16, primer=GROOVE, style="")
    assert GenerationRequest.from_json(request.to_json()) == request
    odd = parse("/continue", (("drums", GROOVE[:12]),))  # three beats: silent steps to the bar line
    assert odd.params.primer == GROOVE[:12] + ((),) * 4


@pytest.mark.parametrize(("text", "family", "config"), [
    ("/continue", "melody", "attention_rnn"),  # the melody first, as Studio's Continue
    ("/continue part:drums", "drums", "drum_kit"),
    ("/continue config:drum_kit", "drums", "drum_kit"),  # the model says which part
    ("/continue style:funk", "drums", "drum_kit_style"),
    ("/continue part:melody config:mono_rnn", "melody", "mono_rnn"),
])
def test_a_file_with_both_parts_continues_the_one_asked(text: str, family: str, config: str) -> None:
    request = parse(text, BAND)
    assert (request.family, request.config) == (family, config)
    assert len(request.params.primer) == 16 and request.params.num_steps == 16 + 64


WHERE = "attach a MIDI file"


@pytest.mark.parametrize(("text", "files", "says"), [
    ("/continue", None, f"/continue needs a MIDI file to continue: {WHERE}"),
    ("/continue C4 - E4", TUNE, "reads a MIDI file, not typed notes"),
    ("/continue part:drums", TUNE, "the file has no drums part (no notes on MIDI channel 10 and no track that plays "
                                   "drum-kit keys; it has a melody)"),
    ("/continue part:melody", BEAT, "the file has no melody part (only drums; it has drums)"),
    ("/continue config:attention_rnn", BEAT, "Allowed: part:drums"),
    ("/continue part:melody config:drum_kit", BAND, "config:drum_kit plays drums, and part:melody asks for the "
                                                    "melody; the melody takes config:basic_rnn | mono_rnn"),
    ("/continue part:melody style:rock", BAND, "style:rock plays drums"),
    ("/continue config:drum_kit style:rock", BEAT, "drum_kit cannot take a style; use config:drum_kit_style"),
    ("/continue config:drum_kit_style", BEAT, "drum_kit_style plays in a style: add style:rock|latin"),
    ("/continue", (("melody", (60,) + (-2,) * 15),), "the file's melody has 1 note; /continue needs at least 2 "
                                                     "notes to continue from"),
    ("/continue", (("drums", ((36,),) + ((),) * 15),), "the file's drums has 1 drum hit; /continue needs at least "
                                                       "2 drum hits"),
    ("/continue bars:0", TUNE, "Allowed: 1-32"),
    ("/continue bars:33", TUNE, "Allowed: 1-32"),
    ("/continue part:bass", TUNE, "Allowed: melody | drums"),
    ("/continue config:polka", TUNE, "Allowed: basic_rnn | mono_rnn | lookback_rnn | attention_rnn | drum_kit | "
                                     "drum_kit_style"),
    ("/continue qpm:90", TUNE, "unknown option 'qpm' for /continue"),  # the file's tempo is kept
])
def test_mistakes_say_what_was_wrong_and_what_is_allowed(text: str, files: tuple | None, says: str) -> None:
    with pytest.raises(CommandError) as e:
        parse(text, files)
    assert says in str(e.value)


def test_help_and_share_links() -> None:
    assert "/continue [option:value ...]" in help_text()
    options = help_text("continue")
    assert all(f"    {name}:" in options for name in ("bars", "part", "config", "style", "temperature", "outputs",
                                                      "seed"))
    words, tokens = share_tokens("/continue https://bot.example/s/AbCdEfGhIjKlMnOpQr12 bars:2")
    assert tokens == ["AbCdEfGhIjKlMnOpQr12"] and words == "/continue bars:2"
    assert expected("/continue bars:2")[2] == 1  # one file, attached or linked


def _midi(tracks: list[tuple[int, bool, list[tuple[int, int, int]]]], qpm: float = 120) -> bytes:
    """(program, is_drum, [(pitch, start step, end step)]) per track -> MIDI bytes."""
    step_s = 60 / qpm / 4
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    for program, drum, notes in tracks:
        inst = pretty_midi.Instrument(program, is_drum=drum)
        inst.notes = [pretty_midi.Note(100, p, s * step_s, e * step_s) for p, s, e in notes]
        midi.instruments.append(inst)
    buf = io.BytesIO()
    midi.write(buf)
    return buf.getvalue()


ROCK = [(p, s, s + 1) for s in range(0, 32, 2) for p in ([36] if s % 8 == 0 else [38] if s % 8 == 4 else []) + [42]]
TUNE_NOTES = [(p, 2 * i, 2 * i + 2) for i, p in enumerate([60, 62, 64, 65, 67, 65, 64, 62] * 2)]


def _read(data: bytes) -> tuple:
    reader = expected("/continue")[1]
    primer = asyncio.run(read_primer_attachment(data, "file.mid", reader))
    return primer.events


def test_files_read_by_the_sandboxed_reader_find_the_melody_and_the_drums() -> None:
    """A band file (piano, bass, drums on channel 10): the melody is continued, or its drums with part:drums; a
    drum track written on channel 1 is still drums (its keys and short hits), as the issue asks."""
    bass = [(36, s, s + 4) for s in range(0, 32, 4)]
    band = _read(_midi([(0, False, TUNE_NOTES), (33, False, bass), (0, True, ROCK)], qpm=96))
    melody = parse("/continue", band)
    assert melody.family == "melody" and [e for e in melody.params.primer if e >= 0] == [n[0] for n in TUNE_NOTES]
    drums = parse("/continue part:drums", band)
    assert drums.family == "drums"
    assert {(s, p) for s, step in enumerate(drums.params.primer) for p in step} == {(s, p) for p, s, _ in ROCK}
    misplaced = _read(_midi([(0, False, ROCK)]))  # drums on channel 1
    assert parse("/continue", misplaced).family == "drums"


def test_the_files_tempo_is_the_pieces() -> None:
    data = _midi([(0, False, TUNE_NOTES)], qpm=96)
    primer = asyncio.run(read_primer_attachment(data, "tune.mid", expected("/continue")[1]))
    request = parse_command("/continue", primer_from_attachment=primer.events, primer_qpm=primer.qpm).request
    assert request is not None and request.qpm == 96
