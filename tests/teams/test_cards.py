"""Adaptive Cards: every message kind renders, and other people's text cannot inject markup."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.ports import ChatMessage
from integrations.teams import cards
from tests.fakes.bot_connector import texts
from tests.teams import activities as act

INCIDENT: dict[str, Any] = {
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


@pytest.mark.parametrize("message", KINDS, ids=[m.kind for m in KINDS])
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
    done = {
        **INCIDENT,
        "status": "resolved",
        "is_open": False,
        "acknowledged_at": "2026-11-23T09:01:00Z",
    }
    card = cards.incident_summary(done).card
    assert [a["title"] for a in card["actions"]] == ["Open incident page"]


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
    incident = {**INCIDENT, "commander": "U01ALICE"}
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
