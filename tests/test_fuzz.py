"""Fuzzing (hypothesis, bounded): the command grammar and the HTTP API never answer with a crash.

The grammar either returns a request or raises InputError (CommandError) with a message, fast; the HTTP API
answers every body, content type and command with a JSON answer below 500, on a real `python -m bot` (no
model workers, so accepted jobs just wait).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from botproc import BotProcess, request, start_bot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import COMMANDS, OPTIONS_OF, CommandError, parse_command
from generation.errors import InputError

# Words a user types: commands, option names with values near and far from the allowed ones, chords, notes.
_VALUES = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True).map(str),
                    st.sampled_from(["", "on", "off", "[60,-2,64]", "[(55,), (55,64,)]", "1e999", "nan", "-0",
                                     "[" * 50, "C E G", "[2,0,0,0,1,0,0,1,0,0,0,1]", "\u266f", "'", '"']),
                    st.text(max_size=12))
_OPTION = st.builds(lambda name, value: f"{name}:{value}",
                    st.sampled_from(sorted({o.name for opts in OPTIONS_OF.values() for o in opts} | {"foo"})),
                    _VALUES)
_WORD = st.one_of(_OPTION, st.sampled_from(["C", "G7", "Am", "F/A", "Hm7", "N.C.", "on", "C4", "-", "r", "G#5",
                                            "Bb3", "x", "/help", "'quoted words'", '"a', "\\"]),
                  st.text(max_size=8))
_COMMAND = st.builds(lambda name, words: " ".join([f"/{name}", *words]),
                     st.sampled_from([*COMMANDS, "jazz", ""]), st.lists(_WORD, max_size=30))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_COMMAND, st.text(max_size=300)))
def test_grammar_answers_everything_with_a_request_or_a_message(text: str) -> None:
    start = time.perf_counter()
    try:
        parsed = parse_command(text, default_seed=1)
    except CommandError as e:
        assert str(e) and "Traceback" not in str(e)
        e.pointer()  # the caret line can always be drawn
    except InputError as e:
        assert str(e)
    else:
        assert parsed.name in COMMANDS
    assert time.perf_counter() - start < 0.25, text  # on the event loop's thread: must stay cheap


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="[](),C ", min_size=3000, max_size=3990))
def test_grammar_is_fast_on_the_longest_texts(tail: str) -> None:
    start = time.perf_counter()
    with pytest.raises(InputError):
        parse_command("/improv " + tail.replace(" ", "") + " x", default_seed=1)
    assert time.perf_counter() - start < 0.25


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    env = {"TUNESMITH_WORKERS": "0", "TUNESMITH_QUEUE_CAP": "100000", "TUNESMITH_RATE_LIMIT_PER_MINUTE": "100000",
           "TUNESMITH_MAX_ACTIVE_PER_USER": "100000", "TUNESMITH_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "100000",
           "TUNESMITH_MAX_ACTIVE_PER_ADDRESS": "100000"}
    with start_bot(tmp_path_factory.mktemp("fuzz") / "data", env) as proc:
        yield proc


_JSON = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                 max_size=4), max_leaves=20)
_BODY = st.one_of(
    st.builds(lambda text, extra: json.dumps({"text": text, **extra}).encode(), _COMMAND,
              st.dictionaries(st.sampled_from(["user", "x"]), _JSON, max_size=2)),
    _JSON.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=400),
)
_CONTENT_TYPE = st.sampled_from(["application/json", "multipart/form-data", "multipart/form-data; boundary=zz",
                                 "text/plain", "application/x-www-form-urlencoded", ""])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_BODY, content_type=_CONTENT_TYPE)
def test_http_api_never_answers_500(bot: BotProcess, body: bytes, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    status, raw, answer_headers = request("POST", f"{bot.url}/api/commands", body, headers, timeout=10)
    assert status < 500, (status, raw[:300])
    assert status in (200, 202, 400, 413, 429), (status, raw[:300])
    answer = json.loads(raw)
    assert bool(answer.get("error")) == (status >= 400), answer
    assert "Traceback" not in raw.decode("utf-8", "replace")
    assert answer_headers.get("X-Content-Type-Options") == "nosniff"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="?#%"),
                    max_size=40))
def test_http_paths_never_answer_500(bot: BotProcess, path: str) -> None:
    for prefix in ("/api/jobs/", "/s/", "/s/x/files/", "/static/"):
        status, raw, _ = request("GET", f"{bot.url}{prefix}{path}", timeout=10)
        assert status < 500, (prefix + path, status, raw[:200])
