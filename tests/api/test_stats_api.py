"""GET /api/stats: the dashboard's figures, read scope, privacy per token, bad input → 400."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.ports import FixedClock
from handlers.stats_api import StatsResponse
from tests.api.test_api_tokens import make_token

Client = TestClient[Any, Any]


async def _setup(client: Client, auth: dict[str, str], clock: FixedClock) -> None:
    bodies = [
        {"title": "Cards fail", "severity": "SEV1", "service": "payments"},
        {"title": "Search slow", "severity": "SEV2", "service": "search"},
        {"title": "Secret breach", "severity": "SEV1", "private": True},
    ]
    for body in bodies:
        resp = await client.post("/api/incidents", json=body, headers=auth)
        assert resp.status == 201, await resp.text()
    clock.advance(minutes=4)
    resp = await client.post("/api/incidents/INC-1/acknowledge", headers=auth)
    assert resp.status == 200, await resp.text()
    clock.advance(minutes=56)
    resp = await client.post(
        "/api/incidents/INC-1/status", json={"status": "resolved"}, headers=auth
    )
    assert resp.status == 200, await resp.text()


async def _stats(client: Client, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    resp = await client.get(f"/api/stats{query}", headers=headers)
    assert resp.status == 200, await resp.text()
    data: dict[str, Any] = await resp.json()
    StatsResponse.model_validate(data)  # the documented shape
    return data


async def test_the_operator_gets_every_figure(
    client: Client, auth: dict[str, str], clock: FixedClock
) -> None:
    await _setup(client, auth, clock)
    data = await _stats(client, auth, "?weeks=4")
    assert len(data["weeks"]) == 4 and data["weeks"][-1] == "2026-W48"
    assert data["total"]["incidents"] == 3
    sev1 = next(s for s in data["by_severity"] if s["severity"] == "SEV1")
    assert sev1["incidents"] == 2 and sev1["mtta_seconds"] == 240.0
    assert sev1["mttr_seconds"] == 3600.0
    assert sev1["sla_ack"] == {"met": 1, "missed": 1, "ratio": 0.5}  # the secret one: unacked
    assert sev1["sla_resolve"] == {"met": 1, "missed": 0, "ratio": 1.0}
    assert sev1["weeks"][-1]["incidents"] == 2
    services = {s["service"]: s["incidents"] for s in data["by_service"]}
    assert services == {"payments": 1, "search": 1, "(none)": 1}
    assert {"severity": "SEV1", "ack_seconds": 300.0, "resolve_seconds": 14400.0} in data["targets"]
    assert data["action_items_overdue"] == {"count": 0, "items": []}


async def test_a_personal_token_counts_only_what_its_owner_may_see(
    client: Client, auth: dict[str, str], clock: FixedClock
) -> None:
    await _setup(client, auth, clock)
    _, dana = await make_token(client, auth, "incidents:read")
    data = await _stats(client, dana)
    assert data["total"]["incidents"] == 2
    assert "Secret" not in str(data)


async def test_filters(client: Client, auth: dict[str, str], clock: FixedClock) -> None:
    await _setup(client, auth, clock)
    data = await _stats(client, auth, "?severity=sev2")
    assert data["severity"] == "SEV2" and data["total"]["incidents"] == 1
    data = await _stats(client, auth, "?service=payments")
    assert data["service"] == "payments" and data["total"]["incidents"] == 1


async def test_a_token_without_the_read_scope_is_refused(
    client: Client, auth: dict[str, str]
) -> None:
    _, alerts_only = await make_token(client, auth, "alerts:read")
    resp = await client.get("/api/stats", headers=alerts_only)
    assert resp.status == 403 and "incidents:read" in await resp.text()
    assert (await client.get("/api/stats")).status == 401


@pytest.mark.parametrize(
    "query", ["?weeks=0", "?weeks=53", "?weeks=x", "?weeks=99999999999999999999", "?severity=X"]
)
async def test_bad_parameters_answer_400(client: Client, auth: dict[str, str], query: str) -> None:
    resp = await client.get(f"/api/stats{query}", headers=auth)
    assert resp.status == 400
    assert "error" in await resp.json()
