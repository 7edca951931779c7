"""A Teams incident channel's description (its topic) names the commander, not their ``29:…``
id: Teams shows the description as it is."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Incident, Role
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.fake_graph import FakeGraph
from tests.teams import activities as act
from tests.teams.conftest import Harness, teams_settings
from tests.teams.test_commands import declare

MARKER = "\nsitrep:default:INC-1"


@pytest.fixture
def settings_overrides(connector: FakeBotConnector, graph: FakeGraph) -> dict[str, Any]:
    # Only a Graph channel per incident has a description; threads and chats have no topic.
    return {**teams_settings(connector, graph), "teams_create_channels": True}


def description(teams: Harness) -> str:
    """The incident channel's description as last set."""
    patches = teams.graph.of("PATCH")
    assert patches, "no description set"
    return str(patches[-1].body["description"])


async def hand_over(teams: Harness, inc: Incident, to: str) -> str:
    """Make ``to`` commander (as the web or API would), and return the description."""
    ws = teams.runtime.settings.workspace
    await teams.runtime.service.execute(
        ws, inc.number, c.AssignRole(Role.COMMANDER, to), Actor(act.ALICE.id, act.ALICE.name)
    )
    await teams.settle()
    return description(teams)


async def test_description_names_the_commander_after_declare_and_after_a_handover(
    teams: Harness,
) -> None:
    inc = await declare(teams)
    assert description(teams) == (
        "SEV2 · investigating · Commander: Alice Archer · Checkout errors" + MARKER
    )

    room = await teams.room(inc)
    in_channel = act.channel_conversation(room["id"], act.next_id())
    said = await teams.say("commander @Bob Baker", conversation=in_channel, mentions=(act.BOB,))
    assert said == 202
    await teams.settle()
    assert (await teams.incidents())[0].commander == act.BOB.id
    assert description(teams) == (
        "SEV2 · investigating · Commander: Bob Baker · Checkout errors" + MARKER
    )


async def test_a_name_cannot_carry_a_mention_or_markup_into_the_description(
    teams: Harness,
) -> None:
    inc = await declare(teams)
    risky = "29:1risky-bf-id"
    ws = teams.runtime.settings.workspace
    await teams.runtime.people.remember(ws, risky, "R&D <at>Everyone</at> [x](https://e.test)", "t")
    shown = await hand_over(teams, inc, risky)
    assert "Commander: R&D atEveryone/at xhttps://e.test · " in shown
    assert "<at>" not in shown and "](" not in shown and risky not in shown


async def test_someone_nobody_can_name_stays_their_id(teams: Harness) -> None:
    inc = await declare(teams)
    shown = await hand_over(teams, inc, "29:1nobody-knows-me")
    assert shown.startswith("SEV2 · investigating · Commander: 29:1nobody-knows-me · ")
