"""Pieces made from earlier results, through the HTTP API of a real `python -m bot` (real worker, SQLite and
FluidSynth): Again, Vary, Longer and Harmonise this, remix by reply, /history and stars, and actions pressed on
results made before a restart of the bot.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pretty_midi
import pytest
from botproc import BotProcess, get_bytes, get_json, request, start_bot, wait_for_job

GENEROUS = {"TUNESMITH_RATE_LIMIT_PER_MINUTE": "100", "TUNESMITH_MAX_ACTIVE_PER_USER": "10",
            "TUNESMITH_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "1000", "TUNESMITH_MAX_ACTIVE_PER_ADDRESS": "100"}
FIRST_JOB_S = 120.0  # the first job waits for the worker to warm up
USER = "remixer"
MELODY = "/melody C4 - E4 - G4 - C5 - bars:2 seed:4"
IMPROV = "/improv C G Am F primer:60 seed:5"


class Bots:
    """The module's bot; the restart test replaces it with one on the same data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.bot = start_bot(data_dir, GENEROUS)

    def restart(self) -> BotProcess:
        self.bot.stop()
        self.bot = start_bot(self.data_dir, GENEROUS)
        return self.bot


@pytest.fixture(scope="module")
def bots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bots]:
    holder = Bots(tmp_path_factory.mktemp("remix") / "data")
    yield holder
    holder.bot.stop()


@pytest.fixture(scope="module")
def bot(bots: Bots) -> BotProcess:
    return bots.bot


def post(bot: BotProcess, path: str, payload: dict[str, Any] | None = None) -> tuple[int, Any]:
    status, body, _ = request("POST", f"{bot.url}{path}", json.dumps(payload or {}).encode(),
                              {"Content-Type": "application/json"})
    return status, json.loads(body)


def command(bot: BotProcess, text: str, reply_to: str = "", user: str = USER) -> tuple[int, Any]:
    return post(bot, "/api/commands", {"text": text, "user": user, **({"reply_to": reply_to} if reply_to else {})})


def done(bot: BotProcess, body: dict[str, Any]) -> dict[str, Any]:
    """The job of an accepted command, followed until it finishes; it must have finished well."""
    assert "job_id" in body, body
    try:
        view = wait_for_job(bot, body["job_id"], timeout=FIRST_JOB_S)
    except TimeoutError as e:
        pytest.fail(f"{e}\nbot log tail:\n{bot.log_tail()}")
    assert view["status"] == "done", (view, bot.log_tail())
    return view


def act(bot: BotProcess, job_id: str, action: str) -> tuple[int, Any]:
    return post(bot, f"/api/jobs/{job_id}/actions/{action}", {"user": USER})


def notes(view: dict[str, Any], part: int = 0) -> list[tuple[int, float]]:
    """(pitch, start in seconds) of one instrument of a result's first MIDI."""
    status, data = get_bytes(view["outputs"][0]["midi_url"])
    assert status == 200 and data.startswith(b"MThd")
    midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    return sorted(((n.pitch, round(n.start, 3)) for n in midi.instruments[part].notes), key=lambda n: (n[1], n[0]))


def top_line(view: dict[str, Any]) -> list[tuple[int, float]]:
    """The highest note starting at each onset, over every instrument."""
    status, data = get_bytes(view["outputs"][0]["midi_url"])
    assert status == 200
    midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    top: dict[float, int] = {}
    for inst in midi.instruments:
        for n in inst.notes:
            start = round(n.start, 3)
            top[start] = max(top.get(start, 0), n.pitch)
    return [(p, s) for s, p in sorted(top.items())]


@pytest.fixture(scope="module")
def melody(bot: BotProcess) -> dict[str, Any]:
    return done(bot, command(bot, MELODY)[1])


@pytest.fixture(scope="module")
def improv(bot: BotProcess) -> dict[str, Any]:
    return done(bot, command(bot, IMPROV)[1])


def test_results_offer_their_actions(melody: dict[str, Any], improv: dict[str, Any], bot: BotProcess) -> None:
    """A melody offers Again, Vary, Longer, Harmonise this, Add drums and Arrange; a drum track none of the last
    three (it has no tune); a pianoroll no Longer."""
    assert [a["action"] for a in melody["actions"]] == ["again", "vary", "longer", "harmonise", "drums", "arrange"], \
        melody["actions"]
    assert melody["origin"] is None and melody["starred"] is False
    drums = done(bot, command(bot, "/drums bars:1 seed:2")[1])
    assert [a["action"] for a in drums["actions"]] == ["again", "vary", "longer"]
    piano = done(bot, command(bot, "/pianoroll bars:1 seed:2")[1])
    assert [a["action"] for a in piano["actions"]] == ["again", "vary"]
    status, body = act(bot, piano["job_id"], "longer")
    assert status == 400 and "/pianoroll cannot continue" in body["error"] and "typed" in body["error"], body
    status, body = act(bot, drums["job_id"], "harmonise")
    assert status == 400 and "does not apply" in body["error"], body
    status, body = act(bot, drums["job_id"], "drums")
    assert status == 400 and "/drumify starts from a tune" in body["error"], body
    status, body = act(bot, melody["job_id"], "louder")
    assert status == 400 and "again, vary, longer, harmonise" in body["error"], body


def test_again_is_the_same_recipe_with_a_new_seed(improv: dict[str, Any], bot: BotProcess) -> None:
    status, body = act(bot, improv["job_id"], "again")
    assert status == 202, body
    assert body["origin"] == {"source_id": improv["job_id"], "action": "again"}, body
    assert body["seed"] != improv["seed"] and body["command"] == f"/improv C G Am F primer:60 seed:{body['seed']}"
    view = done(bot, body)
    assert view["model"] == improv["model"]
    assert notes(view) != notes(improv), "a new seed should give another melody"
    assert get_json(f"{bot.url}/api/jobs/{view['job_id']}")[1]["origin"]["action"] == "again"


def test_vary_keeps_the_seed_and_gets_hotter_each_time(melody: dict[str, Any], bot: BotProcess) -> None:
    first = done(bot, act(bot, melody["job_id"], "vary")[1])
    assert first["seed"] == melody["seed"] and "temperature:1.15" in first["command"], first["command"]
    second = done(bot, act(bot, melody["job_id"], "vary")[1])
    assert second["seed"] == melody["seed"] and "temperature:1.3" in second["command"], second["command"]
    assert first["origin"] == second["origin"] == {"source_id": melody["job_id"], "action": "vary"}


def test_longer_continues_from_the_result(melody: dict[str, Any], improv: dict[str, Any], bot: BotProcess) -> None:
    """Longer doubles the bars with the result as the primer: the old piece is the new one's opening."""
    status, body = act(bot, melody["job_id"], "longer")
    assert status == 202, body
    assert body["command"].startswith("/melody bars:4 seed:") and "/s/" in body["command"], body["command"]
    longer = done(bot, body)
    assert 7.9 <= longer["outputs"][0]["seconds"] <= 9.5, longer["outputs"]  # 4 bars at 120 qpm + release tail
    old, new = notes(melody), notes(longer)
    assert [n for n in new if n[1] < 4.0] == old, (old, new)
    assert any(start >= 4.0 for _, start in new), "no new notes after the old two bars"

    body = done(bot, act(bot, improv["job_id"], "longer")[1])
    assert body["command"].startswith("/improv C G Am F bars:8 seed:"), body["command"]  # the chords stay
    assert [n for n in notes(body) if n[1] < 8.0] == notes(improv)


def test_harmonise_this_keeps_the_melody_on_top(melody: dict[str, Any], bot: BotProcess) -> None:
    body = done(bot, act(bot, melody["job_id"], "harmonise")[1])
    assert body["command"].startswith("/harmonize http") and body["origin"]["action"] == "harmonise"
    assert [p for p, _ in top_line(body)][:len(notes(melody))] == [p for p, _ in notes(melody)]


def test_reply_with_options_changes_the_recipe(melody: dict[str, Any], bot: BotProcess) -> None:
    status, body = command(bot, "temperature:1.2", reply_to=melody["job_id"])
    assert status == 202, body
    assert body["command"] == "/melody C4 - E4 - G4 - C5 - bars:2 temperature:1.2 seed:4", body["command"]
    assert body["origin"] == {"source_id": melody["job_id"], "action": "reply"}
    done(bot, body)
    body = done(bot, command(bot, "bars:4", reply_to=melody["job_id"])[1])
    assert body["command"] == "/melody C4 - E4 - G4 - C5 - bars:4 seed:4" and body["outputs"][0]["seconds"] > 7.9


def test_reply_with_a_command_starts_from_the_result(melody: dict[str, Any], bot: BotProcess) -> None:
    body = done(bot, command(bot, "/chorale bars:4", reply_to=melody["job_id"])[1])
    assert body["command"].startswith("/chorale bars:4 http") and body["origin"]["action"] == "reply"
    assert [p for p, _ in top_line(body)][:2] == [p for p, _ in notes(melody)][:2]  # the melody leads it
    body = done(bot, command(bot, "again", reply_to=melody["job_id"])[1])
    assert body["origin"]["action"] == "again"


def test_reply_transpose_moves_the_same_piece(melody: dict[str, Any], bot: BotProcess) -> None:
    """`transpose:+2` in reply: the result's own recipe (seed kept) with every note 2 semitones up; Longer from
    that result starts from it as it sounds (not moved twice)."""
    status, body = command(bot, "transpose:+2", reply_to=melody["job_id"])
    assert status == 202, body
    assert body["command"] == "/melody C4 - E4 - G4 - C5 - bars:2 transpose:+2 seed:4", body["command"]
    up = done(bot, body)
    assert notes(up) == [(p + 2, s) for p, s in notes(melody)], (notes(melody), notes(up))
    longer = done(bot, act(bot, up["job_id"], "longer")[1])
    assert "transpose" not in longer["command"], longer["command"]
    assert [n for n in notes(longer) if n[1] < 4.0] == notes(up)


def test_bad_replies_say_what_a_reply_can_be(melody: dict[str, Any], bot: BotProcess) -> None:
    status, body = command(bot, "tempo:90", reply_to=melody["job_id"])
    assert status == 400 and "'tempo' is not an option of /melody" in body["error"] and "bars:" in body["error"]
    status, body = command(bot, "transpose:+20", reply_to=melody["job_id"])
    assert status == 400 and "transpose: must be between -12 and 12" in body["error"], body
    status, body = command(bot, "make it jazzier", reply_to=melody["job_id"])
    assert status == 400 and "a reply to a result is a command" in body["error"], body
    status, body = command(bot, "/pianoroll bars:2", reply_to=melody["job_id"])
    assert status == 400 and "reads no MIDI file" in body["error"], body
    status, body = command(bot, "bars:2", reply_to="0" * 32)
    assert status == 400 and "not kept" in body["error"], body


def test_history_lists_recipes_and_stars_keep_favourites(melody: dict[str, Any], bot: BotProcess) -> None:
    status, body = get_json(f"{bot.url}/api/history?limit=50&user={USER}")
    assert status == 200, body
    jobs = body["jobs"]
    listed = [j["job_id"] for j in jobs]
    assert listed.index(melody["job_id"]) > 0, "newest first: the remixes come before their source"
    remixes = [j for j in jobs if j["origin"] and j["origin"]["source_id"] == melody["job_id"]]
    assert {j["origin"]["action"] for j in remixes} >= {"vary", "longer", "harmonise", "reply", "again"}, remixes

    status, body = post(bot, f"/api/jobs/{melody['job_id']}/star", {"on": True, "user": USER})
    assert status == 200 and body == {"starred": True}
    status, body = post(bot, f"/api/jobs/{melody['job_id']}/star", {"on": True, "user": "someone else"})
    assert status == 403 and "only your own" in body["error"]
    status, body = get_json(f"{bot.url}/api/history?starred=1&user={USER}")
    assert [j["job_id"] for j in body["jobs"]] == [melody["job_id"]] and body["jobs"][0]["starred"] is True

    status, body = command(bot, "/history starred")
    assert status == 200 and MELODY in body["help"] and "\u2605" in body["help"] and melody["share_url"] in body["help"]
    status, body = command(bot, "/history 30")
    assert status == 200 and "vary of: " + MELODY in body["help"], body["help"]
    status, body = command(bot, "/history everything")
    assert status == 400 and "starred" in body["error"]


def test_actions_work_on_results_made_before_a_restart(bots: Bots, melody: dict[str, Any]) -> None:
    bot = bots.restart()
    body = done(bot, act(bot, melody["job_id"], "vary")[1])
    assert "temperature:1.45" in body["command"], body["command"]  # the third Vary: the count survived too
    body = done(bot, act(bot, melody["job_id"], "longer")[1])
    assert body["origin"] == {"source_id": melody["job_id"], "action": "longer"}
    status, history = get_json(f"{bot.url}/api/history?starred=1&user={USER}")
    assert [j["job_id"] for j in history["jobs"]] == [melody["job_id"]], "the star survived the restart"
