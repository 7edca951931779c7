"""Who may publish: the button shows only configured targets and only to responders; a viewer's
POST is refused; a private incident's picture and publish form are for members only, and with
``SITREP_PUBLISH_PRIVATE`` a member may publish it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.domain import commands as c
from bot.domain.errors import InvalidCommand
from bot.domain.model import EventKind, Role
from bot.runtime import Runtime
from bot.security.access import Access
from tests.fakes.notion_api import FakeNotion
from tests.publish.support import NOTION_TOKEN, PARENT, delivered
from tests.web.support import OPERATOR, Client, declare
from tests.web.test_postmortem_editor import SECRET, signed_in


@pytest_asyncio.fixture
async def notion() -> AsyncIterator[FakeNotion]:
    async with FakeNotion(token=NOTION_TOKEN, parent=PARENT) as stand_in:
        yield stand_in


@pytest.fixture
def settings_overrides(notion: FakeNotion) -> dict[str, Any]:
    return {
        "web_shared_token_login": False,
        "oidc_issuer": "http://127.0.0.1:9/idp",
        "oidc_client_id": "sitrep",
        "oidc_client_secret": SECRET,
        # Only Notion: Confluence gets no button.
        "notion_token": NOTION_TOKEN,
        "notion_parent_page_id": PARENT,
        "notion_api_url": notion.url,
        "publish_private": True,
    }


async def test_only_configured_targets_show_and_only_to_responders(
    client: Client, runtime: Runtime, notion: FakeNotion
) -> None:
    await declare(runtime, "Checkout down")
    viewer = await signed_in(client, runtime, "oidc:vic", Access.VIEWER)
    status, page = await viewer.get("/incidents/1/postmortem")
    assert status == 200 and "Not published to Notion yet." in page
    assert "Publish to Notion" not in page and "Confluence" not in page
    resp = await viewer.post("/incidents/1/postmortem/publish", {"target": "notion"})
    assert resp.status == 403 and notion.requests == []
    responder = await signed_in(client, runtime, "oidc:rita")
    _, page = await responder.get("/incidents/1/postmortem")
    assert "Publish to Notion" in page and "Confluence" not in page
    resp = await responder.post("/incidents/1/postmortem/publish", {"target": "confluence"})
    assert resp.status == 400 and notion.requests == []


async def test_a_private_incident_is_for_members_and_published_when_allowed(
    client: Client, runtime: Runtime, notion: FakeNotion
) -> None:
    await declare(runtime, "Secret breach", private=True)
    await runtime.service.execute("default", 1, c.AssignRole(Role.SCRIBE, "oidc:sam"), OPERATOR)
    stranger = await signed_in(client, runtime, "oidc:eve")
    status, body = await stranger.get("/incidents/1/postmortem/timeline.svg")
    assert status == 404 and "Secret breach" not in body
    resp = await stranger.post("/incidents/1/postmortem/publish", {"target": "notion"})
    assert resp.status == 404 and notion.requests == []
    member = await signed_in(client, runtime, "oidc:sam")
    status, svg = await member.get("/incidents/1/postmortem/timeline.svg")
    assert status == 200 and svg.startswith("<svg")
    resp = await member.post("/incidents/1/postmortem/publish", {"target": "notion"})
    assert resp.status == 303
    await delivered(runtime, "notion")
    page = notion.page()
    texts = [
        t["text"]["content"]
        for b in page.all_blocks()
        for t in b.get(b["type"], {}).get("rich_text", [])
    ]
    assert any("CONFIDENTIAL" in t for t in texts)


async def test_the_core_refuses_a_target_that_is_not_configured(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime, "Checkout down")
    with pytest.raises(InvalidCommand, match="Publishing to Confluence is not configured"):
        await runtime.service.execute("default", 1, c.RequestPublish("confluence"), OPERATOR)
    entries = await runtime.db.run(lambda repo: list(repo.timeline(1)))
    assert not [e for e in entries if e.kind is EventKind.PUBLISH_REQUESTED]
