"""Splitting a command line into words: capped first, then one linear pass (shell-style quotes, as shlex).

shlex.split grows each word one character at a time (`self.token = self.token + c`), which is quadratic: one
1 MB word took 13-43 s and held the event loop. Here the text is capped before anything else looks at it, and
the split is one regular-expression pass whose pieces never backtrack (possessive quantifiers).
"""

from __future__ import annotations

import re

from generation.families.chat import CommandError

MAX_COMMAND_CHARS = 4000  # a 64-bar melody typed one word per 16th note fits; Discord's own messages stop at 2000
MAX_WORDS = 1100  # 64 bars x 16 melody words, plus options

_SPACE = re.compile(r"[ \t\r\n]*+")
# One word: runs of plain characters, "double-quoted" (\" and \\ escaped), 'single-quoted', or \x.
_WORD = re.compile(r"""(?:[^ \t\r\n"'\\]++|"(?:[^"\\]++|\\.)*+"|'[^']*+'|\\.)++""", re.DOTALL)
_PIECE = re.compile(r"""([^ \t\r\n"'\\]++)|"((?:[^"\\]++|\\.)*+)"|'([^']*+)'|\\(.)""", re.DOTALL)
_DQ_ESCAPE = re.compile(r"""\\(["\\])""")


def check_length(text: str) -> None:
    """Refuse a text too long to be a command, or one that is not valid Unicode, before reading it.

    Raises:
        CommandError: saying how long it is and how long a command may be.
    """
    if len(text) > MAX_COMMAND_CHARS:
        raise CommandError(text[:60] + "...", "", f"the command is {len(text):,} characters long; at most "
                           f"{MAX_COMMAND_CHARS:,} are allowed (for a longer melody, attach a MIDI file in the web "
                           "chat, Discord or the API)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from JSON "\ud800": not text, and SQLite would refuse them
        raise CommandError("", "", "the command contains characters that are not valid Unicode text") from None


def split_words(text: str) -> list[tuple[str, int]]:
    """The words of a (length-checked) command with the column each starts at, quotes removed as shlex does.

    Raises:
        CommandError: an unclosed quote, a trailing backslash, or more than MAX_WORDS words.
    """
    words: list[tuple[str, int]] = []
    pos, end = 0, len(text)
    while True:
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]  # * always matches
        if pos >= end:
            return words
        match = _WORD.match(text, pos)
        stop = match.end() if match else pos
        if stop < end and text[stop] not in " \t\r\n":  # an unclosed quote, or a backslash ending the text
            raise CommandError(text, text[stop], "unbalanced quotes in the command", stop)
        if len(words) == MAX_WORDS:
            raise CommandError(text, "", f"the command has more than {MAX_WORDS:,} words; at most {MAX_WORDS:,} "
                               "are allowed", pos)
        words.append((_unquote(text[pos:stop]), pos))
        pos = stop


def _unquote(raw: str) -> str:
    if raw.isalnum():  # the common case: nothing to undo
        return raw
    out = []
    for plain, double, single, escaped in _PIECE.findall(raw):
        out.append(plain or _DQ_ESCAPE.sub(r"\1", double) or single or escaped)
    return "".join(out)


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """Each word of a (length-checked) command with where it starts and ends in `text` (quotes included), so a
    command line can be rewritten keeping every other word exactly as typed.

    Raises:
        CommandError: as `split_words`.
    """
    return [(word, start, _WORD.match(text, start).end())  # type: ignore[union-attr]  # split_words matched it
            for word, start in split_words(text)]
