"""``/incident publish confluence`` typed in a Slack incident room, end to end over real HTTP:
the reply says the publish is queued at once, the outbox delivers the page to the Confluence
stand-in (later, when it was down), a second publish updates the same page, and wrong words,
an unconfigured target and a private incident are answered in the room with nothing queued.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.model import EventKind
from bot.outbox_types import OutboxState
from bot.ports import FixedClock
from bot.runtime import Runtime
from tests.fakes.confluence_api import FakeConfluence
from tests.fakes.slack_api import ALICE, BOB, CAROL, GENERAL_ID, FakeSlackApi
from tests.publish import support
from tests.publish.support import OUTBOX, confluence_settings, delivered, failed, published
from tests.slack_flow import test_slack_flow as flow
from tests.slack_flow.test_slack_flow import SECRET, Slack, declare, eventually, poll, settle
from tests.tickets.support import entries, replies, rows

# Fixtures: the Slack fake and its signed client, and the Confluence stand-in.
fake, slack, confluence = flow.fake, flow.slack, support.confluence


@pytest.fixture
def settings_overrides(fake: FakeSlackApi, confluence: FakeConfluence) -> dict[str, Any]:
    # Confluence only: Notion stays unconfigured, for the refusal below.
    return (
        {
            "slack_bot_token": "xoxb-test-token",
            "slack_signing_secret": SECRET,
            "slack_api_url": fake.url,
            "admins": [CAROL],
        }
        | confluence_settings(confluence)
        | OUTBOX
    )


async def answer(slack: Slack, room: str, words: str) -> str:
    """The reply in ``room`` that contains ``words`` (they come ephemeral, after the ack)."""
    return await eventually(  # type: ignore[no-any-return]
        lambda: next((t for t in replies(slack, room) if words in t), None)
    )


async def test_publish_in_the_room_makes_a_confluence_page_and_again_updates_it_in_place(
    slack: Slack, runtime: Runtime, confluence: FakeConfluence
) -> None:
    room = await declare(slack, runtime, "declare Checkout is down sev2")
    assert (await slack.command("publish confluence", channel=room)).status == 200
    said = await answer(slack, room, "queued")
    assert said == (
        "INC-1: publishing the postmortem to Confluence is queued. The page's link will be on"
        " the incident's timeline and postmortem page"
        " https://sitrep.example.com/incidents/1/postmortem once Confluence answers."
    )
    await delivered(runtime, "confluence")
    (pub,) = confluence.published()
    assert pub.title == "INC-1: Checkout is down — postmortem" and pub.version == 1
    page_url = f"{confluence.url}/wiki/spaces/OPS/pages/{pub.id}"
    (entry,) = await published(runtime)
    assert entry.text == f"Published the postmortem as a Confluence page: {page_url}"
    # What the reply promised: the link is on the timeline the room can ask for.
    await slack.command("timeline", channel=room)
    await answer(slack, room, page_url)

    # Anyone in the room may publish, as with ticket and page; the same page is updated.
    await slack.command("publish confluence", channel=room, user=BOB)
    await delivered(runtime, "confluence", 2)
    assert len(confluence.published()) == 1 and pub.version == 2
    asked = await entries(runtime, EventKind.PUBLISH_REQUESTED)
    assert [e.actor for e in asked] == [ALICE, BOB]
    again = [e for e in await published(runtime) if e.data["version"] == 2]
    assert again and again[0].text.startswith("Republished (version 2)")


async def test_confluence_down_the_command_answers_at_once_and_the_page_comes_once_it_is_back(
    slack: Slack, runtime: Runtime, confluence: FakeConfluence, clock: FixedClock
) -> None:
    room = await declare(slack, runtime, "declare Checkout is down sev2")
    await confluence.stop()  # connection refused
    assert (await slack.command("publish confluence", channel=room)).status == 200
    await answer(slack, room, "publishing the postmortem to Confluence is queued")
    row = await poll(lambda: failed(runtime, "confluence"))
    assert row.state is OutboxState.PENDING and row.attempts >= 1
    assert await published(runtime) == []

    await confluence.start()
    clock.advance(seconds=5)
    runtime.wake_outbox()
    (done,) = await delivered(runtime, "confluence")
    assert done.id == row.id  # the same row, retried: nothing lost, nothing doubled
    (pub,) = confluence.published()
    assert pub.title == "INC-1: Checkout is down — postmortem"
    assert len(await published(runtime)) == 1


async def test_a_word_that_is_not_a_target_gets_the_usage_and_queues_nothing(
    slack: Slack, runtime: Runtime, confluence: FakeConfluence
) -> None:
    room = await declare(slack, runtime, "declare Checkout is down sev2")
    await slack.command("publish wiki", channel=room)
    said = await answer(slack, room, "'wiki' is not a place to publish to")
    assert said.endswith("\nUsage: `publish &lt;confluence | notion&gt;`")  # Slack shows < >
    await slack.command("publish", channel=room)  # no default target
    said = await answer(slack, room, "Publish the postmortem where?")
    assert "publish confluence or publish notion" in said
    await settle(runtime)
    assert await entries(runtime, EventKind.PUBLISH_REQUESTED) == []
    assert await rows(runtime, "confluence") == [] and confluence.requests == []


async def test_a_target_that_is_not_configured_is_refused_with_the_core_s_message(
    slack: Slack, runtime: Runtime
) -> None:
    room = await declare(slack, runtime, "declare Checkout is down sev2")
    await slack.command("publish notion", channel=room)
    await answer(slack, room, "Publishing to Notion is not configured.")
    await settle(runtime)
    assert await entries(runtime, EventKind.PUBLISH_REQUESTED) == []
    assert await rows(runtime, "notion") == []


async def test_a_private_incident_is_refused_in_its_room_naming_the_setting(
    slack: Slack, runtime: Runtime, confluence: FakeConfluence
) -> None:
    room = await declare(slack, runtime, "declare Payroll export leaked sev2 private")
    await slack.command("publish confluence", channel=room)
    said = await answer(slack, room, "is private")
    assert said == "INC-1 is private: publishing it to Confluence is off (SITREP_PUBLISH_PRIVATE)."
    await settle(runtime)
    assert await entries(runtime, EventKind.PUBLISH_REQUESTED) == []
    assert confluence.requests == []


async def test_publish_outside_an_incident_room_says_where_to_run_it(
    slack: Slack, runtime: Runtime, confluence: FakeConfluence
) -> None:
    await declare(slack, runtime, "declare Checkout is down sev2")
    await slack.command("publish confluence", channel=GENERAL_ID)
    await answer(slack, GENERAL_ID, "isn't an incident channel")
    await settle(runtime)
    assert await entries(runtime, EventKind.PUBLISH_REQUESTED) == []
    assert confluence.requests == []
