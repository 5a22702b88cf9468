"""The HTTP API as a client sees it, against real `python -m bot` subprocesses, real SQLite and real workers:
commands, job polling, artifacts, bad attachments, limits, a bot killed mid-job and a model worker crashing.

Bots that only check limits run with TUNESMITH_WORKERS=0, so every accepted job stays waiting and the outcome
does not depend on how fast the model is.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi
import pytest
from botproc import (
    BotProcess,
    get_bytes,
    get_json,
    post_command,
    post_multipart,
    request,
    start_bot,
    wait_for_job,
)

COMMAND = "/improv C G Am F primer:60"
PNG = b"\x89PNG\r\n\x1a\n"
GENEROUS = {"TUNESMITH_RATE_LIMIT_PER_MINUTE": "100", "TUNESMITH_MAX_ACTIVE_PER_USER": "10",
            "TUNESMITH_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "1000", "TUNESMITH_MAX_ACTIVE_PER_ADDRESS": "100"}
FIRST_JOB_S = 90.0  # the first job of a bot waits for its worker to warm up


def finished(bot: BotProcess, job_id: str, timeout: float = FIRST_JOB_S) -> dict[str, Any]:
    """The job's final view; on a timeout, fails with the bot's log (a worker that never starts shows there)."""
    try:
        return wait_for_job(bot, job_id, timeout=timeout)
    except TimeoutError as e:
        pytest.fail(f"{e}\nbot log tail:\n{bot.log_tail()}")


def midi_bytes(notes: list[tuple[int, float, float]], *, drum: bool = False) -> bytes:
    """A MIDI file with one instrument playing (pitch, start s, end s) notes."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(0, is_drum=drum)
    inst.notes = [pretty_midi.Note(100, p, s, e) for p, s, e in notes]
    midi.instruments.append(inst)
    buf = io.BytesIO()
    midi.write(buf)
    return buf.getvalue()


def read_midi(data: bytes) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(data))


def melody_notes(midi: pretty_midi.PrettyMIDI) -> list[pretty_midi.Note]:
    """The notes of the track named "Melody" (the chord track is separate), in time order."""
    tracks = [i for i in midi.instruments if i.name == "Melody"]
    assert tracks, f"no Melody track in {[i.name for i in midi.instruments]}"
    return sorted(tracks[0].notes, key=lambda n: (n.start, -n.pitch))


def db_rows(bot: BotProcess) -> dict[str, dict[str, Any]]:
    """Every job row in the bot's SQLite file, by id (read with a separate connection)."""
    with contextlib.closing(sqlite3.connect(bot.db_path)) as db:
        db.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in db.execute("SELECT * FROM jobs")}


def db_insert(bot: BotProcess, **row: Any) -> None:
    """Add a job row behind the bot's back, as a damaged or older database might hold it."""
    row = {"platform": "web", "user_id": "web:someone", "stage": "queued", "created": time.time(),
           "updated": time.time(), **row}
    with contextlib.closing(sqlite3.connect(bot.db_path)) as db, db:
        db.execute(f"INSERT INTO jobs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))


# --- one bot shared by the API tests (generous limits, one worker) -----------------------------------------
@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    proc = start_bot(tmp_path_factory.mktemp("api") / "data", GENEROUS)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def improv_job(bot: BotProcess) -> dict[str, Any]:
    """COMMAND submitted through the API and followed to the end: (the 202 body, the final view)."""
    status, body = post_command(bot, COMMAND, user="api-user")
    assert status == 202, body
    return {"accepted": body, "final": finished(bot, body["job_id"])}


def test_command_is_accepted_and_polled_to_done(improv_job: dict[str, Any]) -> None:
    """POST answers 202 at once with a job id and where to poll; polling reaches "done" with one output."""
    accepted, final = improv_job["accepted"], improv_job["final"]
    assert accepted["job_id"] and accepted["status_url"] == f"/api/jobs/{accepted['job_id']}"
    assert accepted["status"] in ("queued", "running")
    assert final["status"] == "done", final
    assert final["command"] == COMMAND and final["model"] == "chord_pitches_improv"
    assert len(final["outputs"]) == 1


def test_outputs_serve_ogg_midi_and_png(improv_job: dict[str, Any]) -> None:
    """Each output URL serves the right kind of file, named by its content type (browsers play audio/ogg)."""
    out = improv_job["final"]["outputs"][0]
    for key, magic, kind in (("audio_url", b"OggS", "audio/ogg"), ("midi_url", b"MThd", "audio/midi"),
                             ("pianoroll_url", PNG, "image/png")):
        status, data, headers = request("GET", out[key])
        assert status == 200 and data.startswith(magic), (key, out[key], status, data[:16])
        assert headers["Content-Type"] == kind, (key, headers["Content-Type"])


def test_midi_lasts_four_bars_at_120_qpm(improv_job: dict[str, Any]) -> None:
    """4 chords x 16 steps at 120 qpm = 8.0 s, starting with the primer note 60."""
    status, data = get_bytes(improv_job["final"]["outputs"][0]["midi_url"])
    assert status == 200
    midi = read_midi(data)
    assert midi.get_end_time() == pytest.approx(8.0, abs=1e-3)
    first = melody_notes(midi)[0]
    assert (first.pitch, first.start) == (60, 0.0)


def test_bad_chord_is_400_naming_the_token_with_a_pointer(bot: BotProcess) -> None:
    status, body = post_command(bot, "/improv C H7", user="api-user")
    assert status == 400, body
    assert "H7" in body["error"] and body.get("token") == "H7"
    assert body["pointer"] == "/improv C H7\n          ^^"


def test_pointer_marks_the_bad_token_not_an_earlier_lookalike(bot: BotProcess) -> None:
    status, body = post_command(bot, "/improv Am7 m7", user="api-user")
    assert status == 400 and body["token"] == "m7"
    assert body["pointer"] == "/improv Am7 m7\n            ^^", body["pointer"]


def test_unknown_job_is_404(bot: BotProcess) -> None:
    status, body = get_json(f"{bot.url}/api/jobs/no-such-job")
    assert status == 404 and "error" in body


def test_text_attachment_is_not_a_midi_file(bot: BotProcess) -> None:
    status, body = post_multipart(bot, "/improv C G Am F", ("notes.txt", b"C D E F G\n"), user="attach")
    assert status == 400, body
    assert "not a MIDI file" in body["error"]


def test_ten_megabytes_of_noise_is_refused_with_the_size_limit(bot: BotProcess) -> None:
    noise = b"RIFF" + np.random.default_rng(0).bytes(10 * 2**20)
    status, body = post_multipart(bot, "/improv C G Am F", ("noise.mid", noise), user="attach")
    assert status == 413, body
    assert "at most 1.0 MB" in body["error"], body


@pytest.mark.parametrize("drum", [False, True], ids=["empty", "drums-only"])
def test_midi_without_melody_notes_is_refused(bot: BotProcess, drum: bool) -> None:
    data = midi_bytes([(38, 0.0, 0.5)], drum=True) if drum else midi_bytes([])
    status, body = post_multipart(bot, "/improv C G Am F", ("silence.mid", data), user="attach")
    assert status == 400, body
    assert "no (non-drum) notes" in body["error"]


def test_one_note_midi_primer_starts_the_melody(bot: BotProcess) -> None:
    """An attached MIDI with one E4 (64) replaces the default primer: the melody opens on 64."""
    status, body = post_multipart(bot, "/improv C G Am F", ("e4.mid", midi_bytes([(64, 0.0, 0.25)])),
                                  user="attach")
    assert status == 202, body
    final = finished(bot, body["job_id"])
    assert final["status"] == "done", final
    status, data = get_bytes(final["outputs"][0]["midi_url"])
    first = melody_notes(read_midi(data))[0]
    assert (first.pitch, first.start) == (64, 0.0)


def test_attachment_named_queue_is_still_a_400(bot: BotProcess) -> None:
    """A bad attachment is the user's input problem (400), whatever the file is called."""
    status, body = post_multipart(bot, "/improv C G Am F", ("queue.txt", b"hello"), user="attach")
    assert status == 400, body


def test_worker_crash_fails_the_job_and_the_next_job_succeeds(bot: BotProcess) -> None:
    """Killing the model worker mid-job fails that job with a clear message; a fresh worker serves the next."""
    finished(bot, post_command(bot, COMMAND, user="crash")[1]["job_id"])  # the worker is warm
    status, body = post_command(bot, "/improv C G Am F bars:16 outputs:4", user="crash")  # ~5 s of rendering
    assert status == 202, body
    deadline = time.monotonic() + 60
    while (view := get_json(f"{bot.url}/api/jobs/{body['job_id']}")[1])["status"] == "queued":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    assert view["status"] == "running", view
    workers = bot.worker_pids()
    assert len(workers) == 1, workers
    worker_tmp = Path(tempfile.gettempdir()) / f"tunesmith-workers-{bot.proc.pid}" / "slot-0"
    (worker_tmp / "left-by-the-dead-worker").write_bytes(b"x" * 1000)  # as TensorFlow's autograph files are
    os.kill(workers[0], signal.SIGKILL)

    final = finished(bot, body["job_id"], timeout=30)
    assert final["status"] == "failed", final
    assert "worker crashed" in final["error"], final["error"]
    assert "try again" not in final["error"], final["error"]  # the same command would crash again
    assert f"died (killed by signal 9, SIGKILL) on job {body['job_id']}" in bot.log()  # the operator's log

    status, again = post_command(bot, COMMAND, user="crash")
    assert status == 202, again
    assert finished(bot, again["job_id"])["status"] == "done"
    assert bot.worker_pids() and bot.worker_pids() != workers
    assert worker_tmp.is_dir() and not (worker_tmp / "left-by-the-dead-worker").exists()  # emptied for the new one
    assert not list((bot.data_dir / "artifacts" / body["job_id"]).glob(".scratch"))  # the crashed job's scratch


# --- limits --------------------------------------------------------------------------------------------------
def test_rate_limit_refuses_the_third_job_in_a_minute(tmp_path: Path) -> None:
    env = {"TUNESMITH_RATE_LIMIT_PER_MINUTE": "2", "TUNESMITH_MAX_ACTIVE_PER_USER": "10", "TUNESMITH_WORKERS": "0"}
    with start_bot(tmp_path / "data", env) as bot:
        assert [post_command(bot, COMMAND, user="eager")[0] for _ in range(2)] == [202, 202]
        status, body = post_command(bot, COMMAND, user="eager")
        assert status == 429, body
        assert "limit is 2 per minute" in body["error"], body
        assert post_command(bot, COMMAND, user="patient")[0] == 202


def test_queue_cap_refuses_when_full(tmp_path: Path) -> None:
    """Six users at once against a queue of one: one is queued, the others are told the queue is full."""
    env = {"TUNESMITH_QUEUE_CAP": "1", "TUNESMITH_MAX_ACTIVE_PER_USER": "10", "TUNESMITH_RATE_LIMIT_PER_MINUTE": "100",
           "TUNESMITH_WORKERS": "0"}
    with start_bot(tmp_path / "data", env) as bot:
        results: list[tuple[int, Any]] = []
        threads = [threading.Thread(target=lambda u=u: results.append(post_command(bot, COMMAND, user=u)))
                   for u in (f"user{i}" for i in range(6))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(status for status, _ in results)
        assert statuses == [202] + [429] * 5, results
        assert all("queue is full" in body["error"] for status, body in results if status == 429), results
        assert get_json(f"{bot.url}/healthz")[1]["waiting"] == 1


# --- recovery after a crash of the bot ----------------------------------------------------------------------
def test_killed_bot_resumes_every_unfinished_job(tmp_path: Path) -> None:
    """kill -9 while one job runs and two wait; the next bot on the same data finishes all three, and reports
    an unreadable leftover row as failed instead of choking on it."""
    data = tmp_path / "data"
    first = start_bot(data, GENEROUS)
    try:
        jobs = []
        for user, text in (("r1", "/improv C G Am F outputs:2"), ("r2", COMMAND), ("r3", "/improv Dm7 G7 Cmaj7")):
            status, body = post_command(first, text, user=user)
            assert status == 202, body
            jobs.append(body["job_id"])
        deadline = time.monotonic() + FIRST_JOB_S
        while get_json(f"{first.url}/api/jobs/{jobs[0]}")[1]["status"] == "queued":
            never = time.monotonic() > deadline or first.failed_worker_starts() >= 2
            assert not never, f"the first job never started:\n{first.log_tail()}"
            time.sleep(0.05)
    finally:
        first.stop(kill=True)
    assert first.proc.returncode == -signal.SIGKILL
    left_behind = Path(tempfile.gettempdir()) / f"tunesmith-workers-{first.proc.pid}"
    assert left_behind.is_dir()  # the killed bot's workers' temp folder...
    rows = db_rows(first)
    assert [rows[j]["status"] for j in jobs] == ["running", "queued", "queued"], [rows[j] for j in jobs]

    db_insert(first, id="corrupt", share_token="corrupt-token", command="/improv C", request="not json",
              status="queued")

    with start_bot(data, GENEROUS) as second:
        # Resumed in the order they came: once the last is done, the others must be (a lost one never is).
        for job_id, timeout in zip(jobs[::-1], (FIRST_JOB_S, 5, 5), strict=True):
            final = finished(second, job_id, timeout=timeout)
            assert final["status"] == "done", final
            status, audio = get_bytes(final["outputs"][0]["audio_url"])
            assert status == 200 and audio.startswith(b"OggS")
        corrupt = finished(second, "corrupt", timeout=10)
        assert corrupt["status"] == "failed" and "could not resume" in corrupt["error"], corrupt
        assert not left_behind.exists()  # ...is cleared by the next bot
        assert not list((data / "artifacts").glob("*/.scratch"))  # and no job left render scratch behind


def test_bot_starts_despite_a_row_whose_request_is_a_json_list(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with start_bot(data, {"TUNESMITH_WORKERS": "0"}) as bot:
        pass
    db_insert(bot, id="odd", share_token="odd-token", command="/improv C", request="[]", status="queued")
    with start_bot(data, {"TUNESMITH_WORKERS": "0"}, timeout=20) as bot:
        final = finished(bot, "odd", timeout=10)
        assert final["status"] == "failed" and "could not resume" in final["error"]
