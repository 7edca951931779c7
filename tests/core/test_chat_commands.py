"""Incident-room chat commands mean the same core command on Slack and Teams."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.chatops import grammar as g
from bot.chatops.commands import incident_command
from bot.domain import commands as c
from bot.domain.model import Role, Status

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("status identified", c.ChangeStatus(Status.IDENTIFIED)),
        ("sev 1", c.ChangeSeverity("SEV1")),
        ("commander <@U123>", c.AssignRole(Role.COMMANDER, "U123")),
        ("comms <@U456|lee>", c.AssignRole(Role.COMMS_LEAD, "U456")),
        ("update Rolled back the deploy", c.PostUpdate("Rolled back the deploy")),
        ("note vendor paged", c.AddNote("vendor paged")),
        (
            "action Add an alert <@U9> due 2026-12-01",
            c.AddActionItem("Add an alert", "U9", datetime(2026, 12, 1, tzinfo=UTC)),
        ),
        ("done 3", c.SetActionItemDone(3)),
        ("ack", c.Acknowledge()),
        ("resolve bad deploy", c.ChangeStatus(Status.RESOLVED, "bad deploy")),
        ("close", c.ChangeStatus(Status.CLOSED)),
        ("reopen", c.ChangeStatus(Status.INVESTIGATING, "reopened")),
        ("remind 30", c.SetReminders(True, NOW + timedelta(minutes=30))),
        ("remind off", c.SetReminders(False)),
        ("remind on", c.SetReminders(True)),
    ],
)
def test_room_commands_become_core_commands(typed: str, expected: c.Command) -> None:
    assert incident_command(g.parse(typed), NOW) == expected


@pytest.mark.parametrize("typed", ["timeline", "summary", "help", "update", "list"])
def test_what_a_platform_shows_itself_is_not_a_command(typed: str) -> None:
    assert incident_command(g.parse(typed), NOW) is None


def test_an_action_without_a_due_date_has_none() -> None:
    parsed = g.Action("Write the postmortem", None, None)
    assert incident_command(parsed, NOW) == c.AddActionItem("Write the postmortem", None, None)
    dated = g.Action("x", "U1", date(2026, 12, 24))
    cmd = incident_command(dated, NOW)
    assert isinstance(cmd, c.AddActionItem) and cmd.due == datetime(2026, 12, 24, tzinfo=UTC)
