"""Improv RNN note-density steering: melodies as busy as asked (or as human lead sheets over such chords), the
downbeats kept when thinning, and Magenta's own draw still one flag away (--no_steering)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from bot.commands import CommandError, parse_command
from generation.cli.improv_rnn_generate import main
from generation.engine.sampling import SearchSettings
from generation.families.improv.encoding import classes_to_events, encode_chords, event_to_class
from generation.families.improv.generator import ImprovGenerator
from generation.families.improv.steering import (
    FOLK_NOTES_PER_BAR,
    SONGBOOK_NOTES_PER_BAR,
    is_songbook,
    output_targets,
)
from generation.music.chords import parse_progression

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "magenta"
FOLK = "C G Am F C G Am F"
SONGBOOK = "Dm7 G7 Cmaj7 Cmaj7 Dm7 G7 Cmaj7 A7"


@pytest.fixture(scope="module")
def generator() -> ImprovGenerator:
    return ImprovGenerator.load("chord_pitches_improv")


def notes_per_bar(melodies: list[list[int]]) -> np.ndarray:
    """Onsets per 16-step bar of each melody, the primer's first note left out."""
    arr = np.array(melodies)[:, 1:]
    return (arr >= 0).sum(axis=1) / (arr.shape[1] + 1) * 16


def test_requested_density_is_played(generator: ImprovGenerator) -> None:
    """notes_per_bar 2 gives sparse melodies, 7 busy ones, each within 25 % on average."""
    chords = parse_progression(FOLK)
    for target in (2.0, 7.0):
        made = notes_per_bar(generator.generate(chords, 16, [60], 20, SearchSettings(), 3, notes_per_bar=target))
        assert made.mean() == pytest.approx(target, rel=0.25), (target, made)


def test_default_density_follows_the_chords(generator: ImprovGenerator) -> None:
    """Over songbook chords (7ths, 6ths...) the default melody is sparser than over folk triads, near the human
    figure for such lead sheets."""
    folk = notes_per_bar(generator.generate(parse_progression(FOLK), 16, [60], 20, SearchSettings(), 3))
    song = notes_per_bar(generator.generate(parse_progression(SONGBOOK), 16, [60], 20, SearchSettings(), 3))
    assert song.mean() < folk.mean()
    assert song.mean() == pytest.approx(SONGBOOK_NOTES_PER_BAR, rel=0.3)
    assert folk.mean() == pytest.approx(FOLK_NOTES_PER_BAR, rel=0.3)
    assert song.std() > 0.2  # each output its own density, as lead sheets differ


def test_sparse_melodies_keep_their_downbeats(generator: ImprovGenerator) -> None:
    """Thinned to 2 notes a bar, at least half the notes fall on beats 1 and 3 (weak 16ths go first)."""
    melodies = np.array(generator.generate(parse_progression(FOLK), 16, [60], 20, SearchSettings(), 3,
                                           notes_per_bar=2.0))[:, 1:]
    onsets = melodies >= 0
    on_beats = onsets[:, (np.arange(1, 128) % 8) == 0].sum()
    assert on_beats / onsets.sum() >= 0.45


def test_the_chord_vocabulary_decides_the_default() -> None:
    assert not is_songbook(parse_progression("C G Am F G7 D7/F# N.C. Em"))
    for songbook in ("C Cmaj7", "Dm7 G7", "C Csus4", "Bm7b5 E7", "C6 Am"):
        assert is_songbook(parse_progression(songbook)), songbook
    chords = parse_progression(FOLK)
    drawn = output_targets(chords, 400, 1, None, 0.5, 16.0)
    assert drawn.mean() == pytest.approx(FOLK_NOTES_PER_BAR, rel=0.05)
    assert drawn[:3].tolist() == output_targets(chords, 3, 1, None, 0.5, 16.0).tolist()  # any batch size
    assert output_targets(chords, 3, 1, 4.0, 0.5, 16.0).tolist() == [4.0] * 3


def test_no_steering_is_the_models_own_draw(generator: ImprovGenerator) -> None:
    """steer=False samples exactly the plain categorical of Magenta's improv_rnn (the unsteered stepper)."""
    chords = parse_progression(SONGBOOK)
    plain = generator.generate(chords, 16, [60], 3, SearchSettings(), 9, steer=False)
    steps = [c for c in chords for _ in range(16)]
    controls = encode_chords([*steps, steps[-1]], generator.config)
    forced = np.array([event_to_class(60, generator.config)] + [-1] * (len(steps) - 1), np.int32)
    classes, _ = generator.stepper.sample(controls, forced, 3, SearchSettings(), 9)
    assert plain == [classes_to_events(r, generator.config).tolist() for r in classes]
    assert plain != generator.generate(chords, 16, [60], 3, SearchSettings(), 9)


def test_steered_beam_search_and_batch_sizes(generator: ImprovGenerator) -> None:
    chords = parse_progression(SONGBOOK)
    one = generator.generate(chords, 16, [60], 1, SearchSettings(), 4)
    three = generator.generate(chords, 16, [60], 3, SearchSettings(), 4)
    assert one[0] == three[0] and three == generator.generate(chords, 16, [60], 3, SearchSettings(), 4)
    beam = generator.generate(chords, 16, [60, -2, 62], 2, SearchSettings(1.0, 2, 2, 4), 4, notes_per_bar=3.0)
    assert all(m[:3] == [60, -2, 62] and len(m) == 128 for m in beam)


def _midi_bytes(out: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(out.glob("*.mid"))]


def test_cli_same_seed_same_midi_and_no_steering_flag(tmp_path: Path) -> None:
    flags = ["--config=chord_pitches_improv", f"--backing_chords={SONGBOOK}", "--primer_melody=[60]",
             "--num_outputs=2", "--seed=7"]
    assert main([*flags, f"--output_dir={tmp_path / 'a'}"]) == 0
    assert main([*flags, f"--output_dir={tmp_path / 'b'}"]) == 0
    assert main([*flags, f"--output_dir={tmp_path / 'c'}", "--no_steering"]) == 0
    assert main([*flags, f"--output_dir={tmp_path / 'd'}", "--notes_per_bar=8"]) == 0
    a, b, c = (_midi_bytes(tmp_path / x) for x in "abc")
    assert a == b and a != c

    def onsets(folder: str) -> int:
        return sum(len(pretty_midi.PrettyMIDI(str(p)).instruments[0].notes) for p in (tmp_path / folder).glob("*.mid"))

    assert onsets("d") > onsets("a")


def test_magenta_bundle_with_and_without_steering(tmp_path: Path) -> None:
    bundle = FIXTURES / "basic_improv.mag"
    if not bundle.is_file():
        pytest.skip(f"Magenta fixtures not found at {FIXTURES}")
    for flag, out in (("--no_steering", "plain"), ("--notes_per_bar=3", "steered")):
        assert main([f"--bundle_file={bundle}", f"--output_dir={tmp_path / out}", "--primer_melody=[60]",
                     "--backing_chords=C G Am F", "--num_outputs=1", "--seed=1", flag]) == 0
        assert len(list((tmp_path / out).glob("*.mid"))) == 1


def test_chat_option() -> None:
    request = parse_command("/improv Dm7 G7 Cmaj7 notes_per_bar:3.5").request
    assert request is not None and request.params.notes_per_bar == 3.5
    default = parse_command("/improv C G").request
    assert default is not None and default.params.notes_per_bar == 0.0  # 0: like human lead sheets
    for bad in ("notes_per_bar:0", "notes_per_bar:17", "notes_per_bar:busy"):
        with pytest.raises(CommandError) as e:
            parse_command(f"/improv C G {bad}")
        assert e.value.token == bad
