"""POST /webhooks/jira before any ticket exists: closed until its secret is set, wrong
signatures count as guesses (and lock the source out), missing ones do not, and a delivery
must name itself and be JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.ports import FixedClock
from bot.runtime import Runtime
from tests.fakes.jira_api import FakeJira

Client = TestClient[Any, Any]
SECRET = "jira-webhook-secret"
JIRA = {
    "jira_url": "http://127.0.0.1:9",
    "jira_email": "bot@example.com",
    "jira_api_token": "t",
    "jira_project": "OPS",
}


def body(clock: FixedClock, **extra: Any) -> bytes:
    data = {
        "timestamp": int(clock.now().timestamp() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue": {"key": "OPS-99", "fields": {"status": {"statusCategory": {"key": "done"}}}},
    }
    return json.dumps(data | extra).encode()


class TestWithSecret:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return JIRA | {"jira_webhook_secret": SECRET}

    async def test_an_issue_sitrep_never_opened_is_taken_note_of_and_ignored(
        self, client: Client, clock: FixedClock
    ) -> None:
        data = body(clock)
        resp = await client.post("/webhooks/jira", data=data, headers=FakeJira.sign(data, SECRET))
        assert (resp.status, await resp.json()) == (200, {"item": "unknown"})
        other = body(clock, webhookEvent="comment_created")
        resp = await client.post("/webhooks/jira", data=other, headers=FakeJira.sign(other, SECRET))
        assert await resp.json() == {"item": "ignored"}

    async def test_wrong_signatures_lock_the_source_out_and_missing_ones_do_not(
        self, client: Client, clock: FixedClock
    ) -> None:
        data = body(clock)
        for _ in range(20):
            unsigned = await client.post(
                "/webhooks/jira",
                data=data,
                headers={"X-Atlassian-Webhook-Identifier": "d", "Content-Type": "application/json"},
            )
            assert unsigned.status == 401
        for i in range(10):
            forged = FakeJira.sign(data, f"guess-{i}")
            assert (await client.post("/webhooks/jira", data=data, headers=forged)).status == 401
        right = await client.post("/webhooks/jira", data=data, headers=FakeJira.sign(data, SECRET))
        assert right.status == 429 and right.headers["Retry-After"]

    async def test_a_lockout_by_wrong_signatures_is_audited_once_like_an_alert_sources(
        self, client: Client, clock: FixedClock, runtime: Runtime
    ) -> None:
        data = body(clock)
        statuses = []
        for i in range(15):
            forged = FakeJira.sign(data, f"guess-{i}")
            statuses.append((await client.post("/webhooks/jira", data=data, headers=forged)).status)
        assert statuses.count(401) == 10 and statuses.count(429) == 5
        entries = await runtime.audit.all()
        assert [(e.action, e.actor, e.surface, e.target) for e in entries] == [
            ("auth_lockout", "webhook:jira", "webhook", "client:127.0.0.1")
        ]
        assert "guess-" not in repr(entries)

    async def test_a_delivery_must_name_itself_and_be_json(
        self, client: Client, clock: FixedClock
    ) -> None:
        data = body(clock)
        headers = FakeJira.sign(data, SECRET)
        del headers["X-Atlassian-Webhook-Identifier"]
        nameless = await client.post("/webhooks/jira", data=data, headers=headers)
        assert nameless.status == 400
        assert "X-Atlassian-Webhook-Identifier" in (await nameless.json())["error"]
        junk = b"not json"
        resp = await client.post("/webhooks/jira", data=junk, headers=FakeJira.sign(junk, SECRET))
        assert resp.status == 415


class TestWithoutSecret:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return JIRA

    async def test_the_endpoint_is_closed(self, client: Client, clock: FixedClock) -> None:
        data = body(clock)
        resp = await client.post("/webhooks/jira", data=data, headers=FakeJira.sign(data, "x"))
        assert resp.status == 404
        assert "SITREP_JIRA_WEBHOOK_SECRET" in (await resp.json())["error"]
