"""Share pages are worded for the piece they share: one real job of each kind through a real `python -m bot`, its
share page read as a chat unfurl and a visitor read it (headline, og:description, the heading of each output)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from botproc import BotProcess, get_bytes, post_command, start_bot, wait_for_job

# command -> (words the headline has, the og:description has, the output headings)
CASES = {
    "/improv C G Am F seed:1": ("A melody improvised over C G Am F", "melody improvised over C G Am F",
                                ["Melody"]),
    "/harmonize C4 - E4 - G4 - - - seed:1": ("harmonised", "melody harmonised in four parts, with chords learnt",
                                             ["Harmonisation"]),
    "/chorale G4 E4 C4 bars:2 seed:1": ("A chorale grown from G4 E4 C4", "chorale grown from G4 E4 C4",
                                        ["Chorale"]),
    "/pianoroll [(60,64,67)] bars:1 config:rnn-nade-bach seed:1": ("A Bach-style piano piece by RNN-NADE",
                                                                   "Bach-style piano piece", ["Piece"]),
    "/perform seconds:2 outputs:2 seed:1": ("A piano performance by the Performance RNN",
                                            "piano performance", ["Performance 1", "Performance 2"]),
}


@dataclass
class Page(HTMLParser):
    """The parts of a share page a reader and an unfurler look at."""

    html: str = field(default="", repr=False)
    h1: str = ""
    h2: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    _in: str = ""

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "meta" and a.get("property"):
            self.meta[str(a["property"])] = a.get("content") or ""
        if tag in ("h1", "h2"):
            self._in = tag
            if tag == "h2":
                self.h2.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = ""

    def handle_data(self, data: str) -> None:
        if self._in == "h1":
            self.h1 += data
        elif self._in == "h2":
            self.h2[-1] += data


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    bot = start_bot(tmp_path_factory.mktemp("share") / "data")
    yield bot
    bot.stop()


@pytest.fixture(scope="module")
def pages(bot: BotProcess) -> dict[str, Page]:
    """Each command of CASES run to the end, and its share page as served."""
    jobs = {}
    for i, command in enumerate(CASES):
        status, body = post_command(bot, command, user=f"sharer{i}")
        assert status == 202, (command, body)
        jobs[command] = body["job_id"]
    out = {}
    for command, job_id in jobs.items():
        view = wait_for_job(bot, job_id, timeout=240)
        assert view["status"] == "done", (command, view, bot.log_tail())
        status, html = get_bytes(view["share_url"])
        assert status == 200, (command, status)
        page = Page(html=html.decode())
        page.feed(page.html)
        out[command] = page
    return out


@pytest.mark.parametrize("command", list(CASES))
def test_share_page_is_worded_for_its_kind_of_piece(pages: dict[str, Page], command: str) -> None:
    headline, description, headings = CASES[command]
    page = pages[command]
    assert headline in page.h1, page.h1
    assert description in page.meta["og:description"], page.meta["og:description"]
    assert page.h2[:len(headings)] == headings, page.h2  # then "Recipe"
    assert command in page.meta["og:title"]
    piece = headings[0].split()[0].lower()
    assert f"to get the same {piece}." in page.html  # the recipe's promise
    if not command.startswith("/improv"):  # what every page used to say
        said = " ".join([page.h1, page.meta["og:description"], *page.h2])
        assert "improvised" not in said and "Melody" not in said, said

