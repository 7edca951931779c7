"""What sitrep puts on the wire to the Bot Connector: no ``null`` fields, which the Microsoft 365
Agents Playground (and so the fake) refuses with 400 BadArgument."""

from __future__ import annotations

from typing import Any

import aiohttp
from microsoft_agents.activity import Activity, ConversationAccount

from bot.outbox_types import OutboxState
from integrations.teams.sdk import without_nulls
from tests.fakes.bot_connector import FakeBotConnector
from tests.teams import activities as act
from tests.teams.conftest import Harness
from tests.teams.test_commands import declare, in_room


def null_paths(node: Any, path: str = "") -> list[str]:
    """Where ``node`` holds a JSON null."""
    if node is None:
        return [path or "."]
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in null_paths(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in null_paths(v, f"{path}[{i}]")]
    return []


async def test_fake_connector_refuses_an_activity_whose_id_is_null() -> None:
    fake = await FakeBotConnector().start()
    try:
        url = f"{fake.url}v3/conversations/{act.INCIDENTS_CHANNEL}/activities"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json={"type": "message", "id": None, "text": "hi"}) as r:
                assert r.status == 400
                assert (await r.json())["error"]["code"] == "BadArgument"
            async with http.post(url, json={"type": "message", "text": "hi"}) as r:
                assert r.status == 201
    finally:
        await fake.close()


async def test_replies_cards_and_updates_reach_teams_without_null_fields(teams: Harness) -> None:
    inc = await declare(teams)
    assert await in_room(teams, inc, "status identified") == 202
    assert await in_room(teams, inc, "update Rolled back the deploy") == 202

    bodies = teams.connector.calls
    assert teams.connector.created and teams.connector.updated, "nothing created or updated"
    assert len(teams.connector.posted) >= 5, "too little was sent"
    assert all(c.ok for c in teams.connector.calls), [
        (c.method, c.path, c.status) for c in teams.connector.calls if not c.ok
    ]
    assert {c.path: null_paths(c.body) for c in bodies if null_paths(c.body)} == {}
    parked = [r for r in await teams.outbox() if r.state is not OutboxState.DELIVERED]
    assert parked == []


def test_without_nulls_drops_none_fields_at_every_depth_and_keeps_the_rest() -> None:
    activity = Activity(
        type="message",
        id=None,
        text="hello",
        conversation=ConversationAccount(id="19:c@thread.tacv2", tenant_id=None),
    )
    dumped = without_nulls(activity).model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert dumped == {
        "type": "message",
        "text": "hello",
        "conversation": {"id": "19:c@thread.tacv2"},
    }
