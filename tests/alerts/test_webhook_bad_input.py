"""Hostile bodies on POST /webhooks/{source}, properly signed: a 400 or 413 that says what is
wrong, nothing stored, no traceback (deep nesting was a 500 with a RecursionError)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.ports import FixedClock
from bot.runtime import Runtime
from integrations.alerts.registry import SOURCES
from tests.alerts.support import ALL_SECRETS, Client
from tests.alerts.test_webhooks import signed
from tests.support.probe import app, leaves_nothing

__all__ = ["app"]  # the fixture: no worker, so only the request under test writes rows
DEEP_ARRAY = b"[" * 5000 + b"]" * 5000
# Valid JSON that orjson takes (under its own limit of 1024) but nested far beyond ours.
DEEP_OBJECT = b'{"alerts":' + b'{"a":' * 900 + b"1" + b"}" * 901


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(ALL_SECRETS)


@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
async def test_deeply_nested_webhook_is_a_400_naming_the_limit(
    client: Client,
    runtime: Runtime,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
    source: str,
    body: bytes,
) -> None:
    async with leaves_nothing(runtime, caplog):
        headers = signed(source, body, clock)
        resp = await client.post(f"/webhooks/{source}", data=body, headers=headers)
        answer = json.loads(await resp.text())
        assert resp.status == 400, answer
        assert answer["field"] == "payload"
        assert "nest more than 32 levels" in answer["error"]
