"""manifest.yml is a valid Slack app manifest that asks for exactly the scopes sitrep uses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]

# Web API method → the bot scopes it needs (public channel scope, private channel scope).
METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "views.open": set(),
    "chat.getPermalink": set(),
    "chat.postMessage": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.update": {"chat:write"},
    "conversations.create": {"channels:manage", "groups:write"},
    "conversations.invite": {"channels:manage", "groups:write"},
    "conversations.setTopic": {"channels:manage", "groups:write"},
    "conversations.join": {"channels:join"},
    "conversations.list": {"channels:read"},  # public channels only: types=public_channel
    "conversations.history": {"channels:history", "groups:history"},
    "conversations.replies": {"channels:history", "groups:history"},
    "conversations.open": {"im:write"},
    "pins.add": {"pins:write"},
    "bookmarks.add": {"bookmarks:write"},
}
# Scopes that come from features, not Web API calls.
FEATURE_SCOPES = {"commands", "reactions:read"}


def manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert isinstance(data, dict)
    return data


def methods_called() -> set[str]:
    """Every Web API method the Slack port and listeners call."""
    found: set[str] = set()
    for path in (
        ROOT / "integrations/slack/port.py",
        ROOT / "handlers/slack.py",
        ROOT / "handlers/slack_listeners.py",
    ):
        source = path.read_text()
        found |= set(re.findall(r'_call\(\s*"([a-z]+\.[A-Za-z]+)"', source))
        for name in re.findall(r"client\.(?!api_call)([a-z]+_[A-Za-z_]+)\(", source):
            family, _, verb = name.partition("_")
            camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), verb)
            found.add(f"{family}.{camel}")
    return found


def test_manifest_declares_the_command_interactivity_and_events() -> None:
    m = manifest()
    commands = m["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/incident"]
    assert commands[0]["url"].endswith("/slack/events")
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    events = set(m["settings"]["event_subscriptions"]["bot_events"])
    assert events == {"reaction_added", "message.channels", "message.groups"}
    shortcuts = m["features"]["shortcuts"]
    assert [s["callback_id"] for s in shortcuts] == ["sitrep.add_to_timeline"]
    assert shortcuts[0]["type"] == "message"


def test_manifest_asks_for_exactly_the_scopes_the_code_uses() -> None:
    called = methods_called()
    unknown = called - METHOD_SCOPES.keys()
    assert not unknown, f"add these methods to METHOD_SCOPES: {sorted(unknown)}"
    needed = set().union(*(METHOD_SCOPES[m] for m in called)) | FEATURE_SCOPES
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == needed


def test_the_code_calls_what_the_flow_needs() -> None:
    called = methods_called()
    for method in (
        "conversations.create",
        "chat.postMessage",
        "pins.add",
        "bookmarks.add",
        "conversations.setTopic",
        "chat.postEphemeral",
        "views.open",
    ):
        assert method in called
