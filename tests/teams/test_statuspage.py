"""`@sitrep public-update` in a Teams incident thread posts a preview card with Confirm and
Cancel; Cancel sends nothing, Confirm publishes exactly the previewed text to the Statuspage
stand-in: the same desk and outbox as Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.fake_graph import FakeGraph
from tests.fakes.statuspage_api import FakeStatuspage
from tests.slack_flow.test_slack_flow import eventually
from tests.teams import activities as act
from tests.teams.conftest import Harness, teams_settings
from tests.teams.test_commands import declare, in_room

KEY, PAGE = "sp-key", "pg0001"


@pytest_asyncio.fixture
async def page() -> AsyncIterator[FakeStatuspage]:
    async with FakeStatuspage(KEY, PAGE, ("c1",)) as stand_in:
        yield stand_in


@pytest.fixture
def settings_overrides(
    connector: FakeBotConnector, graph: FakeGraph, page: FakeStatuspage
) -> dict[str, Any]:
    return teams_settings(connector, graph) | {
        "statuspage_api_key": KEY,
        "statuspage_page_id": PAGE,
        "statuspage_api_url": page.url + "/v1",
        "statuspage_components": ["c1"],
    }


def _preview_actions(teams: Harness) -> list[dict[str, Any]]:
    return [
        a
        for c in teams.connector.posted
        if c.card
        for a in c.card.get("actions", [])
        if a.get("verb", "").startswith("sitrep.public_")
    ]


async def test_preview_card_cancel_sends_nothing_and_confirm_publishes(
    teams: Harness, page: FakeStatuspage
) -> None:
    inc = await declare(teams)
    room = await teams.room(inc)
    channel, _, root = room["id"].partition(";messageid=")
    conversation = act.channel_conversation(channel, root)
    assert await in_room(teams, inc, "public-update Checkout is slow (5% of requests)") == 202
    actions = await eventually(lambda: _preview_actions(teams))
    confirm = next(a for a in actions if a["verb"] == "sitrep.public_confirm")
    assert confirm["data"]["text"] == "Checkout is slow (5% of requests)"
    cancelled = await teams.click(
        "sitrep.public_cancel", {"incident": 1}, conversation=conversation
    )
    assert "nothing was published" in str(cancelled)
    await teams.settle()
    assert page.requests == []
    await teams.click("sitrep.public_confirm", confirm["data"], conversation=conversation)
    (published,) = await eventually(lambda: list(page.incidents.values()))
    assert published.updates[0]["body"] == "Checkout is slow (5% of requests)"
