"""One person across Slack and the web: Sign in with Slack makes the person their Slack user id,
so the commander Slack assigned acts on their private incident on the web as that same actor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import EventKind, Role
from bot.runtime import Runtime
from bot.security import access
from integrations.web import session as sess
from tests.fakes.oidc_provider import (
    FakeProvider,
    running_provider,
    sign_in,
)
from tests.web.support import CSRF, Client, provider_settings

COMMANDER = "U0CAMCMDR"


@pytest_asyncio.fixture
async def provider(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeProvider]:
    async with running_provider() as fake:
        # The fake runs on loopback; it stands in for https://slack.com, whose issuer is the
        # only one trusted to name a Slack user id (unit-tested in tests/core/test_access.py).
        monkeypatch.setattr(access, "SLACK_ISSUER", fake.issuer)
        yield fake


@pytest.fixture
def settings_overrides(provider: FakeProvider) -> dict[str, Any]:
    return {
        **provider_settings(provider),
        "web_default_role": "responder",
    }


def slack_claims(user: str, name: str) -> dict[str, Any]:
    """What Sign in with Slack puts in its ID token."""
    return {
        "sub": user,
        access.SLACK_USER_CLAIM: user,
        "https://slack.com/team_id": "T0TEAM",
        "name": name,
    }


async def private_incident(runtime: Runtime) -> int:
    ws = runtime.settings.workspace
    out = await runtime.service.declare(
        ws, c.Declare(title="Leaked key", private=True), Actor("U0DECLARER")
    )
    number = out.incident.number
    # Assigned in Slack: the command carries Slack user ids only.
    await runtime.service.execute(
        ws, number, c.AssignRole(Role.COMMANDER, COMMANDER), Actor("U0DECLARER")
    )
    return number


async def test_the_slack_commander_signed_in_with_slack_acts_on_their_private_incident(
    client: Client, runtime: Runtime, provider: FakeProvider
) -> None:
    number = await private_incident(runtime)
    cookie = await sign_in(client, provider, **slack_claims(COMMANDER, "Cam Commander"))
    headers = {"Cookie": f"{sess.COOKIE}={cookie}"}
    resp = await client.get(f"/incidents/{number}", headers=headers)
    page = await resp.text()
    assert resp.status == 200, page
    csrf = CSRF.search(page)
    assert csrf is not None
    resp = await client.post(
        f"/incidents/{number}/notes",
        data={"text": "key revoked", "csrf": csrf.group(1)},
        headers=headers,
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    detail = await runtime.service.detail(runtime.settings.workspace, number)
    [note] = [e for e in detail.timeline if e.kind is EventKind.NOTE]
    assert note.actor == COMMANDER
    # The sign-in named the Slack id, so Slack's own entries show the name too.
    page = await (await client.get(f"/incidents/{number}", headers=headers)).text()
    assert "<dt>Commander</dt><dd>Cam Commander</dd>" in page
    assert COMMANDER not in page


async def test_another_slack_user_signed_in_with_slack_cannot_see_it(
    client: Client, runtime: Runtime, provider: FakeProvider
) -> None:
    number = await private_incident(runtime)
    cookie = await sign_in(client, provider, **slack_claims("U0STRANGER", "Stan"))
    resp = await client.get(f"/incidents/{number}", headers={"Cookie": f"{sess.COOKIE}={cookie}"})
    assert resp.status == 404
    assert "Leaked key" not in await resp.text()
