"""deploy/slack-app-manifest.json matches what the Slack front end serves: every chat command and /history, one
request URL, the interactivity its buttons need, the message events thread replies need, and the scopes to post
(and share files) in any public channel without being invited."""

from __future__ import annotations

import json
from pathlib import Path

from bot.commands import COMMANDS

MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "slack-app-manifest.json"


def test_the_manifest_declares_what_the_front_end_serves() -> None:
    manifest = json.loads(MANIFEST.read_text())
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    missing = {f"/{name}" for name in (*COMMANDS, "history")} - set(commands)
    assert not missing, f"add {sorted(missing)} to deploy/slack-app-manifest.json (Slack needs each command declared)"
    settings = manifest["settings"]
    url = settings["event_subscriptions"]["request_url"]
    assert url.endswith("/slack/events") and all(c["url"] == url for c in commands.values())
    assert settings["interactivity"] == {"is_enabled": True, "request_url": url}
    assert {"message.channels", "message.groups"} <= set(settings["event_subscriptions"]["bot_events"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # chat:write.public posts in any public channel; channels:join lets the bot join one to share the files there
    assert {"commands", "chat:write", "chat:write.public", "channels:join", "files:write", "channels:history"} <= scopes
    assert all(len(c["description"]) <= 100 and len(c.get("usage_hint", "")) <= 100 for c in commands.values())
