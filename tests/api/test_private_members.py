"""A private incident over the API: the shared token (the operator) and admin tokens see it;
a personal token sees it only when its owner is a member, else 404 and absent from lists."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.runtime import Runtime
from tests.api.test_api_tokens import make_token

Client = TestClient[Any, Any]

READS = (
    "/api/incidents/2",
    "/api/incidents/2/timeline",
    "/api/incidents/2/postmortem?format=md",
    "/api/incidents/2/postmortem?format=json",
    "/api/alerts?incident=INC-2",
)


async def _setup(client: Client, auth: dict[str, str]) -> None:
    for body in ({"title": "Public outage"}, {"title": "Secret breach", "private": True}):
        resp = await client.post("/api/incidents", json=body, headers=auth)
        assert resp.status == 201, await resp.text()


async def _titles(client: Client, headers: dict[str, str]) -> list[str]:
    resp = await client.get("/api/incidents", headers=headers)
    assert resp.status == 200, await resp.text()
    return [i["title"] for i in (await resp.json())["incidents"]]


async def test_a_non_members_token_gets_404_and_no_listing_entry(
    client: Client, auth: dict[str, str], runtime: Runtime
) -> None:
    await _setup(client, auth)
    _, dana = await make_token(client, auth, "incidents:write", "alerts:read")
    assert await _titles(client, dana) == ["Public outage"]
    for path in READS:
        resp = await client.get(path, headers=dana)
        assert resp.status == 404, path
        assert "Secret breach" not in await resp.text()
    writes = [
        ("POST", "/api/incidents/2/notes", {"text": "snooping"}),
        ("POST", "/api/incidents/2/acknowledge", {}),
        ("POST", "/api/incidents/2/roles", {"role": "scribe", "user": "U_DANA"}),
        ("PATCH", "/api/incidents/2", {"summary": "mine now"}),
    ]
    for method, path, body in writes:
        resp = await client.request(method, path, json=body, headers=dana)
        assert resp.status == 404, path
    detail = await runtime.service.detail(runtime.settings.workspace, 2)
    assert detail.incident.scribe is None and detail.incident.summary == ""
    assert detail.incident.acknowledged_at is None
    assert "U_DANA" not in {e.actor for e in detail.timeline}


async def test_a_members_token_sees_and_acts_on_the_private_incident(
    client: Client, auth: dict[str, str]
) -> None:
    await _setup(client, auth)
    _, dana = await make_token(client, auth, "incidents:write")
    resp = await client.post(
        "/api/incidents/2/roles", json={"role": "scribe", "user": "U_DANA"}, headers=auth
    )
    assert resp.status == 200, await resp.text()
    assert await _titles(client, dana) == ["Secret breach", "Public outage"]
    for path in READS[:4]:
        assert (await client.get(path, headers=dana)).status == 200, path
    resp = await client.post("/api/incidents/2/notes", json={"text": "on it"}, headers=dana)
    assert resp.status == 201, await resp.text()


async def test_the_shared_token_and_an_admin_token_see_every_incident(
    client: Client, auth: dict[str, str]
) -> None:
    await _setup(client, auth)
    _, admin = await make_token(client, auth, "admin")
    for headers in (auth, admin):
        assert await _titles(client, headers) == ["Secret breach", "Public outage"]
        for path in READS:
            assert (await client.get(path, headers=headers)).status == 200, path
