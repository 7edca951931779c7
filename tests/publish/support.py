"""Shared by the publishing tests: the Confluence and Notion stand-ins, their settings, and
waits for what the outbox delivered to them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from bot.domain.model import EventKind
from bot.outbox_types import OutboxState
from bot.runtime import Runtime
from tests.alerts.support import timeline
from tests.fakes.confluence_api import FakeConfluence
from tests.fakes.notion_api import FakeNotion
from tests.slack_flow.test_slack_flow import poll

EMAIL, TOKEN = "sitrep@example.com", "confluence-api-token"
NOTION_TOKEN = "secret_notion_integration"
PARENT = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f1"
# Short retries and timeouts: tests move the clock past backoffs instead of waiting.
OUTBOX = {"outbox_max_attempts": 6, "outbox_backoff_cap_seconds": 1, "publish_timeout_seconds": 2}


@pytest_asyncio.fixture
async def confluence() -> AsyncIterator[FakeConfluence]:
    async with FakeConfluence(email=EMAIL, token=TOKEN, parents=("65541",)) as stand_in:
        yield stand_in


@pytest_asyncio.fixture
async def notion() -> AsyncIterator[FakeNotion]:
    async with FakeNotion(token=NOTION_TOKEN, parent=PARENT) as stand_in:
        yield stand_in


def confluence_settings(confluence: FakeConfluence) -> dict[str, Any]:
    """Confluence configured against the stand-in."""
    return {
        "confluence_url": confluence.url,
        "confluence_email": EMAIL,
        "confluence_api_token": TOKEN,
        "confluence_space_key": "OPS",
        "confluence_parent_page_id": "65541",
    }


def notion_settings(notion: FakeNotion) -> dict[str, Any]:
    """Notion configured against the stand-in."""
    return {
        "notion_token": NOTION_TOKEN,
        "notion_parent_page_id": PARENT,
        "notion_api_url": notion.url,
    }


def publish_settings(confluence: FakeConfluence, notion: FakeNotion) -> dict[str, Any]:
    """Both publishing services configured, with the tests' outbox pacing."""
    return confluence_settings(confluence) | notion_settings(notion) | OUTBOX


async def published(runtime: Runtime, incident_id: int = 1) -> list[Any]:
    """The "Published the postmortem …" timeline entries."""
    entries = await timeline(runtime, incident_id)
    return [e for e in entries if e.kind is EventKind.POSTMORTEM_PUBLISHED]


async def delivered(runtime: Runtime, service: str, n: int = 1) -> list[Any]:
    """Wait until ``n`` publishes to ``service`` are delivered (the page is recorded earlier)."""

    async def done() -> list[Any]:
        rows = await runtime.db.run(lambda repo: repo.list_outbox(limit=100))
        found = [r for r in rows if r.platform == service and r.state is OutboxState.DELIVERED]
        return found if len(found) >= n else []

    return await poll(done)  # type: ignore[no-any-return]


async def failed(runtime: Runtime, service: str) -> Any:
    """The first outbox row for ``service`` that has failed at least once, or None."""
    found = await runtime.db.run(lambda repo: repo.list_outbox(limit=50))
    return next((r for r in found if r.platform == service and r.last_error), None)
