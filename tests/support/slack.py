"""The Slack fake as the tests of real ``sitrep serve`` processes and of delivery use it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.fakes.slack_api import BOT_USER_ID, FakeSlackApi


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    """The Slack fake, with the broadcast and alerts channels the bot is in."""
    async with FakeSlackApi() as server:
        server.add_channel("incidents", members=[BOT_USER_ID])
        server.add_channel("alerts", members=[BOT_USER_ID])
        yield server
