"""One update everywhere: broadcasts mirrored between Slack and Teams when mirroring is on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Status
from bot.ports import ChatPort
from handlers.app import PortFactory
from integrations.teams.factory import teams_ports
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.fake_graph import FakeGraph
from tests.fakes.slack_api import ALICE as SLACK_ALICE
from tests.fakes.slack_api import BOT_USER_ID, FakeSlackApi
from tests.support.chat import RecordingPort
from tests.teams import activities as act
from tests.teams.conftest import Harness, teams_settings
from tests.teams.test_commands import declare, in_room

SLACK_USER = Actor("U01ALICE", "alice")


@pytest.fixture
def slack() -> RecordingPort:
    """The Slack side, recorded."""
    return RecordingPort(platform="slack")


@pytest.fixture
def port_factories(slack: RecordingPort) -> list[PortFactory]:
    async def slack_port(app: web.Application) -> dict[str, ChatPort]:
        return {"slack": slack}

    return [slack_port, teams_ports]


@pytest.fixture
def settings_overrides(connector: FakeBotConnector, graph: FakeGraph) -> dict[str, Any]:
    return {
        **teams_settings(connector, graph),
        "chat_platforms": ["slack", "teams"],
        "mirror_updates": True,
    }


def broadcast_calls(port: RecordingPort) -> list[dict[str, Any]]:
    return [
        c.args for c in port.calls if c.args.get("room") == port.broadcast or c.method == "update"
    ]


async def test_teams_incident_mirrors_its_updates_to_slack(
    teams: Harness, slack: RecordingPort
) -> None:
    inc = await declare(teams, "incident declare Checkout errors sev2")
    # The room is on Teams, where it was declared; Slack only hears the broadcast.
    assert slack.rooms == {}
    [announced] = [p for p in slack.of("post") if p["kind"] == "broadcast"]
    assert announced["room"] == "C_BROADCAST"

    await in_room(teams, inc, "update Rolled back; recovering")
    await in_room(teams, inc, "status monitoring")
    updates = [p for p in slack.of("post") if p["kind"] == "status_update"]
    assert len(updates) == 1 and updates[0]["thread"] == announced["ts"]
    assert "Rolled back; recovering" in updates[0]["text"]
    # Status changes edit the Slack broadcast message in place.
    edits = [u for u in slack.of("update") if u["ts"] == announced["ts"]]
    assert edits and "monitoring" in edits[-1]["text"]


async def test_slack_incident_mirrors_its_updates_to_teams(
    teams: Harness, slack: RecordingPort
) -> None:
    service, ws = teams.runtime.service, teams.runtime.settings.workspace
    out = await service.declare(ws, c.Declare("Payments down", "SEV2", origin="slack"), SLACK_USER)
    await teams.settle()
    assert slack.rooms, "the home room is on Slack"
    assert teams.connector.created == []  # no Teams thread for a Slack incident
    [card] = teams.connector.posted_to(act.BROADCAST_CHANNEL)
    assert "Payments down" in card.card_text
    # A Slack user id is shown as text, never as a Teams mention.
    assert "entities" not in (card.card or {}).get("msteams", {})

    number = out.incident.number
    await service.execute(ws, number, c.PostUpdate("Card processor failing over"), SLACK_USER)
    await service.execute(ws, number, c.ChangeStatus(Status.IDENTIFIED), SLACK_USER)
    await teams.settle()
    broadcast = await teams.ref(out.incident, "broadcast")
    assert broadcast is not None
    chain = f"{act.BROADCAST_CHANNEL};messageid={broadcast['id']}"
    [update] = teams.connector.posted_to(chain)
    assert "Card processor failing over" in update.card_text
    puts = [u for u in teams.connector.updated if u.activity_id == broadcast["id"]]
    assert puts and "identified" in puts[-1].card_text


class TestMirroringOff:
    @pytest.fixture
    def settings_overrides(self, connector: FakeBotConnector, graph: FakeGraph) -> dict[str, Any]:
        return {**teams_settings(connector, graph), "chat_platforms": ["slack", "teams"]}

    async def test_each_platform_keeps_its_own(self, teams: Harness, slack: RecordingPort) -> None:
        inc = await declare(teams, "incident declare Only on Teams")
        await in_room(teams, inc, "update Still only on Teams")
        assert slack.calls == []


class TestWithTheRealSlackPort:
    """The same mirror, with sitrep's Slack port talking to the fake Slack Web API."""

    @pytest_asyncio.fixture
    async def slack_api(self) -> AsyncIterator[FakeSlackApi]:
        fake = FakeSlackApi()
        await fake.start()
        fake.add_channel("incidents", members=[BOT_USER_ID, SLACK_ALICE])
        yield fake
        await fake.stop()

    @pytest.fixture
    def port_factories(self) -> list[PortFactory]:
        return [teams_ports]  # Slack's own setup installs the real port

    @pytest.fixture
    def settings_overrides(
        self, connector: FakeBotConnector, graph: FakeGraph, slack_api: FakeSlackApi
    ) -> dict[str, Any]:
        return {
            **teams_settings(connector, graph),
            "chat_platforms": ["slack", "teams"],
            "mirror_updates": True,
            "slack_bot_token": "xoxb-test",
            "slack_signing_secret": "shh",
            "slack_api_url": slack_api.url,
            "slack_broadcast_channel": "incidents",
        }

    async def test_teams_updates_reach_the_slack_broadcast_thread(
        self, teams: Harness, slack_api: FakeSlackApi
    ) -> None:
        inc = await declare(teams, "incident declare Checkout errors sev2")
        await in_room(teams, inc, "update Rolled back; recovering")
        channel = slack_api.channel_by_name("incidents")
        assert channel is not None
        [root] = [m for m in slack_api.messages(channel.id) if m.thread_ts is None]
        assert "Checkout errors" in root.text
        replies = slack_api.thread(channel.id, root.ts)
        assert any("Rolled back; recovering" in m.text for m in replies)
