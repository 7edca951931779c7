"""Rooms through Microsoft Graph: a channel per incident, group chats for private ones."""

from __future__ import annotations

from typing import Any

import pytest

from bot.ports import ChatMessage
from integrations.teams.graph import channel_display_name
from integrations.teams.port import TeamsPort
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.fake_graph import FakeGraph
from tests.teams import activities as act
from tests.teams.conftest import spec, teams_settings


@pytest.fixture
def settings_overrides(connector: FakeBotConnector, graph: FakeGraph) -> dict[str, Any]:
    """Dedicated channels per incident."""
    return {**teams_settings(connector, graph), "teams_create_channels": True}


async def test_create_channels_makes_a_graph_channel_and_posts_there(
    port: TeamsPort, connector: FakeBotConnector, graph: FakeGraph
) -> None:
    title = "Payments API returning 500s for every EU customer since the deploy"
    room = await port.open_room(spec(12, title))
    [create] = graph.of("POST", "/channels")
    assert create.path == f"/v1.0/teams/{act.TEAM_GROUP_ID}/channels"
    assert create.authorization == "Bearer fake-graph-token"
    name = create.body["displayName"]
    assert len(name) <= 50 and name.startswith("INC-12 Payments API")
    assert room.extra["kind"] == "channel" and room.name == name
    assert connector.created == []  # no thread: the channel is the room
    await port.post_message(room, ChatMessage("notice", "hello"))
    assert connector.posted[0].conversation == room.id
    await port.set_topic(room, "SEV2 · identified · Commander: Alice")
    [patch] = graph.of("PATCH")
    assert patch.body["description"].startswith("SEV2 · identified")
    assert "sitrep:default:INC-12" in patch.body["description"]


async def test_channel_name_collisions_get_a_suffix_and_our_own_is_reused(
    port: TeamsPort, graph: FakeGraph
) -> None:
    graph.channels[act.TEAM_GROUP_ID] = [
        {
            "id": "19:taken@thread.tacv2",
            "displayName": "INC-3 Disk full",
            "description": "someone else's",
        },
    ]
    first = await port.open_room(spec(3, "Disk full"))
    assert first.name == "INC-3 Disk full (2)"
    # A retry after a crash (ref never stored) finds the channel it made instead of a third.
    again = await port.open_room(spec(3, "Disk full"))
    assert again.id == first.id
    names = [c["displayName"] for c in graph.channels[act.TEAM_GROUP_ID]]
    assert names == ["INC-3 Disk full", "INC-3 Disk full (2)"]


def test_channel_display_names_fit_graph_rules() -> None:
    name = channel_display_name(1234, "DB: primary/replica lag > 5s? #ops & 'eu' " * 3)
    assert len(name) <= 50
    assert not any(ch in name for ch in "~#%&*{}+/\\:<>?|'\"")
    assert channel_display_name(5, "ok", " (2)").endswith("(2)")


async def test_private_incident_gets_a_group_chat_with_the_app_installed(
    port: TeamsPort, connector: FakeBotConnector, graph: FakeGraph
) -> None:
    room = await port.open_room(
        spec(9, "Leaked key", private=True, members=(act.ALICE.id, act.BOB.id))
    )
    [chat] = graph.chats.values()
    assert room.id == chat["id"] and room.extra["kind"] == "chat"
    assert sorted(chat["members"]) == sorted([act.ALICE.aad, act.BOB.aad])
    assert chat["apps"] == ["catalog-sitrep"]
    assert connector.created == []  # never the shared channel
    await port.invite(room, [act.CAROL.id, act.BOB.id])
    assert act.CAROL.aad in chat["members"]
    await port.post_message(room, ChatMessage("notice", "hi"))
    assert connector.posted[0].conversation == chat["id"]


async def test_private_incident_of_one_person_uses_their_one_to_one_chat(
    port: TeamsPort, connector: FakeBotConnector, graph: FakeGraph
) -> None:
    room = await port.open_room(spec(10, "Leaked key", private=True, members=(act.ALICE.id,)))
    assert room.extra["kind"] == "personal"
    assert graph.chats == {}
    assert connector.created[0].body["members"] == [{"id": act.ALICE.id}]
