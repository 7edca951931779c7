"""Adaptive Cards: every message kind renders, and other people's text cannot inject markup."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.snapshot import IncidentSnapshot
from bot.ports import ChatMessage
from integrations.teams import cards
from tests.fakes.bot_connector import texts
from tests.teams import activities as act

INCIDENT: IncidentSnapshot = {
    "ref": "INC-4",
    "number": 4,
    "title": "API down",
    "severity": "SEV1",
    "severity_rank": 1,
    "severity_description": "Critical",
    "status": "investigating",
    "is_open": True,
    "commander": act.ALICE.id,
    "comms_lead": None,
    "summary": "Everything 500s",
    "declared_at": "2026-11-23T09:00:00.123456Z",
    "acknowledged_at": None,
    "next_update_due_at": "2026-11-23T09:15:00Z",
    "url": "https://sitrep.example.com/i/4",
    "private": False,
    "last_update_at": None,
}
HOSTILE = (
    "**bold** _it_ [phish](https://evil.example) <at>Everyone</at> </at>\x07 # heading\n- list"
)


def all_text(card: dict[str, Any]) -> str:
    return " ".join(texts(card))


def textblocks(node: Any) -> list[str]:
    """Strings that Teams renders as markdown (TextBlock), as opposed to TextRun."""
    out: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            out.append(node["text"])
        for value in node.values():
            out.extend(textblocks(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(textblocks(item))
    return out


KINDS = [
    ChatMessage("incident_summary", "x", {"incident": INCIDENT}),
    ChatMessage("broadcast", "x", {"incident": INCIDENT}),
    ChatMessage(
        "status_update",
        "x",
        {
            "incident": INCIDENT,
            "update": {
                "text": "Rolled back",
                "author": act.BOB.id,
                "at": "2026-11-23T09:20:00+00:00",
            },
        },
    ),
    ChatMessage("notice", "Status changed to identified (by Bob)"),
    ChatMessage(
        "notice",
        "All alerts of INC-4 have resolved. x, is the incident over? `/incident resolve`",
        {"incident": INCIDENT, "mention": act.ALICE.id, "ask": "resolve"},
    ),
    ChatMessage(
        "reminder",
        "INC-4: a stakeholder update is due now.",
        {"incident": INCIDENT, "mention": act.ALICE.id, "overdue": False, "escalate_to": None},
    ),
    ChatMessage(
        "alert_group",
        "3 alerts firing",
        {"source": "alertmanager", "status": "firing", "alerts": [{"title": "HighLatency"}]},
    ),
    ChatMessage("digest", "1 open incident", {"incidents": [INCIDENT]}),
    ChatMessage(
        "action_items_due",
        "1 overdue",
        {
            "items": [
                {
                    "id": 3,
                    "text": "Add alert",
                    "incident_ref": "INC-4",
                    "due": "2026-11-20T00:00:00Z",
                }
            ]
        },
    ),
    ChatMessage("postmortem_reminder", "Write it", {"incident": INCIDENT, "mention": act.ALICE.id}),
    ChatMessage("something_new", "plain fallback"),
]


@pytest.mark.parametrize(
    "message", KINDS, ids=[m.kind + ("_ask" if (m.data or {}).get("ask") else "") for m in KINDS]
)
def test_every_kind_renders_a_valid_card(message: ChatMessage) -> None:
    rendered = cards.render(message, {act.ALICE.id: "Alice Archer"})
    card = rendered.card
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert card["body"], "empty card"
    json.dumps(card)  # serialisable as-is
    assert rendered.summary and len(rendered.summary) <= 200
    for entity in card.get("msteams", {}).get("entities", []):
        # Each mention's text must occur in the card, or Teams rejects the activity.
        assert entity["text"] in all_text(card)


def test_summary_card_has_the_responder_actions_and_local_times() -> None:
    card = cards.incident_summary(INCIDENT, {act.ALICE.id: "Alice Archer"}).card
    titles = [a["title"] for a in card["actions"]]
    assert titles == [
        "Acknowledge",
        "Change status",
        "Post update",
        "Resolve",
        "Open incident page",
    ]
    ack = card["actions"][0]
    assert ack == {
        "type": "Action.Execute",
        "title": "Acknowledge",
        "verb": cards.VERB_ACK,
        "data": {"incident": 4, "card": "summary"},
    }
    status_form = card["actions"][1]["card"]
    choices = [c["value"] for c in status_form["body"][0]["choices"]]
    assert "investigating" not in choices and "identified" in choices
    assert status_form["actions"][0]["verb"] == cards.VERB_STATUS
    # Times render in each viewer's own zone through the card date functions.
    assert "{{DATE(2026-11-23T09:00:00Z, SHORT)}}" in all_text(card)
    assert "<at>Alice Archer</at>" in all_text(card)


def test_resolved_incident_card_has_no_responder_actions() -> None:
    done: IncidentSnapshot = {
        **INCIDENT,
        "status": "resolved",
        "is_open": False,
        "acknowledged_at": "2026-11-23T09:01:00Z",
    }
    card = cards.incident_summary(done).card
    assert [a["title"] for a in card["actions"]] == ["Open incident page"]


def test_broadcast_card_marked_update_overdue() -> None:
    flagged = ChatMessage("broadcast", "x", {"incident": INCIDENT, "update_overdue": True})
    assert "Update overdue" in json.dumps(cards.render(flagged).card)
    plain = ChatMessage("broadcast", "x", {"incident": INCIDENT})
    assert "overdue" not in json.dumps(cards.render(plain).card).lower()


@pytest.mark.parametrize("field", ["title", "summary"])
def test_user_text_never_reaches_markdown(field: str) -> None:
    incident = {**INCIDENT, field: HOSTILE}
    for kind in ("incident_summary", "broadcast"):
        card = cards.render(ChatMessage(kind, "x", {"incident": incident})).card
        for block in textblocks(card):
            assert "evil.example" not in block and "**bold**" not in block
        # It is shown, verbatim, in a TextRun (no markdown), with the mention tag broken.
        shown = all_text(card)
        assert "[phish](https://evil.example)" in shown
        assert "<at>Everyone</at>" not in shown and "<\u2060at>Everyone" in shown
        assert "\x07" not in shown
        assert not [
            e for e in card["msteams"].get("entities", []) if e["mentioned"]["name"] == "Everyone"
        ]


def test_display_names_are_cleaned_before_they_enter_our_markdown() -> None:
    names = {act.ALICE.id: "Mallory](https://evil.example) **<at>x</at>**"}
    card = cards.incident_summary(INCIDENT, names).card
    [mention] = card["msteams"]["entities"]
    assert mention["mentioned"]["id"] == act.ALICE.id
    for block in textblocks(card):
        assert "](" not in block and "**<" not in block and "<at>x" not in block


def test_slack_ids_on_mirrored_incidents_are_not_mentions() -> None:
    incident: IncidentSnapshot = {**INCIDENT, "commander": "U01ALICE"}
    card = cards.incident_summary(incident).card
    assert "entities" not in card["msteams"]
    assert "U01ALICE" in all_text(card)


def test_status_update_escapes_the_update_text() -> None:
    card = cards.status_update(INCIDENT, {"text": HOSTILE, "author": "x", "at": ""}).card
    for block in textblocks(card):
        assert "evil" not in block


def test_reminder_mentions_the_commander_and_escalates_when_overdue() -> None:
    data = {
        "incident": INCIDENT,
        "mention": act.ALICE.id,
        "overdue": True,
        "escalate_to": act.BOB.id,
    }
    rendered = cards.reminder(
        data, "overdue by 15 min", {act.ALICE.id: "Alice Archer", act.BOB.id: "Bob Baker"}
    )
    ids = [e["mentioned"]["id"] for e in rendered.mentions]
    assert ids == [act.ALICE.id, act.BOB.id]
    assert "**overdue**" in all_text(rendered.card)
    assert rendered.card["actions"][0]["title"] == "Post update"


def test_declare_form_offers_every_severity() -> None:
    card = cards.declare_form([("SEV1", "Critical"), ("SEV2", "")], "SEV2", "Pre <at>x</at>").card
    ids = [b.get("id") for b in card["body"] if b["type"].startswith("Input.")]
    assert ids == ["title", "severity", "summary", "private"]
    severity = next(b for b in card["body"] if b.get("id") == "severity")
    assert [c["value"] for c in severity["choices"]] == ["SEV1", "SEV2"]
    assert severity["value"] == "SEV2"
    assert card["actions"][0]["verb"] == cards.VERB_DECLARE
    title = next(b for b in card["body"] if b.get("id") == "title")
    assert "<at>" not in title["value"]


def test_plain_truncates_and_strips_controls() -> None:
    assert cards.plain("a\x00b\x1bc", 10) == "abc"
    assert len(cards.plain("x" * 5000)) == cards.MAX_TEXT
    assert cards.safe_name("  ") == "someone"


ASK_TEXT = (
    "All alerts of INC-4 have resolved. 29:1alice-bf-id, is the incident over? "
    "Resolve it with `/incident resolve` when it is."
)


def test_all_alerts_resolved_asks_the_commander_with_a_resolve_button() -> None:
    data = {"incident": INCIDENT, "mention": act.ALICE.id, "ask": "resolve"}
    message = ChatMessage("notice", ASK_TEXT, data)
    assert act.ALICE.id in cards.user_ids(message)
    rendered = cards.render(message, {act.ALICE.id: "Alice Archer"})
    card = rendered.card
    text = all_text(card)
    assert "All alerts of INC-4 have resolved. <at>Alice Archer</at>, is the incident over?" in text
    assert "/incident" not in text and "/incident" not in card["fallbackText"]
    assert rendered.mentions == card["msteams"]["entities"]
    [mention] = rendered.mentions
    assert mention == {
        "type": "mention",
        "text": "<at>Alice Archer</at>",
        "mentioned": {"id": act.ALICE.id, "name": "Alice Archer"},
    }
    assert card["actions"][0] == {
        "type": "Action.Execute",
        "title": "Resolve",
        "verb": cards.VERB_RESOLVE,
        "data": {"incident": 4},
    }
    assert [a["title"] for a in card["actions"]] == ["Resolve", "Open incident page"]


def test_resolve_ask_without_a_teams_commander_names_them_in_plain_text() -> None:
    slack = cards.render(
        ChatMessage(
            "notice", ASK_TEXT, {"incident": INCIDENT, "mention": "U01ALICE", "ask": "resolve"}
        )
    ).card
    assert "entities" not in slack["msteams"]
    assert "U01ALICE, is the incident over?" in all_text(slack)
    nobody = cards.render(
        ChatMessage("notice", ASK_TEXT, {"incident": INCIDENT, "mention": None, "ask": "resolve"})
    ).card
    assert "Commander, is the incident over?" in all_text(nobody)
    # Resolved meanwhile: the question stays, the button goes.
    done = {**INCIDENT, "status": "resolved", "is_open": False}
    closed = cards.render(ChatMessage("notice", ASK_TEXT, {"incident": done, "ask": "resolve"}))
    assert [a["title"] for a in closed.card["actions"]] == ["Open incident page"]


def test_plain_notices_keep_their_text_and_have_no_buttons() -> None:
    for data in ({}, {"incident": INCIDENT}, {"ask": "resolve"}):
        card = cards.render(ChatMessage("notice", "Status changed (by Bob)", data)).card
        assert all_text(card) == "Status changed (by Bob)"
        assert "actions" not in card and textblocks(card) == []


GROUP: dict[str, Any] = {
    "source": "alertmanager",
    "group_key": '{}:{alertname="Latency"}',
    "group_ref": 'alertmanager|{}:{alertname="Latency"}',
    "status": "firing",
    "severity": "warning",
    "alerts": [{"title": "web1 is slow", "status": "firing"}],
}


def declare_buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in card.get("actions", []) if a.get("verb") == cards.VERB_DECLARE_ALERTS]


def test_alert_group_offers_declare_until_an_incident_tracks_it() -> None:
    [button] = declare_buttons(cards.alert_group(GROUP, "1 alert firing: web1 is slow").card)
    assert button == {
        "type": "Action.Execute",
        "title": "Declare incident",
        "verb": cards.VERB_DECLARE_ALERTS,
        "style": "destructive",
        "data": {"group": 'alertmanager|{}:{alertname="Latency"}'},
    }
    assert cards.VERB_DECLARE_ALERTS in cards.VERBS
    # Without group_ref the value is built from source and group_key, as Slack does.
    rest = {k: v for k, v in GROUP.items() if k != "group_ref"}
    [built] = declare_buttons(cards.alert_group(rest, "x").card)
    assert built["data"] == button["data"]

    tracked = {**GROUP, "incident_ref": "INC-4", "incident": INCIDENT}
    card = cards.render(ChatMessage("alert_group", "x — INC-4", tracked)).card
    assert declare_buttons(card) == []
    assert [a["title"] for a in card["actions"]] == ["Open incident page"]
    assert declare_buttons(cards.alert_group({**GROUP, "incident_ref": "INC-4"}, "x").card) == []
    # Nothing to name, or too long to carry back: no button.
    assert declare_buttons(cards.alert_group({"alerts": GROUP["alerts"]}, "x").card) == []
    huge = {**GROUP, "group_ref": "alertmanager|" + "k" * cards.GROUP_VALUE_LIMIT}
    assert declare_buttons(cards.alert_group(huge, "x").card) == []


HOSTILE_ALERT = "<at>everyone</at> @channel [click](http://evil) **bold** <AT>Ops</AT>"


def textruns(node: Any) -> list[str]:
    """Strings Teams shows verbatim (TextRun, never markdown)."""
    out: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "TextRun":
            out.append(node["text"])
        for value in node.values():
            out.extend(textruns(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(textruns(item))
    return out


def hostile_group() -> tuple[dict[str, Any], str]:
    data = {
        **GROUP,
        "title": HOSTILE_ALERT,
        "group_key": HOSTILE_ALERT,
        "group_ref": f"alertmanager|{HOSTILE_ALERT}",
        "alerts": [
            {"title": HOSTILE_ALERT, "status": "firing"},
            {"name": HOSTILE_ALERT, "status": f"firing {HOSTILE_ALERT}"},
        ],
    }
    return data, f"2 alerts firing: {HOSTILE_ALERT}"


@pytest.mark.parametrize("via", ["alert_group", "render"])
def test_hostile_alert_text_cannot_mention_or_format(via: str) -> None:
    data, text = hostile_group()
    if via == "render":
        rendered = cards.render(ChatMessage("alert_group", text, data), {act.ALICE.id: "Alice"})
    else:
        rendered = cards.alert_group(data, text)
    card = rendered.card
    # No mention entities anywhere: nothing in the card can notify anyone.
    assert rendered.mentions == []
    assert "entities" not in card["msteams"]
    # Nothing Teams displays holds a working mention tag (button data is never displayed).
    shown_parts = {
        "body": card["body"],
        "msteams": card["msteams"],
        "fallback": card["fallbackText"],
        "summary": rendered.summary,
        "titles": [a["title"] for a in card.get("actions", [])],
    }
    dumped = json.dumps(shown_parts, ensure_ascii=False).lower()
    assert "<at>" not in dumped and "</at>" not in dumped
    # Our markdown (TextBlocks) never holds the alert's text ...
    for block in textblocks(card):
        for bad in ("evil", "@channel", "**bold**", "everyone", "Ops"):
            assert bad not in block
    # ... which is shown verbatim in TextRuns, with the mention tags broken.
    runs = textruns(card)
    shown = [r for r in runs if "evil" in r]
    assert len(shown) >= 4  # the heading, the group key and both alerts
    for run in shown:
        assert "[click](http://evil)" in run and "**bold**" in run and "@channel" in run
        assert "<\u2060at>everyone<\u2060/at>" in run and "<\u2060AT>Ops" in run
    assert all(r == cards.plain(r) for r in runs)
    # The Declare button carries the group back as data, never as text.
    [button] = declare_buttons(card)
    assert button["data"] == {"group": f"alertmanager|{HOSTILE_ALERT}"}
    assert set(button) == {"type", "title", "verb", "style", "data"}
