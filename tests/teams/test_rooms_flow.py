"""Incident rooms end to end: a Graph channel per incident, and private incidents kept private."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain import commands as c
from bot.domain.decide import Actor
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.fake_graph import FakeGraph
from tests.teams import activities as act
from tests.teams.conftest import Harness, teams_settings
from tests.teams.test_commands import declare


class TestChannelPerIncident:
    @pytest.fixture
    def settings_overrides(self, connector: FakeBotConnector, graph: FakeGraph) -> dict[str, Any]:
        return {**teams_settings(connector, graph), "teams_create_channels": True}

    async def test_declare_creates_a_channel_and_works_it_there(self, teams: Harness) -> None:
        long_title = "Checkout failing for every customer in the EU region after deploy 4812"
        inc = await declare(teams, f"incident declare {long_title} sev2")
        [create] = teams.graph.of("POST", "/channels")
        assert create.path == f"/v1.0/teams/{act.TEAM_GROUP_ID}/channels"
        name = create.body["displayName"]
        assert len(name) <= 50 and name.startswith("INC-1 Checkout failing")
        room = await teams.room(inc)
        assert room["extra"]["kind"] == "channel" and room["name"] == name
        assert teams.connector.created == []  # no thread in the shared channel
        posted = teams.connector.posted_to(room["id"])
        assert any(c.card and c.card.get("actions") for c in posted), "no summary card"
        # The channel description carries the topic line.
        [patch] = teams.graph.of("PATCH")
        assert patch.body["description"].startswith("SEV2 · investigating")

        # Messages in the new channel map back to the incident.
        status = await teams.say(
            "status identified", conversation=act.channel_conversation(room["id"], act.next_id())
        )
        assert status == 202
        await teams.settle()
        assert (await teams.incidents())[0].status.value == "identified"
        assert len(teams.graph.of("PATCH")) == 2


class TestPrivateIncidents:
    async def test_a_private_incident_never_touches_the_shared_channels(
        self, teams: Harness
    ) -> None:
        inc = await declare(teams, "incident declare Leaked credentials private", conversation=None)
        assert inc.private
        room = await teams.room(inc)
        assert room["extra"]["kind"] == "personal"
        for channel in (act.INCIDENTS_CHANNEL, act.BROADCAST_CHANNEL):
            assert not [
                c
                for c in teams.connector.posted
                if c.conversation and c.conversation.startswith(channel)
            ]
        assert not [
            c for c in teams.connector.created if c.body.get("channelData", {}).get("channel")
        ]
        # The summary card is in Alice's private chat with sitrep.
        assert any(c.card and c.card.get("actions") for c in teams.connector.posted_to(room["id"]))

    async def test_private_incident_with_two_people_gets_a_group_chat(self, teams: Harness) -> None:
        # Both have talked to sitrep before, so their Entra ids are known.
        for person in (act.ALICE, act.BOB):
            assert await teams.say("help", sender=person) == 202
        await teams.settle()
        service, ws = teams.runtime.service, teams.runtime.settings.workspace
        # As the API or a declare form with a commander would: two people from the start.
        await service.declare(
            ws,
            c.Declare("Fraud spike", "SEV2", private=True, commander=act.BOB.id, origin="teams"),
            Actor(act.ALICE.id, act.ALICE.name),
        )
        await teams.settle()
        [chat] = teams.graph.chats.values()
        assert sorted(chat["members"]) == sorted([act.ALICE.aad, act.BOB.aad])
        assert chat["apps"] == ["catalog-sitrep"]
        assert teams.connector.posted_to(chat["id"]), "nothing posted in the group chat"
        assert not teams.connector.posted_to(act.BROADCAST_CHANNEL)
