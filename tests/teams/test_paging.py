"""`@sitrep page <target>` in a Teams incident thread pages through the PagerDuty stand-in,
and resolving the incident resolves the page: the same desk and outbox as Slack."""

from __future__ import annotations

from typing import Any

import pytest

from bot.paging.targets import dedup_key
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.fake_graph import FakeGraph
from tests.fakes.pagerduty_events import FakePagerDutyEvents
from tests.paging.support import PD_KEY, pd
from tests.slack_flow.test_slack_flow import eventually
from tests.teams.conftest import Harness, teams_settings
from tests.teams.test_commands import declare, in_room, replies

__all__ = ["pd"]  # fixtures (PagerDuty and Opsgenie stand-ins)


@pytest.fixture
def settings_overrides(
    connector: FakeBotConnector, graph: FakeGraph, pd: FakePagerDutyEvents
) -> dict[str, Any]:
    return teams_settings(connector, graph) | {
        "pagerduty_routing_keys": {"payments": PD_KEY},
        "pagerduty_events_url": pd.url,
    }


async def test_page_in_a_teams_thread_reaches_pagerduty_and_resolve_resolves_it(
    teams: Harness, pd: FakePagerDutyEvents
) -> None:
    inc = await declare(teams)
    assert await in_room(teams, inc, "page payments") == 202
    key = dedup_key("default", inc.number, "payments")
    paged = await eventually(lambda: pd.incident(key))
    assert paged.severity == "error" and paged.summary == "INC-1 SEV2: Checkout errors"
    room = await teams.room(inc)
    assert any("Paged payments" in text for text in replies(teams, room["id"]))

    assert await in_room(teams, inc, "resolve fixed") == 202
    await eventually(lambda: pd.open_incidents() == [])
    assert len(pd.incidents) == 1
