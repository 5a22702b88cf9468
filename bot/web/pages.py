"""Share pages: player, piano roll, downloads, the recipe, and OpenGraph tags for chat unfurls."""

from __future__ import annotations

from html import escape

from bot.service import JobView

STYLE = """
body{font-family:system-ui,sans-serif;max-width:860px;margin:2rem auto;padding:0 1rem;color:#2d2a26;background:#faf8f3}
h1{font-size:1.4rem} .out{margin:1.5rem 0;padding:1rem;background:#fff;border:1px solid #e4dfd3;border-radius:8px}
img{max-width:100%;border:1px solid #e4dfd3} audio{width:100%;margin:.5rem 0}
code{background:#efe9dc;padding:.1rem .3rem}
.recipe{font-size:.95rem} a{color:#2f5f95}
"""


def share_page(view: JobView) -> str:
    """The HTML page behind a share link."""
    title = f"Tunesmith: {view.command}" if view.command else "Tunesmith"
    first = view.outputs[0] if view.outputs else None
    made = {"polyphony": "Music written by the Polyphony RNN", "rnn-nade": "Piano music by RNN-NADE",
            "rnn-nade-bach": "A Bach-style piece by RNN-NADE"}.get(view.model, f"A melody improvised by {view.model}")
    description = f"{made} (seed {view.seed}). Listen, see the piano roll, download the MIDI."
    og = [
        ("og:type", "music.song"),
        ("og:site_name", "Tunesmith"),
        ("og:title", title),
        ("og:description", description),
        ("og:url", view.share_url),
    ]
    if first:
        og += [("og:image", first["pianoroll_url"]), ("og:image:width", "1200"), ("og:image:height", "420"),
               ("og:audio", first["audio_url"]), ("og:audio:type", "audio/ogg")]
    meta = "\n".join(f'<meta property="{k}" content="{escape(v)}">' for k, v in og)
    meta += '\n<meta name="twitter:card" content="summary_large_image">'
    if view.status == "done":
        body = "".join(_output(i, out) for i, out in enumerate(view.outputs, 1))
    elif view.status == "failed":
        body = f'<p class="error">This one failed: {escape(view.error)}</p>'
    else:
        body = f"<p>Still working on it: {escape(view.progress_text())}. Reload in a moment.</p>"
    recipe = (f'<div class="recipe"><h2>Recipe</h2><p>Command: <code>{escape(view.command)}</code></p>'
              f"<p>Model: <code>{escape(view.model)}</code> &middot; seed <code>{view.seed}</code></p>"
              "<p>Type the same command with the same <code>seed:</code> to get the same melody.</p></div>")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">{meta}<style>{STYLE}</style>'
            f"</head><body><h1>{escape(title)}</h1>{body}{recipe}</body></html>")


def _output(i: int, out: dict) -> str:
    return (f'<div class="out" id="output-{i}"><h2>Melody {i}</h2>'
            f'<audio controls preload="metadata" src="{escape(out["audio_url"])}"></audio>'
            f'<img alt="Piano roll of melody {i}" src="{escape(out["pianoroll_url"])}">'
            f'<p><a href="{escape(out["midi_url"])}" download>Download MIDI</a> &middot; '
            f'<a href="{escape(out["audio_url"])}" download>Download audio (OGG)</a></p></div>')
