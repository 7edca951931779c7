"""Socket Mode: the same flow with no public URL, through a fake Socket Mode server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient

from bot.runtime import Runtime
from tests.fakes.slack_api import ALICE, GENERAL_ID, TEAM_ID, FakeSlackApi
from tests.fakes.socket_mode import FakeSocketMode


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi(valid_tokens={"xoxb-test-token", "xapp-1-test"}) as api:
        api.add_channel("incidents", members=[ALICE])
        yield api


@pytest_asyncio.fixture
async def socket(fake: FakeSlackApi) -> AsyncIterator[FakeSocketMode]:
    async with FakeSocketMode(fake) as sm:
        yield sm


@pytest.fixture
def settings_overrides(fake: FakeSlackApi, socket: FakeSocketMode) -> dict[str, Any]:
    return {
        "slack_bot_token": "xoxb-test-token",
        "slack_app_token": "xapp-1-test",
        "slack_api_url": fake.url,
    }


async def test_socket_mode_declares_over_the_websocket_and_http_is_closed(
    client: TestClient[Any, Any], socket: FakeSocketMode, fake: FakeSlackApi, runtime: Runtime
) -> None:
    await socket.wait_connected()
    ack = await socket.send(
        "slash_commands",
        {
            "token": "legacy",
            "team_id": TEAM_ID,
            "channel_id": GENERAL_ID,
            "user_id": ALICE,
            "user_name": "alice",
            "command": "/incident",
            "text": "declare Socket mode works sev3",
            "trigger_id": fake.mint_trigger_id(),
            "response_url": "https://hooks/x",
            "api_app_id": "A0SITREP",
        },
    )
    assert ack["envelope_id"].startswith("env-")
    deadline = time.monotonic() + 10
    while not any(c.name.startswith("inc-1-socket-mode-works") for c in fake.channels()):
        assert time.monotonic() < deadline, "room never created"
        await asyncio.sleep(0.05)
    incidents = await runtime.service.list("default")
    assert [i.title for i in incidents] == ["Socket mode works"]
    # With no signing secret, nothing may come in over HTTP.
    resp = await client.post(
        "/slack/events", data=b"{}", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 404
