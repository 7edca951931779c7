"""Alerts in Teams over real HTTP: the alerts-channel card's "Declare incident" button, the
"all alerts resolved, is it over?" question with its Resolve button, and hostile alert text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.alerting.model import AlertQuery
from bot.domain.model import Incident, Status
from integrations.teams import cards
from tests.alerts.support import AM_TOKEN, am_alert, am_payload, post_am
from tests.fakes.bot_connector import Call
from tests.teams import activities as act
from tests.teams.conftest import Harness
from tests.teams.test_card_actions import MESSAGE

RESOLVED_AT = "2026-11-23T09:05:00Z"


@pytest.fixture
def settings_overrides(settings_overrides: dict[str, Any]) -> dict[str, Any]:
    """Teams as the chat platform, Alertmanager accepted, each webhook announced at once."""
    return {**settings_overrides, "alertmanager_token": AM_TOKEN, "alert_settle_seconds": 0}


def actions(call: Call, verb: str) -> list[dict[str, Any]]:
    """The card's Action.Execute buttons with this verb."""
    card = call.card or {}
    return [a for a in card.get("actions", []) if a.get("verb") == verb]


def alert_cards(teams: Harness) -> list[Call]:
    """Every version of the alerts-channel cards (posts and in-place edits), oldest first."""
    return [
        c
        for c in teams.connector.calls
        if c.ok
        and c.card is not None
        and c.method in ("POST", "PUT")
        and act.ALERTS_CHANNEL in json.dumps(c.body) + (c.conversation or "")
    ]


async def warning_alert(teams: Harness, status: str = "firing") -> None:
    """A warning (notify-only) alert of the Latency group, firing or resolved."""
    ends = RESOLVED_AT if status == "resolved" else "0001-01-01T00:00:00Z"
    alert = am_alert("web1", severity="warning", status=status, ends=ends)
    await post_am(teams.client, am_payload([alert], group="Latency", status=status))
    await teams.settle()


async def declare_from_the_alert_card(teams: Harness) -> Incident:
    """The warning reaches the alerts channel; Alice declares from its card, twice."""
    await warning_alert(teams)
    assert await teams.incidents() == [], "a warning alert declared by itself"
    [posted] = alert_cards(teams)
    [button] = actions(posted, cards.VERB_DECLARE_ALERTS)
    assert button["type"] == "Action.Execute" and button["title"] == "Declare incident"
    assert button["data"]["group"].startswith("alertmanager|")

    channel = act.channel_conversation(act.ALERTS_CHANNEL, posted.activity_id or act.next_id())
    first = await teams.click(button["verb"], button["data"], conversation=channel)
    second = await teams.click(button["verb"], button["data"], conversation=channel)
    assert first["type"] == second["type"] == MESSAGE
    assert "INC-1 declared" in first["value"]
    assert "INC-1 is already open" in second["value"]
    await teams.settle()
    [incident] = await teams.incidents()
    return incident


async def test_declare_button_on_an_alert_card_declares_once(teams: Harness) -> None:
    incident = await declare_from_the_alert_card(teams)

    assert (incident.ref, incident.origin) == ("INC-1", "alert")
    assert incident.declared_by == act.ALICE.id
    alerts = await teams.runtime.db.run(lambda r: r.alerts.list_alerts("default", AlertQuery()))
    assert alerts and [a.incident_id for a in alerts] == [incident.id]
    # The incident got its Teams room, and the alert card now names it, without the button.
    assert (await teams.room(incident))["id"]
    latest = alert_cards(teams)[-1]
    assert "INC-1" in latest.card_text
    assert actions(latest, cards.VERB_DECLARE_ALERTS) == []


async def test_a_bad_group_value_is_refused_with_a_message(teams: Harness) -> None:
    body = await teams.click(cards.VERB_DECLARE_ALERTS, {"group": "no-separator"})
    assert body["type"] == MESSAGE and "does not name an alert group" in body["value"]
    missing = await teams.click(cards.VERB_DECLARE_ALERTS, {"group": "alertmanager|nothing"})
    assert missing["type"] == MESSAGE
    assert await teams.incidents() == []


async def test_all_alerts_resolved_asks_the_commander_and_resolve_button_resolves(
    teams: Harness,
) -> None:
    incident = await declare_from_the_alert_card(teams)
    room = (await teams.room(incident))["id"]

    await warning_alert(teams, status="resolved")

    [ask] = [c for c in teams.connector.posted_to(room) if "All alerts of" in c.card_text]
    assert ask.card is not None
    text = ask.card_text
    assert "All alerts of INC-1 have resolved. <at>Alice Archer</at>, is the incident over?" in text
    assert "/incident" not in text  # Slack's slash command means nothing in Teams
    [mention] = ask.card["msteams"]["entities"]
    assert mention["mentioned"] == {"id": act.ALICE.id, "name": "Alice Archer"}
    assert (await teams.incidents())[0].status is Status.INVESTIGATING  # nothing automatic

    [button] = actions(ask, cards.VERB_RESOLVE)
    channel, _, root = room.partition(";messageid=")
    thread = act.channel_conversation(channel, root)
    answer = await teams.click(button["verb"], button["data"], conversation=thread)
    assert answer["type"] == MESSAGE and "INC-1" in answer["value"]
    await teams.settle()
    assert (await teams.incidents())[0].status is Status.RESOLVED

    again = await teams.click(button["verb"], button["data"], conversation=thread)
    assert again["type"] == MESSAGE and "resolved to resolved" in again["value"]
    detail = await teams.runtime.service.detail("default", 1)
    assert sum(e.kind.value == "status_changed" for e in detail.timeline) == 1


async def test_hostile_alert_text_reaches_the_alerts_channel_as_plain_text(
    teams: Harness,
) -> None:
    hostile = "<at>everyone</at> @channel [click](http://evil) **bold**"
    alert = am_alert("web1", severity="warning", summary=hostile)
    await post_am(teams.client, am_payload([alert], group="Latency"))
    await teams.settle()
    [posted] = alert_cards(teams)
    assert posted.card is not None
    assert "entities" not in posted.card["msteams"]
    assert not [e for e in posted.body.get("entities") or [] if e.get("type") == "mention"]
    assert "<at>" not in json.dumps(posted.body, ensure_ascii=False).lower()
    runs = [t for t in _texts_of(posted.card, "TextRun") if "evil" in t]
    assert runs and all("[click](http://evil)" in t and "**bold**" in t for t in runs)
    assert not [t for t in _texts_of(posted.card, "TextBlock") if "evil" in t or "@channel" in t]


def _texts_of(node: Any, kind: str) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == kind and isinstance(node.get("text"), str):
            out.append(node["text"])
        for value in node.values():
            out.extend(_texts_of(value, kind))
    elif isinstance(node, list):
        for item in node:
            out.extend(_texts_of(item, kind))
    return out
