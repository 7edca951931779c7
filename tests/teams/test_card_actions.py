"""Adaptive Card actions (``adaptiveCard/action`` invokes) over real HTTP."""

from __future__ import annotations

from typing import Any

from bot.domain.model import Status
from integrations.teams import cards
from tests.teams import activities as act
from tests.teams.conftest import Harness
from tests.teams.test_commands import declare, top_level

CARD = "application/vnd.microsoft.card.adaptive"
MESSAGE = "application/vnd.microsoft.activity.message"


async def thread_of(teams: Harness, number: int = 1) -> dict[str, Any]:
    incident = next(i for i in await teams.incidents() if i.number == number)
    room = await teams.room(incident)
    channel, _, root = room["id"].partition(";messageid=")
    return act.channel_conversation(channel, root)


async def test_declare_form_then_submit_declares(teams: Harness) -> None:
    assert await teams.say("incident declare") == 202
    await teams.settle()
    [form] = teams.connector.posted_to(act.ALICE.personal)
    assert form.card is not None
    assert form.card["actions"][0]["verb"] == cards.VERB_DECLARE

    body = await teams.click(
        cards.VERB_DECLARE,
        {"title": "Search is slow", "severity": "SEV1", "summary": "p99 at 8s", "private": "false"},
    )
    assert body["statusCode"] == 200 and body["type"] == CARD
    assert "INC-1" in str(body["value"]) and "Search is slow" in str(body["value"])
    await teams.settle()
    [inc] = await teams.incidents()
    assert (inc.title, inc.severity, inc.summary, inc.private) == (
        "Search is slow",
        "SEV1",
        "p99 at 8s",
        False,
    )
    assert teams.connector.created, "no incident thread"


async def test_declare_form_needs_a_title(teams: Harness) -> None:
    body = await teams.click(cards.VERB_DECLARE, {"title": " ", "severity": "SEV2"})
    assert body["type"] == MESSAGE and "title" in body["value"]
    assert await teams.incidents() == []


async def test_summary_card_buttons_run_commands_and_refresh_the_card(teams: Harness) -> None:
    inc = await declare(teams)
    room = await thread_of(teams)
    summary = await teams.ref(inc, "summary")
    assert summary is not None

    ack = await teams.click(
        cards.VERB_ACK, {"incident": 1, "card": "summary"}, conversation=room, sender=act.BOB
    )
    assert ack["type"] == CARD
    titles = [a["title"] for a in ack["value"]["actions"]]
    assert "Acknowledge" not in titles  # the refreshed card knows it was acknowledged

    changed = await teams.click(
        cards.VERB_STATUS,
        {"incident": 1, "card": "summary", "status": "monitoring", "text": "watching"},
        conversation=room,
    )
    assert changed["type"] == CARD and "monitoring" in str(changed["value"])

    update = await teams.click(
        cards.VERB_UPDATE,
        {"incident": 1, "card": "summary", "text": "Error rate back to normal"},
        conversation=room,
    )
    assert update["type"] == CARD

    resolved = await teams.click(
        cards.VERB_RESOLVE, {"incident": 1, "card": "summary"}, conversation=room
    )
    assert resolved["type"] == CARD
    assert [a["title"] for a in resolved["value"]["actions"]] == ["Open incident page"]

    await teams.settle()
    now = (await teams.incidents())[0]
    assert now.status is Status.RESOLVED and now.acknowledged_at is not None
    detail = await teams.runtime.service.detail(now.workspace, now.number)
    assert [u.text for u in detail.updates] == ["Error rate back to normal"]
    # Every change also reached the posted card through the outbox: PUT, same activity.
    puts = [c for c in teams.connector.updated if c.activity_id == summary["id"]]
    assert puts and "resolved" in puts[-1].card_text


async def test_pressing_a_button_twice_changes_nothing_the_second_time(teams: Harness) -> None:
    await declare(teams)
    room = await thread_of(teams)
    activity = act.card_action(
        cards.VERB_RESOLVE, {"incident": 1}, service_url=teams.service_url, conversation=room
    )
    first = await teams.post(activity)
    second = await teams.post(activity)
    assert first[0] == second[0] == 200
    assert "already done" in second[1]["value"]
    await teams.settle()
    detail = await teams.runtime.service.detail("default", 1)
    assert sum(e.kind.value == "status_changed" for e in detail.timeline) == 1


async def test_refused_actions_answer_with_the_reason(teams: Harness) -> None:
    await declare(teams)
    room = await thread_of(teams)
    await teams.click(cards.VERB_RESOLVE, {"incident": 1}, conversation=room)
    again = await teams.click(cards.VERB_RESOLVE, {"incident": 1}, conversation=room)
    assert again["type"] == MESSAGE
    assert "cannot move from resolved to resolved" in again["value"]
    missing = await teams.click(cards.VERB_ACK, {"incident": 42})
    assert missing["type"] == MESSAGE and "INC-42 not found" in missing["value"]
    bad = await teams.click(
        cards.VERB_STATUS, {"incident": 1, "status": "sideways"}, conversation=room
    )
    assert bad["type"] == MESSAGE


async def test_update_form_from_the_update_command(teams: Harness) -> None:
    await declare(teams, conversation=top_level())
    room = await thread_of(teams)
    assert await teams.say("update", conversation=room) == 202
    await teams.settle()
    forms = [
        c
        for c in teams.connector.posted_to(room["id"])
        if c.card
        and any(a.get("title") == "Post update" for a in c.card.get("actions", []))
        and "Write the stakeholder update" in c.card_text
    ]
    assert forms, "no update form posted"
