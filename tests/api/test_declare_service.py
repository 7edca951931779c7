"""The declare body's optional ``service``: stored, shown, bounded."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

Client = TestClient[Any, Any]


async def test_declare_with_a_service_stores_and_shows_it(
    client: Client, auth: dict[str, str]
) -> None:
    resp = await client.post(
        "/api/incidents", json={"title": "Cards fail", "service": " payments "}, headers=auth
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["incident"]["service"] == "payments"
    got = await (await client.get("/api/incidents/INC-1", headers=auth)).json()
    assert got["service"] == "payments"


async def test_declare_without_a_service_has_none(client: Client, auth: dict[str, str]) -> None:
    resp = await client.post("/api/incidents", json={"title": "Cards fail"}, headers=auth)
    assert (await resp.json())["incident"]["service"] == ""


async def test_a_service_over_100_characters_is_refused(
    client: Client, auth: dict[str, str]
) -> None:
    resp = await client.post(
        "/api/incidents", json={"title": "Cards fail", "service": "s" * 101}, headers=auth
    )
    assert resp.status == 400
    assert (await resp.json())["field"] == "service"
    listed = await (await client.get("/api/incidents", headers=auth)).json()
    assert listed["incidents"] == []
