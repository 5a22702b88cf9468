"""/groove and /drumify as a user meets them: an attached drum part or rhythm (any length) becomes a request for the
GrooVAE model, in whole bars from its first bar line; every way of getting it wrong is answered with what was
wrong and what to do; the reader a real file goes through finds drums on channel 10 and onsets in a melody."""

from __future__ import annotations

import io

import pretty_midi
import pytest

from bot.commands import CHAT_COMMANDS, CommandError, help_text, parse_command
from generation.families.music_vae.inputs import read_parts_bytes
from generation.families.music_vae.plugin import MusicVaeParams
from generation.request import GenerationRequest

HUMANIZE, DRUMIFY = "groovae_2bar_humanize", "groovae_2bar_tap_fixed_velocity"
BAR = [(36, 42), (), (42,), (), (38, 42), (), (42,), ()] * 2
BEAT = (("drums", tuple(BAR * 4)),)  # 4 bars
TUNE = (("melody", tuple([60, -2, 62, -2, 64, -2, -2, -2, 65, -1, -2, -2, 67, -2, -2, -2] * 2)),)
BAND = (("melody", tuple([72, -2, -2, -2] * 8)), ("bass", tuple([36] + [-2] * 7) * 4),
        ("drums", tuple(BAR * 2)))


def parse(text: str, files: tuple | None) -> GenerationRequest:
    request = parse_command(text, primer_from_attachment=files).request
    assert request is not None
    return request


def test_the_commands_are_declared_by_the_music_vae_plugin_for_every_front_end() -> None:
    assert {"groove", "drumify"} <= set(CHAT_COMMANDS)
    for name in ("groove", "drumify"):
        command = CHAT_COMMANDS[name]
        assert command.needs_files and command.attachment_reader.endswith("read_parts_bytes")
    assert "Magenta Studio's Groove" in help_text() and "Magenta Studio's Drumify" in help_text()
    assert "part:" in help_text("drumify") and "temperature:" in help_text("groove")


def test_a_four_bar_drum_file_is_humanised_as_four_bars() -> None:
    request = parse("/groove seed:9 outputs:2", BEAT)
    params = request.params
    assert isinstance(params, MusicVaeParams)
    assert (request.family, request.config, request.temperature, request.num_outputs) == (
        "music_vae", HUMANIZE, 0.5, 2)
    assert params.groove == tuple(BAR * 4) and request.total_steps == 64
    assert GenerationRequest.from_json(request.to_json()) == request


def test_a_drum_part_is_cut_at_its_first_bar_line_and_read_in_whole_bars() -> None:
    late = (("drums", tuple([()] * 16 + BAR + BAR[:9])),)  # an empty bar, a bar, then 9 16ths: 2 bars
    assert parse("/groove", late).params.groove == tuple(BAR + BAR[:9] + [()] * 7)
    long = (("drums", tuple(BAR * 40)),)
    assert parse("/groove", long).total_steps == 32 * 16  # at most 32 bars


def test_drumify_takes_the_onsets_of_a_melody_or_of_the_part_asked() -> None:
    request = parse("/drumify temperature:0.8", TUNE)
    assert request.config == DRUMIFY and request.temperature == 0.8
    assert request.params.taps == tuple(int(e >= 0) for e in TUNE[0][1]) and request.total_steps == 32
    every = parse("/drumify", BAND).params.taps
    assert every[:8] == (1, 0, 1, 0, 1, 0, 1, 0) and len(every) == 32  # melody, bass and drums together
    bass = parse("/drumify part:bass", BAND).params.taps
    assert bass == tuple(int(t % 8 == 0) for t in range(32))


@pytest.mark.parametrize(("text", "files", "says"), [
    ("/groove", None, "/groove needs a MIDI file: attach a MIDI file"),
    ("/drumify", None, "/drumify needs a MIDI file"),
    ("/groove 36 42", BEAT, "reads a MIDI file, not typed notes"),
    ("/groove", TUNE, "the file has no drums (no notes on MIDI channel 10 and no track that plays drum-kit keys; "
                      "it has a melody); /groove humanises a drum part. Attach drums, or use /drumify"),
    ("/groove", (("drums", tuple([()] * 16 + [(36,)] + [()] * 3)),), "needs at least half a 4/4 bar"),
    ("/drumify part:drums", TUNE, "the file has no drums part (it has a melody). Allowed: all | melody"),
    ("/drumify part:cowbell", TUNE, "Allowed: all | melody | bass | drums"),
    ("/groove temperature:2", BEAT, "Allowed: 0-1.5"),
    ("/groove outputs:9", BEAT, "Allowed: 1-4"),
    ("/groove steps:3", BEAT, "unknown option 'steps' for /groove"),
])
def test_mistakes_say_what_was_wrong_and_what_is_allowed(text: str, files: tuple | None, says: str) -> None:
    with pytest.raises(CommandError) as e:
        parse(text, files)
    assert says in str(e.value)


def _midi(tracks: list[tuple[bool, list[tuple[int, int]]]], qpm: float = 96) -> bytes:
    """(is_drum, [(pitch, 16th step)]) tracks -> MIDI bytes, each note a 16th long."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    step = 60 / qpm / 4
    for is_drum, notes in tracks:
        inst = pretty_midi.Instrument(0, is_drum=is_drum)
        inst.notes = [pretty_midi.Note(90, p, t * step, (t + 1) * step) for p, t in notes]
        midi.instruments.append(inst)
    buf = io.BytesIO()
    midi.write(buf)
    return buf.getvalue()


def test_real_files_read_by_the_attachment_reader_become_requests() -> None:
    beat = _midi([(True, [(p, t) for t, s in enumerate(BAR * 3) for p in s])])
    parts, qpm = read_parts_bytes(beat, "the attachment beat.mid", "beat.mid")
    request = parse_command("/groove", primer_from_attachment=tuple(parts.items()), primer_qpm=qpm).request
    assert request is not None and request.qpm == 96 and request.total_steps == 48
    assert request.params.groove == tuple(tuple(sorted(s)) for s in BAR * 3)
    chords = _midi([(False, [(p, t) for t in range(0, 32, 6) for p in (60, 64, 67)])])  # chords: their onsets
    parts, _ = read_parts_bytes(chords, "the attachment chords.mid", "chords.mid")
    taps = parse("/drumify", tuple(parts.items())).params.taps
    assert taps == tuple(int(t % 6 == 0) for t in range(32))
    with pytest.raises(CommandError, match="the file has no drums"):
        parse("/groove", tuple(parts.items()))
