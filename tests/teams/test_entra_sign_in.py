"""One person across Teams and the web: a Teams activity links the sender's Entra object id to
their Teams id, and a web sign-in with Microsoft Entra ID (``tid``/``oid``) then acts as that
Teams user: same timeline actor, same membership of private incidents, same name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import EventKind
from bot.people import entra_alias
from bot.security import access
from integrations.teams.directory import TEAMS_STORE, TeamsDirectory
from integrations.web import session as sess
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.fake_graph import FakeGraph
from tests.fakes.oidc_provider import FakeProvider, running_provider
from tests.fakes.oidc_provider import sign_in as oidc_sign_in
from tests.teams import activities as act
from tests.teams.conftest import Harness, teams_settings
from tests.web.support import CSRF, provider_settings

OTHER_TENANT = "99999999-0000-4000-8000-000000000009"


@pytest_asyncio.fixture
async def provider(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeProvider]:
    # The fake provider runs on loopback; count it as an Entra host, as
    # login.microsoftonline.com is in production (the host check itself is unit-tested below).
    monkeypatch.setattr(access, "ENTRA_HOSTS", access.ENTRA_HOSTS | {"127.0.0.1"})
    async with running_provider() as fake:
        yield fake


@pytest.fixture
def settings_overrides(
    connector: FakeBotConnector, graph: FakeGraph, provider: FakeProvider
) -> dict[str, Any]:
    return {
        **teams_settings(connector, graph),
        **provider_settings(provider),
        "oidc_responder_groups": ["oncall"],
    }


async def sign_in(teams: Harness, provider: FakeProvider, **claims: Any) -> dict[str, str]:
    """Sign in as a responder with ``claims``; the browser's headers."""
    cookie = await oidc_sign_in(teams.client, provider, groups=["oncall"], **claims)
    return {"Cookie": f"{sess.COOKIE}={cookie}"}


def entra(person: act.Person, tenant: str = act.TENANT) -> dict[str, Any]:
    """ID-token claims Entra ID issues for ``person`` (``sub`` is pairwise, unlike ``oid``)."""
    return {
        "sub": f"pairwise-{person.aad[:8]}",
        "tid": tenant,
        "oid": person.aad,
        "name": person.name,
    }


async def private_incident_commanded_by_alice(teams: Harness) -> int:
    ws = teams.runtime.settings.workspace
    declare = c.Declare(title="Card data exposure", private=True, commander=act.ALICE.id)
    out = await teams.runtime.service.declare(ws, declare, Actor(act.CAROL.id, act.CAROL.name))
    return out.incident.number


async def test_a_teams_message_links_the_senders_entra_id_to_their_teams_id(
    teams: Harness,
) -> None:
    assert await teams.say("help") == 202  # Alice, in her 1:1 chat
    ws = teams.runtime.settings.workspace
    alias = entra_alias(act.TENANT, act.ALICE.aad)
    assert alias == f"entra:{act.TENANT}/{act.ALICE.aad}"
    assert await teams.runtime.people.actor_for(ws, alias) == act.ALICE.id
    # Another tenant's user with the same object id is somebody else.
    elsewhere = f"entra:{OTHER_TENANT}/{act.ALICE.aad}"
    assert await teams.runtime.people.actor_for(ws, elsewhere) is None
    names = await teams.runtime.db.run(lambda r: r.person_names(ws, [act.ALICE.id]))
    assert names == {act.ALICE.id: "Alice Archer"}


async def test_the_teams_commander_signed_in_with_entra_acts_on_their_private_incident(
    teams: Harness, provider: FakeProvider
) -> None:
    assert await teams.say("help") == 202  # Teams shows us Alice and her Entra object id
    number = await private_incident_commanded_by_alice(teams)

    headers = await sign_in(teams, provider, **entra(act.ALICE))
    resp = await teams.client.get(f"/incidents/{number}", headers=headers)
    page = await resp.text()
    assert resp.status == 200, page
    assert "Card data exposure" in page
    csrf = CSRF.search(page)
    assert csrf is not None
    resp = await teams.client.post(
        f"/incidents/{number}/notes",
        data={"text": "rotating the keys", "csrf": csrf.group(1)},
        headers=headers,
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()

    detail = await teams.runtime.service.detail(teams.runtime.settings.workspace, number)
    [note] = [e for e in detail.timeline if e.kind is EventKind.NOTE]
    # The same actor as in Teams: the Teams id, not oidc:<issuer>#<sub>.
    assert note.actor == act.ALICE.id
    page = await (await teams.client.get(f"/incidents/{number}", headers=headers)).text()
    assert "Alice Archer" in page
    assert act.ALICE.id not in page


async def test_an_entra_sign_in_nobody_linked_stays_its_own_actor_and_sees_no_private_incident(
    teams: Harness, provider: FakeProvider
) -> None:
    assert await teams.say("help") == 202  # links Alice only
    number = await private_incident_commanded_by_alice(teams)
    for claims in (entra(act.BOB), entra(act.ALICE, tenant=OTHER_TENANT)):
        headers = await sign_in(teams, provider, **claims)
        resp = await teams.client.get(f"/incidents/{number}", headers=headers)
        assert resp.status == 404, claims
        assert "Card data exposure" not in await resp.text()


async def test_without_teams_authentication_no_link_is_recorded(teams: Harness) -> None:
    # Anonymous Teams (development) takes unauthenticated activities: a forged one must not
    # send anybody's Entra sign-in to another Teams user.
    rt = teams.runtime
    ws = rt.settings.workspace
    directory = TeamsDirectory(
        rt.units,
        rt.clock,
        ws,
        store=teams.client.app[TEAMS_STORE],
        default_service_url=teams.service_url,
        tenant_id=act.TENANT,
        link_entra=False,
    )
    await directory.observe(
        service_url=None, tenant_id=act.TENANT, user_id=act.BOB.id, name="Bob", aad_id=act.BOB.aad
    )
    assert await rt.people.actor_for(ws, entra_alias(act.TENANT, act.BOB.aad) or "") is None
