"""What a hostile or careless caller sends the HTTP API, against a real `python -m bot` with no model workers:
huge and deeply nested bodies, broken multipart, commands the worker would refuse, half-sent requests, one
client posing as many users. Each gets a clear 4xx at once, never a 500; the bot keeps answering meanwhile.

The bots sit behind a "reverse proxy" (TUNESMITH_TRUSTED_PROXY=127.0.0.1), so X-Forwarded-For gives each test
client its own network address.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botproc import BotProcess, get_json, post_command, post_multipart, request, start_bot

from bot.commands import CommandError, parse_command

ROOMY = {"TUNESMITH_WORKERS": "0", "TUNESMITH_TRUSTED_PROXY": "127.0.0.1", "TUNESMITH_QUEUE_CAP": "1000",
         "TUNESMITH_RATE_LIMIT_PER_MINUTE": "1000", "TUNESMITH_MAX_ACTIVE_PER_USER": "1000",
         "TUNESMITH_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "1000", "TUNESMITH_MAX_ACTIVE_PER_ADDRESS": "1000",
         "TUNESMITH_REQUEST_TIMEOUT_S": "2"}
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    with start_bot(tmp_path_factory.mktemp("hostile") / "data", ROOMY) as proc:
        yield proc


def post(bot: BotProcess, body: bytes, content_type: str = "application/json", address: str = "10.0.0.1",
         cookie: str = "") -> tuple[int, Any, float]:
    """POST /api/commands from `address`; (status, JSON body, seconds to the answer)."""
    headers = {"Content-Type": content_type, "X-Forwarded-For": address, **({"Cookie": cookie} if cookie else {})}
    start = time.perf_counter()
    status, raw, _ = request("POST", f"{bot.url}/api/commands", body, headers, timeout=20)
    took = time.perf_counter() - start
    try:
        return status, json.loads(raw), took
    except ValueError:
        return status, {"raw": raw.decode("utf-8", "replace")}, took


def command(bot: BotProcess, text: str, address: str = "10.0.0.1", **fields: str) -> tuple[int, Any, float]:
    return post(bot, json.dumps({"text": text, **fields}).encode(), address=address)


# --- big texts (Why 3) ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("what", "text"), [("one 1 MB token", "/improv " + "C" * 1_000_000),
                                            ("500k chords", "/improv" + " C" * 500_000)])
def test_megabyte_commands_are_refused_at_once(bot: BotProcess, what: str, text: str) -> None:
    status, body, took = command(bot, text)
    assert status == 413, (what, body)
    assert "at most 65,536" in body["error"], body
    assert took < 1.0, f"{what}: {took:.1f} s"  # main took 43 s and 77 s, /healthz frozen meanwhile


def test_a_long_command_within_the_body_cap_says_how_long_a_command_may_be(bot: BotProcess) -> None:
    status, body, took = command(bot, "/improv" + " C" * 20_000)
    assert status == 400, body
    assert "40,007 characters long; at most 4,000" in body["error"], body
    assert took < 1.0


def test_healthz_answers_while_big_texts_arrive(bot: BotProcess) -> None:
    import threading

    done = threading.Event()

    def flood() -> None:
        for _ in range(5):
            command(bot, "/improv" + " Am7" * 12_000)
        done.set()

    threading.Thread(target=flood).start()
    slowest = 0.0
    while not done.is_set():
        start = time.perf_counter()
        assert get_json(f"{bot.url}/healthz", timeout=5)[0] == 200
        slowest = max(slowest, time.perf_counter() - start)
    assert slowest < 0.5, f"/healthz took {slowest:.2f} s"


# --- 500s (Why 4) --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "says"), [("[1," * 1000, "12 numbers"), ("-" * 3900 + "1", "12 numbers"),
                                            ("[" * 1900 + "]" * 1900, "12 numbers"), ("[1," * 2000, "at most 4,000")])
def test_nested_histogram_is_a_clear_400(bot: BotProcess, value: str, says: str) -> None:
    """Nested values made main's literal parser raise MemoryError or RecursionError (a 500); now our flat-list
    parser (or the length cap) answers."""
    status, body, _ = command(bot, "/perform histogram:" + value)
    assert status == 400, body
    assert says in body["error"], body


def test_json_nested_a_hundred_thousand_deep_is_a_400(bot: BotProcess) -> None:
    deep = b'{"text": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"  # under the 64 KB cap: the parser meets it
    status, body, _ = post(bot, deep)
    assert status == 400, body
    assert '{"text": "/improv C G Am F primer:60"}' in body["error"], body
    status, body, _ = post(bot, b"[" * 100_000)
    assert status == 413, body


@pytest.mark.parametrize(("content_type", "payload"), [
    ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n/help\r\n--x--\r\n"),
    ("multipart/form-data; boundary=abc", b"\x00\xff garbage without any boundary line \r\n\r\n"),
    ("multipart/form-data; boundary=abc", b"--abc\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--abc"),
])
def test_broken_multipart_is_a_400(bot: BotProcess, content_type: str, payload: bytes) -> None:
    status, body, _ = post(bot, payload, content_type)
    assert status == 400, body
    assert "error" in body, body


def test_not_json_at_all_is_a_400(bot: BotProcess) -> None:
    status, body, _ = post(bot, b"\xff\xfe not json")
    assert status == 400 and "send JSON like" in body["error"], body


# --- accepted then failed in the worker (Why 7) --------------------------------------------------------------
def test_three_hundred_chords_are_refused_at_submit(bot: BotProcess) -> None:
    status, body, _ = command(bot, "/improv" + " C" * 300)
    assert status == 400, body
    assert "at most 256 chords" in body["error"], body


def test_infinite_histogram_is_refused_at_submit(bot: BotProcess) -> None:
    status, body, _ = command(bot, "/perform histogram:[1e999,0,0,0,0,0,0,0,0,0,0,0]")
    assert status == 400, body
    assert "finite number" in body["error"], body


@pytest.mark.parametrize(("digits", "says"), [(5000, "at most 4,000 are allowed"), (40, "between 1 and 64")])
def test_numbers_too_long_for_python_say_what_is_allowed(digits: int, says: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("/improv C G bars:" + "9" * digits)
    assert says in str(caught.value) and "digits" not in str(caught.value)  # not "Exceeds the limit (4300 digits)"


# --- headers and content types (Why 8) -----------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/healthz", "/static/chat.js", "/api/jobs/nope", "/s/nope",
                                  "/s/nope/files/x.ogg"])
def test_every_answer_has_security_headers(bot: BotProcess, path: str) -> None:
    status, _, headers = request("GET", f"{bot.url}{path}")
    assert status in (200, 404), (path, status)
    missing = [h for h in SECURITY_HEADERS if h not in headers]
    assert not missing, (path, missing)
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


# --- half-sent requests (Why 10) -----------------------------------------------------------------------------
def test_half_sent_headers_are_dropped(bot: BotProcess) -> None:
    with socket.create_connection(("127.0.0.1", bot.port), timeout=10) as s:
        s.sendall(b"POST /api/commands HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        start = time.perf_counter()
        assert s.recv(1024) == b""  # closed by the bot
        assert time.perf_counter() - start < 6  # TUNESMITH_REQUEST_TIMEOUT_S=2 (+ aiohttp's timer slack)


def test_half_sent_body_gets_a_408(bot: BotProcess) -> None:
    with socket.create_connection(("127.0.0.1", bot.port), timeout=10) as s:
        s.sendall(b"POST /api/commands HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"text\": ")
        start = time.perf_counter()
        answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.perf_counter() - start < 6


# --- limits a caller cannot dodge (Why 5) ---------------------------------------------------------------------
def test_one_address_posing_as_a_hundred_users_cannot_fill_the_queue(tmp_path: Path) -> None:
    env = {**ROOMY, "TUNESMITH_QUEUE_CAP": "50", "TUNESMITH_RATE_LIMIT_PER_MINUTE": "6",
           "TUNESMITH_MAX_ACTIVE_PER_USER": "2", "TUNESMITH_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "20",
           "TUNESMITH_MAX_ACTIVE_PER_ADDRESS": "6"}
    with start_bot(tmp_path / "data", env) as bot:
        statuses = [command(bot, "/improv C G Am F", address="10.6.6.6", user=f"name{i}")[:2] for i in range(100)]
        accepted = [s for s, _ in statuses if s == 202]
        assert len(accepted) == 6, statuses[:8]
        assert "from your address" in statuses[-1][1]["error"], statuses[-1]
        status, body, _ = command(bot, "/improv C G Am F", address="10.0.0.7", user="honest")
        assert status == 202, body
        assert body["position"] == 2, body  # fair turns: the honest user's first job before the flood's second


def test_the_chat_identity_is_signed_by_the_server(bot: BotProcess) -> None:
    _, _, headers = request("GET", f"{bot.url}/")
    issued = headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    assert "." in issued and len(issued.split(".")[1]) == 32, issued  # id.signature
    _, _, again = request("GET", f"{bot.url}/", headers={"Cookie": f"tunesmith_user={issued}"})
    assert "Set-Cookie" not in again  # ours: kept
    _, _, forged = request("GET", f"{bot.url}/", headers={"Cookie": "tunesmith_user=alice"})
    assert "Set-Cookie" in forged and "alice" not in forged["Set-Cookie"]  # chosen by the client: replaced


def test_a_forged_chat_cookie_counts_as_its_address(tmp_path: Path) -> None:
    env = {**ROOMY, "TUNESMITH_RATE_LIMIT_PER_MINUTE": "2", "TUNESMITH_MAX_ACTIVE_PER_USER": "100"}
    with start_bot(tmp_path / "data", env) as bot:
        results = [post(bot, json.dumps({"text": "/improv C G"}).encode(), address="10.1.1.1",
                        cookie=f"tunesmith_user=forged{i}")[:2] for i in range(3)]
        assert [s for s, _ in results] == [202, 202, 429], results


# --- hostile MIDI attachments (Why 2) ---------------------------------------------------------------------
def _vm_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def test_hostile_midi_through_the_api_is_refused_and_the_bot_stays_small(bot: BotProcess) -> None:
    """The 37-byte file that grew main's bot past 12 GB, 160k notes, 20k time signatures: each a clear 400
    within seconds; the bot process (its children apart) grows by less than 50 MB."""
    from test_hostile_midi import long_note, many_notes, many_time_signatures

    before = _vm_kb(bot.proc.pid, "VmRSS")
    for build, says in ((long_note, "at most 10 minutes"), (many_notes, "at most 20,000"),
                        (many_time_signatures, "at most 1,000")):
        start = time.perf_counter()
        status, body = post_multipart(bot, "/improv C G Am F", (f"{build.__name__}.mid", build()), user="midi")
        assert status == 400, (build.__name__, body)
        assert f"{build.__name__}.mid" in body["error"] and says in body["error"], body
        assert time.perf_counter() - start < 5.0
    grown_mb = (_vm_kb(bot.proc.pid, "VmHWM") - before) / 1024
    assert grown_mb < 50, f"the bot grew by {grown_mb:.0f} MB"


def test_rate_limit_comes_before_reading_the_attachment(tmp_path: Path) -> None:
    from test_hostile_midi import long_note

    env = {**ROOMY, "TUNESMITH_RATE_LIMIT_PER_MINUTE": "1"}
    with start_bot(tmp_path / "data", env) as bot:
        assert post_command(bot, "/improv C G", user="busy")[0] == 202  # same address as post_multipart's
        status, body = post_multipart(bot, "/improv C G Am F", ("big.mid", long_note()), user="busy")
        assert status == 429 and "limit is 1 per minute" in body["error"], body  # not the file's problem


def test_an_empty_mag_file_says_it_is_empty(tmp_path: Path) -> None:
    """Main said "/tmp/x.mag is a  bundle, not an Improv RNN" (the empty file parsed as an empty bundle)."""
    import subprocess
    import sys

    empty = tmp_path / "empty.mag"
    empty.write_bytes(b"")
    done = subprocess.run([sys.executable, "-m", "generation.cli.improv_rnn_generate", f"--bundle_file={empty}",
                           f"--output_dir={tmp_path / 'out'}"], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode != 0
    assert "'empty.mag' is not a Magenta generator bundle" in done.stderr and "(the file is empty)" in done.stderr
    assert "Traceback" not in done.stderr
