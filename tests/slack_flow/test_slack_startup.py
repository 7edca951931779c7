"""Start-up logging: the "chat platform not configured" warning only when it is true."""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.ports import FixedClock
from handlers.app import create_app
from tests.slack_flow.test_slack_flow import fake, settings_overrides  # noqa: F401 (fixtures)

WARNING = "chat platform not configured"


async def start_and_stop(settings: Settings, clock: FixedClock) -> None:
    app = create_app(settings, clock=clock, port_factories=[])
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        assert (await client.get("/readyz")).status == 200


async def test_configured_slack_gives_no_not_configured_warning(
    settings: Settings, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await start_and_stop(settings, clock)
    assert any(r.getMessage() == "slack ready" for r in caplog.records)
    assert not [r for r in caplog.records if WARNING in r.getMessage()]


async def test_unconfigured_slack_is_warned_about(
    settings: Settings, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    unconfigured = settings.model_copy(
        update={"slack_bot_token": None, "slack_signing_secret": None}
    )
    await start_and_stop(unconfigured, clock)
    warnings = [r for r in caplog.records if WARNING in r.getMessage()]
    assert len(warnings) == 1
    assert getattr(warnings[0], "platforms", None) == "slack"
