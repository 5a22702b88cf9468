"""The family registry: every shipped config has exactly one family, reading the registry loads no model
library, and a request never runs in another family's code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from generation.engine.bundle import REPO_MODELS, Bundle, installed_configs
from generation.errors import InputError
from generation.families.improv.plugin import ImprovParams
from generation.families.registry import FAMILY_NAMES, families, family, family_of_config
from generation.request import COMMON, GenerationRequest
from generation.worker import Worker

ROOT = Path(__file__).resolve().parents[1]


def test_every_shipped_model_belongs_to_exactly_one_family() -> None:
    assert installed_configs(), "no shipped models found under models/"
    for config in installed_configs():
        owners = [p.name for p in families() if config in p.configs]
        assert len(owners) == 1, (config, owners)
        assert family_of_config(config).name == owners[0]
    every = [c for p in families() for c in p.configs]
    assert len(every) == len(set(every)), "a config id is claimed by two families"


def test_reading_the_registry_loads_no_model_library() -> None:
    code = ("import sys; from generation.families.registry import families; "
            "print([p.name for p in families()]); "
            "print(sorted(m for m in ('tensorflow', 'note_seq', 'pandas', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.splitlines() == [str(list(FAMILY_NAMES)), "[]"], out


def test_a_config_of_another_family_is_refused_not_run_by_the_wrong_code(tmp_path: Path) -> None:
    request = GenerationRequest("improv", "rnn-nade", ImprovParams(("C",)))  # a pianoroll config sent as improv
    with pytest.raises(InputError, match="'rnn-nade' is not a improv config"):
        Worker().run("job", request, tmp_path, lambda _: None)
    drums = GenerationRequest("improv", "drum_kit", ImprovParams(("C",)))  # the example
    with pytest.raises(InputError, match="'drum_kit' is not a improv config"):
        Worker().run("job", drums, tmp_path, lambda _: None)
    assert family_of_config("drum_kit").name == "drums"
    with pytest.raises(InputError, match="unknown config 'polka'"):
        family_of_config("polka")
    with pytest.raises(InputError, match="unknown model family 'jazz'"):
        family("jazz")


def test_a_missing_model_names_the_command_that_trains_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="train one with pianoroll_rnn_nade_train --config=rnn-nade"):
        Bundle.load(tmp_path / "rnn-nade")
    with pytest.raises(InputError, match="improv_rnn_train, polyphony_rnn_train"):
        Bundle.load(tmp_path / "not-a-config")
    assert REPO_MODELS.is_dir()


@pytest.mark.parametrize("text", ["/improv C G Am F primer:60 outputs:2 seed:5", "/harmonize C4 - E4 - G4",
                                  "/chorale G4 E4 C4 bars:2", "/pianoroll [(55,), (55,64,)] bars:1",
                                  "/perform density:2 notes:\"C E G\" seconds:5"])
def test_every_family_request_survives_json_both_ways(text: str) -> None:
    from bot.commands import parse_command

    request = parse_command(text, default_seed=3).request
    assert request is not None
    again = GenerationRequest.from_json(request.to_json())
    assert again == request and type(again.params) is family(request.family).params
    assert set(json.loads(request.to_json())) == {"family", "config", "params", *COMMON}


@pytest.mark.parametrize(("change", "says"), [
    ({"family": "jazz"}, "unknown model family"),
    ({"config": "drum_kit"}, "is not a improv config"),
    ({"params": {"chords": "C G"}}, "ImprovParams.chords must be a list"),
    ({"params": {"chords": ["C"], "steps_per_chord": "16"}}, "steps_per_chord must be an integer"),
    ({"params": [1]}, "params must be a JSON object"),
    ({"temperature": 1e999}, "temperature"),
    ({"num_outputs": 1000}, "num_outputs=1000 is out of range"),
    ({"seed": True}, "seed must be an integer"),
])
def test_a_malformed_request_is_refused_with_what_is_wrong(change: dict[str, object], says: str) -> None:
    data = {"family": "improv", "config": "basic_improv", "params": {"chords": ["C", "G"]}, **change}
    with pytest.raises(ValueError, match=says):
        GenerationRequest.from_json(json.dumps(data))


def test_a_request_recorded_before_the_envelope_still_reads() -> None:
    """Jobs queued by an older bot (one flat object) resume after an upgrade."""
    flat = {"family": "improv", "config": "basic_improv", "chords": ["C", "G"], "steps_per_chord": 8,
            "primer": [60, -2], "qpm": 100.0, "seed": 4, "num_steps": 0, "primer_pitches": [],
            "render_chords": False, "notes_per_second": 0.0}
    request = GenerationRequest.from_json(json.dumps(flat))
    assert request.params == ImprovParams(("C", "G"), 8, (60, -2), False) and request.qpm == 100.0
    assert request.total_steps == 16 and request.seed == 4


FIXTURES = ROOT.parent / "shared" / "fixtures" / "magenta"


@pytest.mark.parametrize(("text", "family_name", "config", "steps"), [
    ("/melody C4 - E4 - G4 bars:2 seed:1", "melody", "lookback_rnn", 32),
    ("/melody primer:[60,-2,62] config:lookback_rnn", "melody", "lookback_rnn", 128),
    ("/drums style:funk bars:2 qpm:100", "drums", "drum_kit_style", 32),
    ("/drums [(36,), (), (42,), ()]", "drums", "drum_kit", 64),
])
def test_melody_and_drums_commands_come_from_their_families(text: str, family_name: str, config: str,
                                                            steps: int) -> None:
    from bot.commands import help_text, parse_command

    request = parse_command(text, default_seed=2).request
    assert request is not None and (request.family, request.config, request.total_steps) == (
        family_name, config, steps)
    assert GenerationRequest.from_json(request.to_json()) == request
    assert text.split()[0] in help_text()


@pytest.mark.parametrize(("text", "says"), [
    ("/drums style:funk config:drum_kit", "drum_kit cannot take a style"),
    ("/drums style:polka", "rock | latin | jazz | funk | hiphop"),
    ("/melody C4 - E4 primer:60", "not both"),
    ("/melody C4 - - - - - - - - - - - - - - - - bars:1", "add bars"),
])
def test_melody_and_drums_mistakes_point_at_the_token(text: str, says: str) -> None:
    from bot.commands import CommandError, parse_command

    with pytest.raises(CommandError, match=says.replace("|", r"\|")):
        parse_command(text)


def test_an_untrained_family_is_refused_at_submit_with_a_clear_message() -> None:
    from bot.commands import CommandError, parse_command

    with pytest.raises(CommandError, match="attention_rnn is not installed on this bot"):
        parse_command("/melody config:attention_rnn", installed=frozenset({"lookback_rnn"}))


def test_melody_and_drums_plugins_write_midi_from_magentas_bundles() -> None:
    """make() end to end with Magenta's own (barely trained) bundles: a monophonic melody of the asked length
    that starts with the primer; a drum track on channel 10."""
    from bot.commands import parse_command
    from generation.families.drums.generator import DrumsGenerator
    from generation.families.melody.generator import MelodyGenerator

    request = parse_command("/melody C4 - E4 - bars:2 config:lookback_rnn outputs:2 seed:3").request
    assert request is not None
    made = family("melody").make(MelodyGenerator.load("lookback_rnn", FIXTURES / "lookback_rnn.mag"), request)
    assert made.stem == "melody" and len(made.midis) == 2
    for midi in made.midis:
        notes = sorted((n.start, n.end, n.pitch) for i in midi.instruments for n in i.notes)
        assert notes[0][2] == 60 and all(a[1] <= b[0] + 1e-6 for a, b in zip(notes, notes[1:], strict=False))
        assert midi.get_end_time() <= 2 * 2.0 + 1e-6  # two bars at 120 qpm
    drums = parse_command("/drums [(36,), (), (42,), ()] bars:1 seed:3").request
    assert drums is not None
    made = family("drums").make(DrumsGenerator.load(FIXTURES / "drum_kit.mag"), drums)
    (midi,) = made.midis
    assert all(i.is_drum for i in midi.instruments) and midi.instruments[0].notes[0].pitch == 36


def test_every_familys_commands_are_installed_as_magenta_names() -> None:
    """Each plug-in's generate/train command is a [project.scripts] entry whose module exists."""
    import importlib.util
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for plugin in families():
        for command in (plugin.generate_command, plugin.train_command):
            assert command in scripts, f"{plugin.name}: {command} is not in [project.scripts]"
            module = scripts[command].split(":")[0]
            assert importlib.util.find_spec(module) is not None, (command, module)


@pytest.mark.parametrize("config", [c for p in families() for c in p.configs])
def test_every_config_of_every_family_ships_a_trained_model_with_the_card_its_run_wrote(config: str) -> None:
    """A registered config without a trained model fails here (the bot would refuse it): its bundle names the
    family and config, its weights are there and small enough to commit, and its card was written by a
    training command of ours."""
    folder = REPO_MODELS / config
    bundle = Bundle.load(folder)
    assert (bundle.family, bundle.config) == (family_of_config(config).name, config)
    assert (folder / "weights.npz").stat().st_size < 20 * 2**20
    card = (folder / "MODEL_CARD.md").read_text()
    assert re.search(r"_Written by `\w+_train`", card), card[:200]
    assert re.search(r"[Ll]icen[cs]e|Creative Commons", card), config  # every card names its data's licence
