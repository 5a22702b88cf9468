"""/groove and /drumify as a user meets them: an attached drum part or rhythm (any length) becomes a request for the
GrooVAE model, in whole bars from its first bar line; every way of getting it wrong is answered with what was
wrong and what to do; the reader a real file goes through finds drums on channel 10 and onsets in a melody."""

from __future__ import annotations

import asyncio
import io

import pretty_midi
import pytest

from bot.commands import CHAT_COMMANDS, CommandError, help_text, parse_command
from generation.families.music_vae.groove_inputs import groove_midi
from generation.families.music_vae.groove_keep import MAX_KEPT_NOTES, with_tune
from generation.families.music_vae.inputs import read_parts_bytes
from generation.families.music_vae.plugin import MusicVaeParams
from generation.music.primer_sandbox import read_primer_attachment
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
    for name, reader in (("groove", "read_parts_bytes"), ("drumify", "read_tune_bytes")):
        command = CHAT_COMMANDS[name]
        assert command.needs_files and command.attachment_reader.endswith(reader)
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


def _tune_and_chords(qpm: float = 90) -> pretty_midi.PrettyMIDI:
    """A played flute tune (off the grid, its own velocities) over held piano chords, from bar 2 on."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    bar = 240 / qpm
    flute, piano = pretty_midi.Instrument(73, name="Flute"), pretty_midi.Instrument(0, name="Piano")
    for i, pitch in enumerate([72, 74, 76, 77, 79, 77, 76, 74] * 2):
        start = bar + i * bar / 8 + (0.011 if i % 2 else 0.0)
        flute.notes.append(pretty_midi.Note(70 + i, pitch, start, start + bar / 9))
    for b in range(2):
        piano.notes += [pretty_midi.Note(60, p, bar * (b + 1), bar * (b + 2)) for p in (48, 55, 64)]
    midi.instruments += [flute, piano]
    return midi


def test_keep_on_keeps_every_note_of_the_tune_and_adds_the_drums_on_channel_10() -> None:
    """Through the real sandboxed reader and the worker's writer (GrooVAE's hits stand in for the model's)."""
    source = _tune_and_chords()
    buf = io.BytesIO()
    source.write(buf)
    primer = asyncio.run(read_primer_attachment(buf.getvalue(), "tune.mid", CHAT_COMMANDS["drumify"].attachment_reader))
    request = parse_command("/drumify keep:on seed:2", primer_from_attachment=primer.events,
                            primer_qpm=primer.qpm).request
    assert request is not None and request.qpm == 90
    params = request.params
    assert len(params.keep) == 16 + 6 and GenerationRequest.from_json(request.to_json()) == request
    plain = parse_command("/drumify seed:2", primer_from_attachment=primer.events).request
    assert plain is not None and plain.params.keep == () and plain.params.taps == params.taps

    from generation.families.music_vae.groove_encoding import Hit

    hits = [Hit(t, 36 if t % 8 == 0 else 42, 100, 0.0) for t in range(32) if params.taps[t]]
    written = with_tune(groove_midi(hits, 90, len(params.taps)), params.keep, params.taps, 90)
    kit = [i for i in written.instruments if i.is_drum]
    tune = [i for i in written.instruments if not i.is_drum]
    assert [(i.name, i.program) for i in tune] == [("Flute", 73), ("Acoustic Grand Piano", 0)]
    fine = 60 / 90 / 4 / 8  # the kept notes' grain: 1/8 of a 16th
    bar = 240 / 90  # the piece starts at the bar line before the first note, as /drumify reads every file
    for kept, original in zip(tune, source.instruments, strict=True):
        assert len(kept.notes) == len(original.notes)
        for a, b in zip(sorted(kept.notes, key=lambda n: (n.start, n.pitch)),
                        sorted(original.notes, key=lambda n: (n.start, n.pitch)), strict=True):
            assert (a.pitch, a.velocity) == (b.pitch, b.velocity)
            assert abs(a.start - (b.start - bar)) <= fine / 2 + 1e-6 and abs(a.end - (b.end - bar)) <= fine + 1e-6
    assert len(kit) == 1 and {n.pitch for n in kit[0].notes} == {36, 42}
    step = 60 / 90 / 4
    assert sorted({round(n.start / step) for n in kit[0].notes}) == [t for t in range(32) if params.taps[t]]


@pytest.mark.parametrize(("files", "says"), [
    (BEAT, "keep:on keeps the file's tune and adds drums, but it has only drums; keep:off plays the drums alone"),
    (TUNE, f"it has more than {MAX_KEPT_NOTES:,} notes in its first 32 bars"),  # (the reader left its notes out)
])
def test_keep_on_says_why_it_cannot_keep_a_file(files: tuple, says: str) -> None:
    with pytest.raises(CommandError, match=says.replace("(", r"\(").replace(")", r"\)")):
        parse("/drumify keep:on", files)
