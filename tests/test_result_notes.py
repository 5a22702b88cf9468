"""A result's notes (what was done to the user's input) from a family's Made through the worker's result, the stored
job and JobView to what each front end shows: the web chat's JSON, the share page, Discord's embed and Slack's
blocks; results stored before notes existed (or with odd notes) still show, without notes.

The worker runs a tiny fake family plug-in (the notes are the family's to write) with the real renderer; the views
come from a real Service reading a real SQLite file.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pretty_midi
import pytest

from bot.adapters.discord_result import DESCRIPTION_MAX, result_embeds
from bot.adapters.slack_remix import result_blocks
from bot.job_view import JobView
from bot.service import Service
from bot.settings import Settings
from bot.store import JobRecord, JobStore
from bot.web.pages import share_page
from generation.families.plugin import MAX_NOTE_CHARS, MAX_NOTES, FamilyPlugin, Made
from generation.jobs.embedded import EmbeddedQueue
from generation.request import GenerationRequest
from generation.worker import Worker

LOOPED = "the first file was 1 bar: looped 2 times to fill 2 bars"
HOSTILE = "the file <b>x</b> & *y* `z` <@U1> was trimmed"


@dataclass(frozen=True)
class FakeParams:
    drums: bool = False
    melody: bool = True

    @property
    def total_steps(self) -> int:
        return 16


def _piece(params: FakeParams) -> pretty_midi.PrettyMIDI:
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    for drum, on in ((False, params.melody), (True, params.drums)):
        if on:
            part = pretty_midi.Instrument(0, is_drum=drum)
            part.notes = [pretty_midi.Note(90, 36 if drum else 60 + i, i * 0.5, i * 0.5 + 0.25) for i in range(4)]
            midi.instruments.append(part)
    return midi


def _plugin(notes: tuple[str, ...] | None) -> FamilyPlugin:
    def make(_: Any, request: GenerationRequest) -> Made:
        piece = [_piece(request.params)]
        return Made("fake", piece, 0.125) if notes is None else Made("fake", piece, 0.125, notes)

    return FamilyPlugin(name="fake", configs=("fake_config",), params=FakeParams, warm_configs=(),
                        generate_command="", train_command="", commands=(), load=lambda _: None,
                        warm_up=lambda _: None, make=make)


class FakeWorker(Worker):
    def generator(self, config: str) -> Any:
        return None


def run_fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, notes: tuple[str, ...] | None,
             params: FakeParams = FakeParams(), transpose: int = 0) -> dict[str, Any]:
    monkeypatch.setattr("generation.worker.family", lambda name: _plugin(notes))
    request = GenerationRequest("fake", "fake_config", params, transpose=transpose)
    return FakeWorker().run("job", request, tmp_path, lambda _: None)


def test_a_familys_notes_reach_the_result_bounded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = run_fake(monkeypatch, tmp_path, (LOOPED,))
    assert result["notes"] == [LOOPED]
    assert (tmp_path / result["outputs"][0]["audio"]).stat().st_size > 0  # rendered as ever
    many = tuple(f"note {i} " + "x" * 300 for i in range(8))
    bounded = run_fake(monkeypatch, tmp_path / "many", many)["notes"]
    assert len(bounded) == MAX_NOTES and all(len(n) <= MAX_NOTE_CHARS for n in bounded)
    assert bounded[0].startswith("note 0 ") and bounded[0].endswith("\u2026")


def test_a_family_writing_three_fields_gives_no_notes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert run_fake(monkeypatch, tmp_path, None)["notes"] == []


def test_transposing_drums_says_they_stay(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """transpose: leaves drums as they are; the result says so (and says nothing when there are no drums)."""
    drums_only = run_fake(monkeypatch, tmp_path / "a", (), FakeParams(drums=True, melody=False), transpose=2)
    assert len(drums_only["notes"]) == 1 and "transpose:+2 left this piece as it was" in drums_only["notes"][0]
    both = run_fake(monkeypatch, tmp_path / "b", (LOOPED,), FakeParams(drums=True), transpose=-3)
    assert both["notes"][0] == LOOPED and "transpose:-3 moved every part but the drums" in both["notes"][1]
    assert run_fake(monkeypatch, tmp_path / "c", (), FakeParams(), transpose=5)["notes"] == []


async def stored_views(tmp_path: Path, results: dict[str, dict[str, Any]]) -> dict[str, JobView]:
    """Each result as a finished job in a real SQLite file, read back through the Service."""
    store = JobStore(tmp_path / "jobs.sqlite3")
    await store.open()
    try:
        for job_id, result in results.items():
            await store.add(JobRecord(id=job_id, share_token=f"tok{job_id}", platform="web", user_id="u",
                                      channel="", command="/interpolate steps:3", request='{"seed": 7, '
                                      '"config": "cat-mel_2bar"}', status="done", stage="done", result=result))
        service = Service(Settings(data_dir=tmp_path, port=0), store, EmbeddedQueue(workers=1))
        return {job_id: view for job_id in results if (view := await service.view(job_id)) is not None}
    finally:
        await store.close()


OUTPUT = {"midi": "path_1.mid", "audio": "path_1.ogg", "pianoroll": "path_1.png", "seconds": 12.0}


async def test_stored_notes_become_the_views_notes_and_odd_rows_give_none(tmp_path: Path) -> None:
    views = await stored_views(tmp_path, {
        "new": {"outputs": [OUTPUT], "notes": [LOOPED, HOSTILE]},
        "old": {"outputs": [OUTPUT]},  # stored before results had notes
        "text": {"outputs": [OUTPUT], "notes": "looped"},
        "mixed": {"outputs": [OUTPUT], "notes": [3, None, LOOPED, {"a": 1}, "  "]},
        "long": {"outputs": [OUTPUT], "notes": ["y" * 5000] * 50},
    })
    assert views["new"].notes == [LOOPED, HOSTILE] and views["new"].to_json()["notes"] == [LOOPED, HOSTILE]
    assert views["old"].notes == [] and views["old"].to_json()["notes"] == []
    assert views["text"].notes == [] and views["mixed"].notes == [LOOPED]
    assert len(views["long"].notes) == MAX_NOTES and all(len(n) == MAX_NOTE_CHARS for n in views["long"].notes)


async def test_front_ends_show_the_notes_escaped_and_old_results_without_them(tmp_path: Path) -> None:
    views = await stored_views(tmp_path, {"new": {"outputs": [OUTPUT], "notes": [LOOPED, HOSTILE]},
                                          "old": {"outputs": [OUTPUT]}})
    new, old = views["new"], views["old"]

    page = share_page(new)  # the share page: a list above the outputs, escaped
    assert f"<li>{html.escape(LOOPED)}</li>" in page and f"<li>{html.escape(HOSTILE)}</li>" in page
    assert "<b>x</b>" not in page and page.index('class="notes"') < page.index('id="output-1"')
    assert 'class="notes"' not in share_page(old) and 'id="output-1"' in share_page(old)

    first = result_embeds(new, [], public_images=False)[0]  # Discord: lines under the recipe, markdown escaped
    description = first.description or ""
    assert LOOPED in description and "\\*y\\*" in description and "\\`z\\`" in description
    assert description.index("```\n/interpolate") < description.index(LOOPED) < description.index("Player")
    old_description = result_embeds(old, [], public_images=False)[0].description or ""
    assert "\u2139" not in old_description and old.share_url in old_description

    blocks = result_blocks(new, "Done")  # Slack: a context block right under the result line
    assert blocks[1]["type"] == "context"
    text = blocks[1]["elements"][0]["text"]
    assert LOOPED in text and "&lt;@U1&gt;" in text and "<@U1>" not in text and "&amp;" in text
    old_blocks = result_blocks(old, "Done")
    assert [b["type"] for b in old_blocks][:2] == ["section", "image"]
    assert not any(LOOPED in str(b) for b in old_blocks)


async def test_a_very_long_recipe_keeps_the_notes_within_discords_limit(tmp_path: Path) -> None:
    views = await stored_views(tmp_path, {"new": {"outputs": [OUTPUT], "notes": ["z" * 400] * 9}})
    long_recipe = JobView(**{**views["new"].__dict__, "command": "/interpolate " + "steps:3 " * 1000})
    description = result_embeds(long_recipe, [], public_images=False)[0].description or ""
    assert len(description) <= DESCRIPTION_MAX
    assert description.count("z" * (MAX_NOTE_CHARS - 1)) == MAX_NOTES and long_recipe.share_url in description
