"""Proactive reminders: the scheduler's rows reach the incident thread through the outbox."""

from __future__ import annotations

from typing import Any

import pytest

from bot.ports import FixedClock
from handlers.scheduler import SCHEDULER
from tests.teams import activities as act
from tests.teams.conftest import Harness
from tests.teams.test_commands import declare


@pytest.fixture
def settings_overrides(settings_overrides: dict[str, Any]) -> dict[str, Any]:
    """An escalation target that is a Teams user, so the escalation is a real mention."""
    return {**settings_overrides, "escalation_group": act.CAROL.id}


def reminder_cards(teams: Harness, room: str) -> list[dict[str, Any]]:
    return [c.card for c in teams.connector.posted_to(room) if c.card and "⏰" in c.card_text]


async def test_update_due_then_overdue_reminds_then_escalates(
    teams: Harness, clock: FixedClock
) -> None:
    inc = await declare(teams, "incident declare Login failures sev1")
    room = (await teams.room(inc))["id"]
    scheduler = teams.client.app[SCHEDULER]

    clock.advance(minutes=16)  # SEV1 wants an update every 15 minutes
    await scheduler.tick(clock.now())
    await teams.settle()
    [due] = reminder_cards(teams, room)
    [mention] = due["msteams"]["entities"]
    assert mention["mentioned"] == {"id": act.ALICE.id, "name": "Alice Archer"}
    assert due["actions"][0]["title"] == "Post update"

    await scheduler.tick(clock.now())  # the same stage never reminds twice
    await teams.settle()
    assert len(reminder_cards(teams, room)) == 1

    clock.advance(minutes=15)
    await scheduler.tick(clock.now())
    await teams.settle()
    overdue = reminder_cards(teams, room)[-1]
    ids = [e["mentioned"]["id"] for e in overdue["msteams"]["entities"]]
    assert ids == [act.ALICE.id, act.CAROL.id]
    # Stakeholders following the broadcast card hear that the update is late.
    broadcast = await teams.ref(inc, "broadcast")
    assert broadcast is not None
    chain = f"{act.BROADCAST_CHANNEL};messageid={broadcast['id']}"
    assert any("Update overdue" in c.card_text for c in teams.connector.posted_to(chain))


async def test_a_reminder_waits_out_a_teams_rate_limit(teams: Harness, clock: FixedClock) -> None:
    inc = await declare(teams, "incident declare Login failures sev1")
    room = (await teams.room(inc))["id"]
    clock.advance(minutes=16)
    teams.connector.fail(429, headers={"Retry-After": "30"}, method="POST")
    await teams.client.app[SCHEDULER].tick(clock.now())
    await teams.settle()
    assert reminder_cards(teams, room) == []
    [waiting] = [r for r in await teams.outbox() if r.state.value == "pending"]
    assert (waiting.next_attempt_at - clock.now()).total_seconds() >= 30
    assert "429" in (waiting.last_error or "")
    clock.advance(seconds=31)
    await teams.settle()
    assert len(reminder_cards(teams, room)) == 1
