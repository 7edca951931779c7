"""A Slack incident channel's topic names its commander: a topic shows no ``<@U…>`` mentions
("does not support formatting"), so the id would be all people read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_asyncio

from bot.runtime import Runtime
from integrations.slack.escape import WORD_JOINER
from integrations.slack.port import TOPIC_LIMIT
from tests.fakes.slack_api import ALICE, BOB, GENERAL_ID, TEAM_ID, FakeSlackApi
from tests.slack_flow.test_slack_flow import SECRET, Client, Slack, declare_room, settle

DANA = "U0DANADEV"
ERIN = "U0ERINOPS"
RISKY = "U0RISKYNAME"
GHOST = "U0GHOSTNOBODY"  # nobody Slack knows


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as api:
        api.add_channel("incidents", members=[ALICE, BOB])
        api.add_channel("alerts", members=[ALICE])
        api.add_user(DANA, "dana", real_name="Dana Devlin")
        api.add_user(ERIN, "erin", real_name="Erin Okafor", display_name="Erin O")
        api.add_user(RISKY, "risky", display_name="R&D <!channel> @here")
        yield api


@pytest.fixture
def settings_overrides(fake: FakeSlackApi) -> dict[str, Any]:
    return {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.url,
    }


@pytest_asyncio.fixture
async def slack(client: Client, fake: FakeSlackApi) -> Slack:
    return Slack(client, fake)


async def command(slack: Slack, text: str, channel: str = GENERAL_ID) -> None:
    """``/incident <text>`` from Dana, with her handle as Slack sends it (``user_name``)."""
    form = {
        "team_id": TEAM_ID,
        "channel_id": channel,
        "user_id": DANA,
        "user_name": "dana",
        "command": "/incident",
        "text": text,
        "api_app_id": "A0SITREP",
        "response_url": "https://hooks.slack.com/commands/T0001/1/abc",
        "trigger_id": slack.fake.mint_trigger_id(),
    }
    resp = await slack.post(urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert resp.status == 200


async def declared(slack: Slack, runtime: Runtime, text: str) -> str:
    await command(slack, text)
    return await declare_room(slack, runtime)


async def commander(slack: Slack, runtime: Runtime, room: str, who: str) -> str:
    """Hand the incident over in its room; the topic once delivered."""
    await command(slack, f"commander <@{who}>", channel=room)
    await settle(runtime)
    incident = (await runtime.service.list(runtime.settings.workspace))[0]
    assert incident.commander == who
    return slack.fake.topic(room)


async def test_topic_names_the_commander_after_declare_and_after_a_handover(
    slack: Slack, runtime: Runtime
) -> None:
    room = await declared(slack, runtime, "declare Checkout is down sev2")
    # Dana's name as her own command carried it; Erin's from users.info.
    assert slack.fake.topic(room) == "SEV2 · investigating · Commander: dana · Checkout is down"

    topic = await commander(slack, runtime, room, ERIN)
    assert topic == "SEV2 · investigating · Commander: Erin O · Checkout is down"
    assert ERIN not in topic
    # The queued line keeps the id, for platforms that show ids; ``people`` names it.
    rows = await runtime.db.run(lambda repo: repo.list_outbox(limit=1000))
    last = next(r.payload for r in rows if r.action == "set_topic")  # newest first
    assert last["people"] == [ERIN] and f"Commander: {ERIN} · " in last["topic"]


async def test_a_name_cannot_ping_or_turn_into_markup_in_the_topic(
    slack: Slack, runtime: Runtime
) -> None:
    room = await declared(slack, runtime, "declare Checkout is down sev2")
    topic = await commander(slack, runtime, room, RISKY)
    assert f"Commander: R&D <{WORD_JOINER}!channel> @{WORD_JOINER}here · " in topic
    assert "<!channel>" not in topic and "@here" not in topic and "&amp;" not in topic


async def test_someone_nobody_can_name_stays_their_id(slack: Slack, runtime: Runtime) -> None:
    room = await declared(slack, runtime, "declare Checkout is down sev2")
    topic = await commander(slack, runtime, room, GHOST)
    assert "Commander: U0GHOSTNOBODY · " in topic
    assert [c for c in slack.fake.calls_to("users.info") if c.args.get("user") == GHOST]


async def test_a_long_name_and_title_still_fit_slacks_topic_limit(
    slack: Slack, runtime: Runtime
) -> None:
    slack.fake.add_user("U0LONGNAME", "long", display_name="Maximilian " * 18)
    room = await declared(slack, runtime, "declare " + "Checkout is down " * 10 + "sev2")
    topic = await commander(slack, runtime, room, "U0LONGNAME")
    # The fake refuses a topic over the limit (too_long), as Slack does: it was set.
    assert len(topic) == TOPIC_LIMIT and topic.endswith("…")
    assert "Commander: Maximilian Maximilian" in topic and "U0LONGNAME" not in topic
