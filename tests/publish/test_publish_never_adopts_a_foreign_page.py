"""A publish never takes over a page it did not create. Several workspaces (or sitrep installs)
may share one Notion parent page or Confluence space, and "INC-1: <title> — postmortem" is not
unique across them: a first publish never looks for a page at all (the create journal says
no create was sent), and the retry of a create that was sent takes only a page carrying its
own workspace's marker (Notion: the container's first block; Confluence: a label).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio

from bot.outbox_types import OutboxState
from bot.ports import FixedClock
from bot.publish.refs import CONFLUENCE, NOTION, page_key
from bot.runtime import Runtime
from integrations.markers import marker
from integrations.notion.blocks import block, container, rich
from integrations.notion.client import carries, marker_block
from tests.fakes.confluence_api import FakeConfluence, Page
from tests.fakes.notion_api import FakeNotion, NotionPage
from tests.publish.support import NOTION_TOKEN, PARENT, delivered, published
from tests.publish.test_publish_flow import (  # noqa: F401 (fixtures)
    TITLE,
    confluence,
    incident_with_postmortem,
    notion,
    publish,
    settings_overrides,
    texts,
)
from tests.slack_flow.test_slack_flow import poll
from tests.web.support import Client

THEIRS = "Their own notes: keep these."


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def their_notion_page(
    session: aiohttp.ClientSession, stand_in: FakeNotion, children: list[dict[str, Any]]
) -> NotionPage:
    """Another workspace's (or install's) page of our exact title, made through the API."""
    headers = {"Authorization": f"Bearer {NOTION_TOKEN}", "Notion-Version": "2022-06-28"}
    body = {
        "parent": {"type": "page_id", "page_id": PARENT},
        "properties": {"title": {"title": rich(TITLE)}},
        "children": children,
    }
    async with session.post(f"{stand_in.url}/v1/pages", json=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return stand_in.pages[(await resp.json())["id"]]


def untouched(page: NotionPage, stand_in: FakeNotion) -> bool:
    """Their page as they left it: title, content, and no write of ours against it."""
    writes = [(m, p) for m, p in stand_in.requests if m != "GET" and page.id in p]
    return page.title == TITLE and THEIRS in texts(page) and writes == []


async def _stored(runtime: Runtime, service: str) -> dict[str, Any] | None:
    ws = runtime.settings.workspace
    return await runtime.db.run(lambda repo: repo.get_chat_ref(ws, service, page_key(1)))


async def _parked(runtime: Runtime, service: str) -> list[Any]:
    rows = await runtime.db.run(lambda repo: repo.list_outbox(limit=50))
    return [r for r in rows if r.platform == service and r.state is OutboxState.PARKED]


async def _failed(runtime: Runtime, service: str) -> list[Any]:
    rows = await runtime.db.run(lambda repo: repo.list_outbox(limit=50))
    return [r for r in rows if r.platform == service and r.last_error]


# -- Notion -----------------------------------------------------------------------------------


async def test_a_first_notion_publish_makes_its_own_page_beside_a_same_titled_one(
    client: Client,
    runtime: Runtime,
    notion: FakeNotion,  # noqa: F811
    session: aiohttp.ClientSession,
) -> None:
    await incident_with_postmortem(runtime)
    theirs = await their_notion_page(session, notion, [block("paragraph", rich(THEIRS))])
    await publish(runtime, "notion")
    await delivered(runtime, "notion")

    (entry,) = await published(runtime)
    ours = notion.pages[entry.data["id"]]
    assert ours is not theirs and len(notion.pages) == 2
    assert untouched(theirs, notion)
    assert "config push" in texts(ours) and "config push" not in texts(theirs)


async def test_a_lost_notion_create_is_retried_onto_its_own_page_not_another_workspaces(
    client: Client,
    runtime: Runtime,
    notion: FakeNotion,  # noqa: F811
    clock: FixedClock,
    session: aiohttp.ClientSession,
) -> None:
    await incident_with_postmortem(runtime)
    # Listed before ours under the parent, same title, marked by another workspace's sitrep.
    other = marker("another-workspace", 1)
    theirs = await their_notion_page(
        session, notion, [container([marker_block(other), block("paragraph", rich(THEIRS))])]
    )
    notion.lose_next_create = 1
    await publish(runtime, "notion")
    await poll(lambda: _failed(runtime, NOTION))
    assert (await _stored(runtime, NOTION) or {}).get("state") == "sent"
    (ours,) = [p for p in notion.pages.values() if p is not theirs]  # Notion did create it

    clock.advance(seconds=5)
    runtime.wake_outbox()
    await delivered(runtime, "notion")

    (entry,) = await published(runtime)
    assert entry.data["id"] == ours.id and len(notion.pages) == 2
    assert untouched(theirs, notion)
    (box,) = ours.children
    assert carries(box["children"][0], marker(runtime.settings.workspace, 1))
    assert "config push" in texts(ours)


# -- Confluence -------------------------------------------------------------------------------


def their_confluence_page(stand_in: FakeConfluence, labels: list[str]) -> Page:
    """Another workspace's page of our exact title in the space."""
    page = Page("77001", TITLE, "OPS", f"<p>{THEIRS}</p>", labels=labels)
    stand_in.pages[page.id] = page
    return page


async def test_a_first_confluence_publish_never_overwrites_a_same_titled_page(
    client: Client,
    runtime: Runtime,
    confluence: FakeConfluence,  # noqa: F811
) -> None:
    await incident_with_postmortem(runtime)
    theirs = their_confluence_page(confluence, [marker("another-workspace", 1)])
    await publish(runtime, "confluence")

    (row,) = await poll(lambda: _parked(runtime, CONFLUENCE))
    assert "already exists" in (row.last_error or "")  # Confluence refused our create
    assert theirs.version == 1 and THEIRS in theirs.body and not theirs.attachments
    assert ("GET", "/wiki/rest/api/content") not in confluence.requests  # nobody looked
    assert await _stored(runtime, CONFLUENCE) == {"state": "planned"}
    assert await published(runtime) == []


async def test_a_confluence_retry_after_a_sent_create_skips_a_page_without_its_label(
    client: Client,
    runtime: Runtime,
    confluence: FakeConfluence,  # noqa: F811
    clock: FixedClock,
) -> None:
    await incident_with_postmortem(runtime)
    confluence.fail_next = 1  # a 500: Confluence may or may not have made the page
    await publish(runtime, "confluence")
    await poll(lambda: _failed(runtime, CONFLUENCE))
    assert (await _stored(runtime, CONFLUENCE) or {}).get("state") == "sent"
    theirs = their_confluence_page(confluence, [])  # meanwhile someone made one of our title

    clock.advance(seconds=5)
    runtime.wake_outbox()
    (row,) = await poll(lambda: _parked(runtime, CONFLUENCE))

    assert "already exists" in (row.last_error or "")
    assert ("GET", "/wiki/rest/api/content/77001/label") in confluence.requests  # looked, and
    assert theirs.version == 1 and THEIRS in theirs.body and not theirs.attachments  # left it
    assert await published(runtime) == []
