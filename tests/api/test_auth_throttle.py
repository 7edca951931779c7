"""Per-client lockout after wrong credentials, over real HTTP: API token, web login, webhooks."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from bot.ports import FixedClock
from bot.runtime import Runtime
from tests.alerts.support import ALL_SECRETS, AM_TOKEN, alert_count, fixture
from tests.conftest import API_TOKEN

Client = TestClient[Any, Any]
WRONG = {"Authorization": "Bearer wrong-token-guess"}
RIGHT = {"Authorization": f"Bearer {API_TOKEN}"}


async def declare(client: Client, headers: dict[str, str], **extra: str) -> ClientResponse:
    return await client.post(
        "/api/incidents", json={"title": "Checkout 500s"}, headers={**headers, **extra}
    )


async def burst(client: Client, n: int, headers: dict[str, str]) -> list[int]:
    """``n`` wrong attempts at once, the way a scripted guesser sends them."""
    responses = await asyncio.gather(*(declare(client, headers) for _ in range(n)))
    return [r.status for r in responses]


async def test_300_wrong_tokens_then_the_right_one_is_refused_with_429(
    client: Client, runtime: Runtime, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    statuses: list[int] = []
    for _ in range(6):
        statuses += await burst(client, 50, WRONG)
    assert statuses.count(401) == 10
    assert statuses.count(429) == 290

    resp = await declare(client, RIGHT)
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "30"
    body = await resp.json()
    assert body["retry_after"] == 30 and "try again in 30 s" in body["error"]
    assert await runtime.service.list("default") == []
    assert "wrong-token-guess" not in caplog.text
    # One line when the lockout starts, not one per refused request.
    assert caplog.text.count("client locked out") == 1
    assert "Traceback" not in caplog.text

    clock.advance(seconds=29)
    assert (await declare(client, RIGHT)).status == 429
    clock.advance(seconds=1)
    assert (await declare(client, RIGHT)).status == 201


async def test_each_further_lockout_is_twice_as_long(client: Client, clock: FixedClock) -> None:
    for expected in ("30", "60", "120"):
        assert (await burst(client, 10, WRONG)).count(401) == 10
        resp = await declare(client, RIGHT)
        assert resp.status == 429
        assert resp.headers["Retry-After"] == expected
        clock.advance(seconds=int(expected))


async def test_a_right_token_resets_the_count(client: Client) -> None:
    assert await burst(client, 9, WRONG) == [401] * 9
    assert (await declare(client, RIGHT)).status == 201
    assert await burst(client, 9, WRONG) == [401] * 9
    assert (await declare(client, RIGHT)).status == 201


async def test_requests_without_a_token_are_no_guesses(client: Client) -> None:
    assert await burst(client, 30, {}) == [401] * 30
    assert (await declare(client, RIGHT)).status == 201


async def test_forwarded_for_is_ignored_without_a_trusted_proxy(client: Client) -> None:
    for i in range(10):
        resp = await declare(client, WRONG, **{"X-Forwarded-For": f"198.51.100.{i}"})
        assert resp.status == 401
    resp = await declare(client, RIGHT, **{"X-Forwarded-For": "198.51.100.99"})
    assert resp.status == 429


class TestBehindATrustedProxy:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"trusted_proxies": ["127.0.0.0/8"]}

    async def test_clients_are_told_apart_by_forwarded_for(self, client: Client) -> None:
        mallory = {"X-Forwarded-For": "203.0.113.66"}
        alice = {"X-Forwarded-For": "198.51.100.7"}
        assert await burst(client, 10, {**WRONG, **mallory}) == [401] * 10
        assert (await declare(client, RIGHT, **mallory)).status == 429
        assert (await declare(client, RIGHT, **alice)).status == 201
        # What Mallory writes in front of the proxy's own entry changes nothing.
        spoofed = {"X-Forwarded-For": "198.51.100.7, 203.0.113.66"}
        assert (await declare(client, RIGHT, **spoofed)).status == 429


class TestTurnedOff:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"auth_throttle_failures": 0}

    async def test_nothing_is_ever_locked_out(self, client: Client) -> None:
        assert set(await burst(client, 300, WRONG)) == {401}
        assert (await declare(client, RIGHT)).status == 201


# -- the web login shares the API token's count --------------------------------------------


async def login(client: Client, token: str) -> ClientResponse:
    return await client.post("/login", data={"token": token}, allow_redirects=False)


async def test_login_locks_out_after_wrong_tokens_and_refuses_the_right_one(
    client: Client, clock: FixedClock
) -> None:
    for _ in range(10):
        assert (await login(client, "guess")).status == 401
    resp = await login(client, API_TOKEN)
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "30"
    assert resp.content_type == "text/html"
    assert "Set-Cookie" not in resp.headers
    assert "try again in 30 s" in await resp.text()
    # The same token guards the API: guessing it there is no way around the lockout.
    assert (await declare(client, RIGHT)).status == 429
    clock.advance(seconds=30)
    assert (await login(client, API_TOKEN)).status == 303


async def test_concurrent_logins_get_no_more_tries_than_sequential_ones(client: Client) -> None:
    # The login reads its form body before checking the token, so all of these are in flight
    # together; still only the first ten are checked.
    responses = await asyncio.gather(*(login(client, f"guess-{i}") for i in range(100)))
    statuses = [r.status for r in responses]
    assert statuses.count(401) == 10
    assert statuses.count(429) == 90


async def test_an_empty_login_form_is_no_guess(client: Client) -> None:
    for _ in range(20):
        assert (await login(client, "")).status == 401
    assert (await login(client, API_TOKEN)).status == 303


# -- webhook secrets ---------------------------------------------------------------------------


class TestWebhooks:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {**ALL_SECRETS, "alert_settle_seconds": 0}

    @staticmethod
    async def alertmanager(client: Client, token: str | None) -> ClientResponse:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await client.post(
            "/webhooks/alertmanager", data=fixture("alertmanager_payload.json"), headers=headers
        )

    async def test_wrong_secrets_lock_out_the_source_even_for_the_right_one(
        self, client: Client, runtime: Runtime, clock: FixedClock
    ) -> None:
        for i in range(10):
            assert (await self.alertmanager(client, f"guess-{i}")).status == 401
        resp = await self.alertmanager(client, AM_TOKEN)
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "30"
        assert await alert_count(runtime) == 0
        clock.advance(seconds=30)
        assert (await self.alertmanager(client, AM_TOKEN)).status == 200

    async def test_a_sources_lockout_is_audited_once_naming_the_source_and_client(
        self, client: Client, runtime: Runtime
    ) -> None:
        statuses = [(await self.alertmanager(client, f"guess-{i}")).status for i in range(40)]
        assert statuses.count(401) == 10 and statuses.count(429) == 30
        entries = await runtime.audit.all()
        assert [(e.action, e.actor, e.surface, e.target) for e in entries] == [
            ("auth_lockout", "webhook:alertmanager", "webhook", "client:127.0.0.1")
        ]
        assert entries[0].detail["realm"] == "webhook:alertmanager"
        assert entries[0].detail["seconds"] == 30
        assert "guess-" not in repr(entries)

    async def test_missing_credentials_are_no_guesses(self, client: Client) -> None:
        for _ in range(20):
            assert (await self.alertmanager(client, None)).status == 401
        assert (await self.alertmanager(client, AM_TOKEN)).status == 200

    async def test_each_source_and_the_api_are_counted_apart(self, client: Client) -> None:
        for i in range(10):
            assert (await self.alertmanager(client, f"guess-{i}")).status == 401
        assert (await self.alertmanager(client, AM_TOKEN)).status == 429
        resp = await client.post(
            "/webhooks/datadog", data=b"{}", headers={"X-Sitrep-Token": "nope"}
        )
        assert resp.status == 401
        assert (await declare(client, RIGHT)).status == 201


async def test_a_lockout_is_audited_once_without_the_guessed_token(
    client: Client, runtime: Runtime
) -> None:
    statuses: list[int] = []
    for _ in range(3):
        statuses += await burst(client, 50, WRONG)
    assert statuses.count(429) == 140
    entries = await runtime.audit.all()
    assert [(e.action, e.actor, e.surface) for e in entries] == [
        ("auth_lockout", "anonymous", "api")
    ]
    assert entries[0].detail == {
        "realm": "api-token",
        "client": "127.0.0.1",
        "seconds": 30,
        "reason": "too many wrong credentials",
    }
    assert "wrong-token-guess" not in repr(entries)
