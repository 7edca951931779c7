"""`@sitrep ticket` in a Teams incident thread opens a Jira issue through the stand-in, and
resolving the incident moves it to Done: the same desk and outbox as Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.fake_graph import FakeGraph
from tests.fakes.jira_api import FakeJira, adf_text
from tests.slack_flow.test_slack_flow import eventually
from tests.teams.conftest import Harness, teams_settings
from tests.teams.test_commands import declare, in_room


@pytest_asyncio.fixture
async def jira() -> AsyncIterator[FakeJira]:
    async with FakeJira(email="bot@example.com", token="t") as stand_in:
        yield stand_in


@pytest.fixture
def settings_overrides(
    connector: FakeBotConnector, graph: FakeGraph, jira: FakeJira
) -> dict[str, Any]:
    return teams_settings(connector, graph) | {
        "jira_url": jira.url,
        "jira_email": "bot@example.com",
        "jira_api_token": "t",
        "jira_project": "OPS",
        "jira_transitions": {"resolved": "Done"},
    }


async def test_ticket_in_a_teams_thread_opens_a_jira_issue_and_resolve_closes_it(
    teams: Harness, jira: FakeJira
) -> None:
    inc = await declare(teams)
    assert await in_room(teams, inc, "ticket") == 202
    (issue,) = await eventually(lambda: jira.by_label("sitrep"))
    assert issue.summary == "INC-1 SEV2: Checkout errors"
    assert await in_room(teams, inc, "resolve fixed the pool") == 202
    await eventually(lambda: issue.status == "Done" and issue.comments)
    assert "fixed the pool" in adf_text(issue.comments[0]["body"])
    assert len(jira.issues) == 1
