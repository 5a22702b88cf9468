"""Share pages: player, piano roll, downloads, the recipe, and OpenGraph tags for chat unfurls.

Each page is worded for the kind of piece its command made, as the command's family declares it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from html import escape

from bot.command_line import split_words
from bot.commands import ALIASES, CHAT_COMMANDS
from bot.service import JobView
from generation.errors import InputError
from generation.families.registry import family_of_config

STYLE = """
body{font-family:system-ui,sans-serif;max-width:860px;margin:2rem auto;padding:0 1rem;color:#2d2a26;background:#faf8f3}
h1{font-size:1.4rem} .out{margin:1.5rem 0;padding:1rem;background:#fff;border:1px solid #e4dfd3;border-radius:8px}
img{max-width:100%;border:1px solid #e4dfd3} audio{width:100%;margin:.5rem 0}
code{background:#efe9dc;padding:.1rem .3rem;overflow-wrap:anywhere}
.recipe{font-size:.95rem} a{color:#2f5f95} .notes{color:#5c564b;overflow-wrap:anywhere}
"""
MAX_NAMED = 12  # chords or pitches named in a headline; more become "..."
AUDIO_TYPES = {"ogg": ("audio/ogg", "OGG"), "mp3": ("audio/mpeg", "MP3"), "wav": ("audio/wav", "WAV")}


@dataclass(frozen=True)
class Wording:
    """How a page talks about its piece."""

    headline: str  # the page's <h1>, e.g. "A melody improvised over C G Am F"
    description: str  # for chat unfurls (og:description), without the seed
    piece: str  # what one output is called: "Melody", "Performance", ...


def wording(view: JobView) -> Wording:
    """The words for the piece `view` made, from the command that made it (the model's family when unknown)."""
    name, words = _command_words(view.command)
    command = CHAT_COMMANDS.get(ALIASES.get(name, name))
    if command is None:  # e.g. a record with no command: the first command of the model's family
        with contextlib.suppress(InputError):
            command = family_of_config(view.model).commands[0]
    if command is None:
        return Wording("A piece by Tunesmith", f"A piece by {view.model or 'Tunesmith'}", "Piece")
    return Wording(*command.describe(_named(words) if words else "", view.model))


def share_page(view: JobView) -> str:
    """The HTML page behind a share link."""
    title = f"Tunesmith: {view.command}" if view.command else "Tunesmith"
    words = wording(view)
    first = view.outputs[0] if view.outputs else None
    description = f"{words.description} (seed {view.seed}). Listen, see the piano roll, download the MIDI."
    og = [
        ("og:type", "music.song"),
        ("og:site_name", "Tunesmith"),
        ("og:title", title),
        ("og:description", description),
        ("og:url", view.share_url),
    ]
    if first:
        og += [("og:image", first["pianoroll_url"]), ("og:image:width", "1200"), ("og:image:height", "420"),
               ("og:audio", first["audio_url"]), ("og:audio:type", _audio_type(first["audio_url"])[0])]
    meta = "\n".join(f'<meta property="{k}" content="{escape(v)}">' for k, v in og)
    meta += f'\n<meta name="description" content="{escape(description)}">'
    meta += '\n<meta name="twitter:card" content="summary_large_image">'
    if view.status == "done":
        several = len(view.outputs) > 1
        body = _notes(view.notes) + "".join(_output(words.piece, i, several, out)
                                            for i, out in enumerate(view.outputs, 1))
    elif view.status == "failed":
        body = f'<p class="error">This one failed: {escape(view.error)}</p>'
    else:
        body = f"<p>Still working on it: {escape(view.progress_text())}. Reload in a moment.</p>"
    recipe = (f'<div class="recipe"><h2>Recipe</h2><p>Command: <code>{escape(view.command)}</code></p>'
              f"<p>Model: <code>{escape(view.model)}</code> &middot; seed <code>{view.seed}</code></p>"
              f"<p>Type the same command with the same <code>seed:</code> to get the same "
              f"{escape(words.piece.lower())}.</p></div>")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">{meta}<style>{STYLE}</style>'
            f"</head><body><h1>{escape(words.headline)}</h1>{body}{recipe}</body></html>")


def _notes(notes: list[str]) -> str:
    """What was done to the input (files looped or trimmed, drums left untransposed), above the outputs."""
    if not notes:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"


def _output(piece: str, i: int, several: bool, out: dict) -> str:
    name = f"{piece} {i}" if several else piece
    kind = _audio_type(out["audio_url"])[1]
    return (f'<div class="out" id="output-{i}"><h2>{escape(name)}</h2>'
            f'<audio controls preload="metadata" src="{escape(out["audio_url"])}"></audio>'
            f'<img alt="Piano roll of {escape(name.lower())}" src="{escape(out["pianoroll_url"])}">'
            f'<p><a href="{escape(out["midi_url"])}" download>Download MIDI</a> &middot; '
            f'<a href="{escape(out["audio_url"])}" download>Download audio ({kind})</a></p></div>')


def _audio_type(url: str) -> tuple[str, str]:
    return AUDIO_TYPES.get(url.rsplit(".", 1)[-1].lower(), ("audio/ogg", "OGG"))


def _command_words(command: str) -> tuple[str, list[str]]:
    """The command's name ("improv") and its plain words (chords, pitches), options left out."""
    try:
        words = [w for w, _ in split_words(command)]
    except InputError:  # a stored command the tokeniser refuses now: its name is still the first word
        words = command.split()[:1]
    if not words:
        return "", []
    name = words[0].lstrip("/").lower()
    return name, [w for w in words[1:] if ":" not in w]


def _named(words: list[str]) -> str:
    return " ".join(words[:MAX_NAMED]) + (" ..." if len(words) > MAX_NAMED else "")
