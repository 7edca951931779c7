"""The similar-incidents message, planned by the core and drawn by Slack and Teams."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.model import Incident, Status
from bot.domain.policy import Policy, SeverityPolicy
from bot.notify import NotifyContext
from bot.outbox_types import Action
from bot.ports import ChatMessage
from bot.similar.model import FixNotes, Match
from bot.similar.plan import KIND, MAX_NOTE, Suggestion, plan_similar
from integrations.slack.blocks import render as slack_render
from integrations.teams import cards
from tests.fakes.bot_connector import texts
from tests.fakes.slack_api import validate_blocks

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = Policy(severities=(SeverityPolicy("SEV1", 1), SeverityPolicy("SEV2", 2)))
CTX = NotifyContext(platforms=("slack",), policy=POLICY, base_url="https://sitrep.example.com/")
HOSTILE = "<!channel> @here <@U0BOSS> <http://evil.example|click> <at>Everyone</at> **bold**"
NEW = Incident("default", 9, "Checkout 502", "SEV2", Status.INVESTIGATING, T0, "U1", id=90)


def past(number: int, **kw: Any) -> Incident:
    base = Incident(
        "default",
        number,
        f"Checkout 502 #{number}",
        "SEV2",
        Status.RESOLVED,
        T0 - timedelta(days=number),
        "U1",
        id=number * 10,
        root_cause="Bad deploy",
        resolved_at=T0 - timedelta(days=number, hours=-2),
    )
    return replace(base, **kw)


def suggestion(inc: Incident, fix: str = "Rolled back", **match: Any) -> Suggestion:
    m = Match(inc.id or 0, inc.number, 0.5, **match)
    return Suggestion(inc, m, FixNotes(resolved=fix))


def message_of(picks: list[Suggestion], ctx: NotifyContext = CTX) -> ChatMessage:
    (intent,) = plan_similar(NEW, picks, ctx)
    return ChatMessage.from_json(intent.payload["message"])


def test_one_post_in_the_new_incidents_room_after_its_other_messages() -> None:
    picks = [suggestion(past(1)), suggestion(past(2))]
    (intent,) = plan_similar(NEW, picks, CTX)
    assert intent.action == Action.POST.value
    assert intent.payload["room"] == "inc:90:room"
    assert intent.ordering_key == "inc:90"
    assert intent.idempotency_key == "similar:90:slack:0"
    msg = ChatMessage.from_json(intent.payload["message"])
    assert msg.kind == KIND
    assert [p["ref"] for p in msg.data["similar"]] == ["INC-1", "INC-2"]
    first = msg.data["similar"][0]
    assert first["postmortem_url"] == "https://sitrep.example.com/incidents/1/postmortem.html"
    assert first["url"] == "https://sitrep.example.com/incidents/1"
    assert first["fix"] == "Rolled back" and first["root_cause"] == "Bad deploy"


def test_no_picks_or_no_platform_plans_nothing() -> None:
    assert plan_similar(NEW, [], CTX) == []
    nowhere = NotifyContext(platforms=(), policy=POLICY)
    assert plan_similar(NEW, [suggestion(past(1))], nowhere) == []


def test_without_a_public_url_there_are_no_links() -> None:
    msg = message_of([suggestion(past(1))], replace(CTX, base_url=""))
    assert msg.data["similar"][0]["postmortem_url"] == ""
    _, blocks = slack_render(msg)
    assert "http" not in json.dumps(blocks)
    card = cards.render(msg).card
    assert "actions" not in card


def test_long_causes_and_fixes_are_cut() -> None:
    msg = message_of([suggestion(past(1, root_cause="x" * 5000), fix="y" * 5000)])
    pick = msg.data["similar"][0]
    assert len(pick["root_cause"]) == MAX_NOTE and pick["root_cause"].endswith("…")
    assert len(pick["fix"]) == MAX_NOTE


def test_slack_blocks_are_valid_and_other_peoples_text_cannot_ping() -> None:
    hostile = past(1, title=HOSTILE, root_cause=HOSTILE)
    msg = message_of(
        [
            suggestion(hostile, fix=HOSTILE, shared=(("service", "<!here>`x`"),)),
            suggestion(past(2, root_cause="")),
        ]
    )
    text, blocks = slack_render(msg)
    assert validate_blocks(blocks) == []
    shown = text + json.dumps(blocks, ensure_ascii=False)
    for ping in ("<!channel>", "<!here>", "<@U0BOSS>", "<http://evil"):
        assert ping not in shown
    assert "&lt;!channel&gt;" in shown and "@\u2060here" in shown
    assert "_not recorded_" in shown  # INC-2 has no root cause
    assert "<https://sitrep.example.com/incidents/2/postmortem.html|Postmortem>" in shown


def test_teams_card_keeps_other_peoples_text_in_text_runs_with_postmortem_buttons() -> None:
    hostile = past(1, title=HOSTILE, root_cause=HOSTILE)
    msg = message_of([suggestion(hostile, fix=HOSTILE), suggestion(past(2))])
    rendered = cards.render(msg)
    card = rendered.card
    markdown = _textblocks(card)
    assert not any("evil" in t or "<at>" in t or "channel" in t for t in markdown)
    runs = " ".join(texts(card))
    assert "<at>" not in runs and "<\u2060at>" in runs  # shown, but never a mention
    assert "Bad deploy" in runs and "Rolled back" in runs
    assert rendered.mentions == []
    assert [a["url"] for a in card["actions"]] == [
        "https://sitrep.example.com/incidents/1/postmortem.html",
        "https://sitrep.example.com/incidents/2/postmortem.html",
    ]
    assert all(a["type"] == "Action.OpenUrl" for a in card["actions"])


def _textblocks(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            out.append(node["text"])
        for value in node.values():
            out.extend(_textblocks(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(_textblocks(item))
    return out
