"""`@sitrep publish notion` in a Teams incident thread puts the postmortem on a Notion page
through the stand-in and a second one rebuilds that page: the same desk and outbox as Slack."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.model import EventKind
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.fake_graph import FakeGraph
from tests.fakes.notion_api import FakeNotion
from tests.publish import support
from tests.publish.support import OUTBOX, PARENT, notion_settings, published
from tests.teams.conftest import Harness, teams_settings
from tests.teams.test_commands import declare, in_room, replies

notion = support.notion  # the Notion stand-in's fixture


@pytest.fixture
def settings_overrides(
    connector: FakeBotConnector, graph: FakeGraph, notion: FakeNotion
) -> dict[str, Any]:
    # Notion only: Confluence stays unconfigured, for the refusal below.
    return teams_settings(connector, graph) | notion_settings(notion) | OUTBOX


async def test_publish_in_a_teams_thread_makes_a_notion_page_and_again_rebuilds_it(
    teams: Harness, notion: FakeNotion
) -> None:
    inc = await declare(teams)
    thread = (await teams.room(inc))["id"]
    assert await in_room(teams, inc, "publish notion") == 202
    said = [t for t in replies(teams, thread) if "queued" in t]
    assert said and said[0].startswith("INC-1: publishing the postmortem to Notion is queued.")
    page = notion.page()
    assert page.title == "INC-1: Checkout errors — postmortem" and page.parent == PARENT
    assert inc.id is not None
    (entry,) = await published(teams.runtime, inc.id)
    assert entry.text == f"Published the postmortem as a Notion page: {page.url}"

    assert await in_room(teams, inc, "publish Notion") == 202
    assert len(notion.pages) == 1
    versions = [e.data["version"] for e in await published(teams.runtime, inc.id)]
    assert versions == [1, 2]


async def test_a_target_that_is_not_configured_is_answered_in_the_thread(
    teams: Harness, notion: FakeNotion
) -> None:
    inc = await declare(teams)
    thread = (await teams.room(inc))["id"]
    assert await in_room(teams, inc, "publish confluence") == 202
    assert "Publishing to Confluence is not configured." in replies(teams, thread)
    assert await in_room(teams, inc, "publish") == 202
    usage = "Usage: publish <confluence | notion>"
    asked = [t for t in replies(teams, thread) if t.startswith("Publish the postmortem where?")]
    assert asked and asked[0].endswith(usage)
    detail = await teams.runtime.service.detail(inc.workspace, inc.number)
    assert not [e for e in detail.timeline if e.kind is EventKind.PUBLISH_REQUESTED]
    assert notion.pages == {}
