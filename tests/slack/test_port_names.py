"""Slack shows its own users as ``<@U…>`` mentions; everyone else on a Slack message (a Teams
user, a person signed in on the web, an API token's owner) is shown by name, not by id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest_asyncio

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Role
from bot.domain.snapshot import incident_snapshot
from bot.ports import ChatMessage
from bot.runtime import Runtime
from integrations.slack.client import make_client
from integrations.slack.port import SlackPort
from tests.fakes.slack_api import BOT_USER_ID, FakeSlackApi

WEB = "oidc:https://idp.test#sub-olive"
TEAMS = "29:1tara-teams-id"
SLACK = "U0SAMSLACK"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as api:
        api.add_channel("incidents", members=[BOT_USER_ID])
        yield api


async def test_non_slack_people_are_named_and_slack_users_stay_mentions(
    client: object, runtime: Runtime, fake: FakeSlackApi
) -> None:
    ws = runtime.settings.workspace
    await runtime.people.remember(ws, TEAMS, "Tara Teams", "teams")
    out = await runtime.service.declare(ws, c.Declare(title="Checkout"), Actor(WEB, "Olive Oidc"))
    number = out.incident.number
    await runtime.service.execute(ws, number, c.AssignRole(Role.COMMANDER, TEAMS), Actor(WEB))
    await runtime.service.execute(ws, number, c.AssignRole(Role.SCRIBE, SLACK), Actor(WEB))
    incident = (await runtime.service.detail(ws, number)).incident
    snapshot = incident_snapshot(incident, runtime.service.policy)

    port = SlackPort(
        make_client("xoxb-test", fake.url), broadcast_channel="incidents", alerts_channel="a"
    )
    port.show_people_from(runtime.people, ws)
    room = port.well_known_room(ws, "broadcast")
    assert room is not None
    summary = ChatMessage("incident_summary", "summary", {"incident": snapshot})
    # As bot.notify words a change made elsewhere (people: the actor and who it names).
    notice = ChatMessage("notice", f"Commander is now {TEAMS} (by {WEB})", {"people": [WEB, TEAMS]})
    await port.post_message(room, summary)
    await port.post_message(room, notice)

    channel = fake.channel_by_name("incidents")
    assert channel is not None
    posted = fake.messages(channel.id)
    assert len(posted) == 2
    sent = json.dumps([[m.text, m.blocks] for m in posted])
    assert "Tara Teams" in sent and "Olive Oidc" in sent
    assert TEAMS not in sent and WEB not in sent
    assert f"<@{SLACK}>" in sent  # Slack names its own users itself
    assert not [call for call in fake.calls_to("users.info")]


async def test_a_notice_names_slack_users_but_still_pings_the_one_it_addresses(
    client: object, runtime: Runtime, fake: FakeSlackApi
) -> None:
    ws = runtime.settings.workspace
    actor, commander = "U0ACTOR1", "U0COMMANDER"
    await runtime.people.remember(ws, actor, "Ada Actor", "slack")
    await runtime.people.remember(ws, commander, "Sam Commander", "slack")
    port = SlackPort(
        make_client("xoxb-test", fake.url), broadcast_channel="incidents", alerts_channel="a"
    )
    port.show_people_from(runtime.people, ws)
    room = port.well_known_room(ws, "broadcast")
    assert room is not None
    # Who acted is named (a mention would ping them); whom the notice asks is pinged.
    done = ChatMessage("notice", f"Action item #2 completed (by {actor})", {"people": [actor]})
    ask = ChatMessage(
        "notice",
        f"All alerts of INC-1 have resolved. {commander}, is the incident over?",
        {"mention": commander, "people": [commander]},
    )
    await port.post_message(room, done)
    await port.post_message(room, ask)

    channel = fake.channel_by_name("incidents")
    assert channel is not None
    first, second = (json.dumps([m.text, m.blocks]) for m in fake.messages(channel.id))
    assert "Ada Actor" in first and actor not in first
    assert f"<@{commander}>, is the incident over?" in second and "Sam Commander" not in second
