"""A private incident in the web UI: its members and admins see it; anyone else, whatever
their role, gets a 404 by URL and does not find it in the list."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import EventKind, Role
from bot.runtime import Runtime
from bot.security.access import Access
from tests.web.support import (
    CSRF,
    OPERATOR,
    PEOPLE_KEY,
    PEOPLE_SETTINGS,
    Client,
    declare,
    session_for,
)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(PEOPLE_SETTINGS)


async def _as(
    client: Client, runtime: Runtime, actor_id: str, role: Access
) -> tuple[dict[str, str], str]:
    browser = await session_for(client, runtime, PEOPLE_KEY, actor_id, role)
    headers = browser.headers()
    page = await (await client.get("/incidents", headers=headers)).text()
    match = CSRF.search(page)
    assert match is not None, page
    return headers, match.group(1)


async def _setup(runtime: Runtime) -> None:
    ws = runtime.settings.workspace
    await declare(runtime, "Public outage")
    await declare(runtime, "Secret breach", private=True)
    await runtime.service.execute(ws, 2, c.AssignRole(Role.SCRIBE, "U_SCRIBE"), OPERATOR)
    # A note makes its author a member: they acted on the incident.
    await runtime.service.execute(ws, 2, c.AddNote("checked the WAF"), Actor(id="U_NOTE"))


PATHS = ("/incidents/2", "/incidents/2/postmortem.md", "/incidents/2/postmortem.json")


async def test_a_responder_who_is_not_a_member_gets_404_and_no_list_entry(
    client: Client, runtime: Runtime
) -> None:
    await _setup(runtime)
    headers, csrf = await _as(client, runtime, "U_STRANGER", Access.RESPONDER)
    listing = await (await client.get("/incidents", headers=headers)).text()
    assert "Public outage" in listing and "Secret breach" not in listing
    filtered = await (await client.get("/incidents?status=open", headers=headers)).text()
    assert "Public outage" in filtered and "Secret breach" not in filtered
    for path in PATHS:
        resp = await client.get(path, headers=headers, allow_redirects=False)
        assert resp.status == 404, path
        assert "Secret breach" not in await resp.text()
    resp = await client.post(
        "/incidents/2/notes",
        data={"text": "snooping", "csrf": csrf},
        headers=headers,
        allow_redirects=False,
    )
    assert resp.status == 404
    assert "Secret breach" not in await resp.text()
    detail = await runtime.service.detail(runtime.settings.workspace, 2)
    assert not [e for e in detail.timeline if e.kind is EventKind.NOTE and e.text == "snooping"]


@pytest.mark.parametrize(
    ("actor_id", "role"),
    [
        ("U_SCRIBE", Access.RESPONDER),
        ("U_NOTE", Access.VIEWER),
        ("cli:test", Access.RESPONDER),
        ("U_STRANGER", Access.ADMIN),
    ],
    ids=["role-holder", "timeline-actor", "declarer", "admin"],
)
async def test_members_and_admins_see_the_private_incident(
    client: Client, runtime: Runtime, actor_id: str, role: Access
) -> None:
    await _setup(runtime)
    headers, _ = await _as(client, runtime, actor_id, role)
    listing = await (await client.get("/incidents", headers=headers)).text()
    assert "Secret breach" in listing
    for path in PATHS:
        resp = await client.get(path, headers=headers)
        assert resp.status == 200, path
        assert "Secret breach" in await resp.text()


async def test_a_member_responder_can_act_on_the_private_incident(
    client: Client, runtime: Runtime
) -> None:
    await _setup(runtime)
    headers, csrf = await _as(client, runtime, "U_SCRIBE", Access.RESPONDER)
    resp = await client.post(
        "/incidents/2/notes",
        data={"text": "scribe note", "csrf": csrf},
        headers=headers,
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
