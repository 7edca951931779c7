"""The JSON API over real HTTP: auth, validation, every route, clear errors."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.outbox_types import OutboxState
from bot.repository import Repo
from bot.runtime import Runtime
from tests.conftest import API_TOKEN

Client = TestClient[Any, Any]


async def declare(client: Client, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    resp = await client.post(
        "/api/incidents", json={"title": "Checkout 500s", **body}, headers=auth
    )
    assert resp.status == 201, await resp.text()
    return (await resp.json())["incident"]  # type: ignore[no-any-return]


async def test_health_and_readiness(client: Client) -> None:
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["status"] == "ready"


async def test_metrics_report_incidents_and_outbox_depth(
    client: Client, auth: dict[str, str]
) -> None:
    await declare(client, auth, severity="SEV1")
    text = await (await client.get("/metrics")).text()
    assert (
        'sitrep_incidents{severity="SEV1",status="investigating",workspace="default"} 1.0' in text
    )
    assert 'sitrep_outbox_messages{platform="slack",state="pending"}' in text
    assert "sitrep_http_request_duration_seconds_bucket" in text
    assert 'route="/api/incidents"' in text


async def test_metrics_show_parked_messages(
    client: Client, auth: dict[str, str], runtime: Runtime
) -> None:
    await declare(client, auth)
    now = runtime.clock.now()

    def park_two(repo: Repo) -> None:
        for row in repo.list_outbox(limit=2):
            repo.finish_outbox(row.id, state=OutboxState.PARKED, now=now)

    await runtime.db.run(park_two)
    text = await (await client.get("/metrics")).text()
    assert 'sitrep_outbox_messages{platform="slack",state="parked"} 2.0' in text


async def test_metrics_count_only_this_instances_workspace(
    client: Client, auth: dict[str, str], runtime: Runtime
) -> None:
    # Another workspace's instance shares the database.
    await runtime.service.declare("other", c.Declare("theirs", "SEV1"), Actor("U1", "u1"))
    await declare(client, auth, severity="SEV2")
    text = await (await client.get("/metrics")).text()
    assert 'workspace="other"' not in text
    assert 'sitrep_incidents{severity="SEV2",status="investigating",workspace="default"}' in text
    # Only the one declaration's messages are counted as waiting: none of the other's.
    mine = await runtime.db.run(lambda r: r.list_outbox(limit=1000, workspace="default"))
    assert f'sitrep_outbox_messages{{platform="slack",state="pending"}} {len(mine)}.0' in text


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer"])
async def test_api_refuses_without_the_right_token(client: Client, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    resp = await client.get("/api/incidents", headers=headers)
    assert resp.status == 401
    assert "token" in (await resp.json())["error"]


async def test_api_is_refused_when_no_token_is_configured(
    settings: Settings, client: Client
) -> None:
    settings.api_token = None
    resp = await client.get("/api/incidents", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert resp.status == 403
    assert "SITREP_API_TOKEN" in (await resp.json())["error"]


async def test_declare_get_and_list(client: Client, auth: dict[str, str]) -> None:
    inc = await declare(client, auth, severity="sev1", summary="EU only")
    assert inc["ref"] == "INC-1" and inc["severity"] == "SEV1" and inc["status"] == "investigating"
    assert inc["url"] == "https://sitrep.example.com/incidents/1"
    got = await (await client.get("/api/incidents/INC-1", headers=auth)).json()
    assert got["summary"] == "EU only"
    assert [e["kind"] for e in got["timeline"]] == ["declared", "role_assigned"]
    assert got["metrics"]["time_to_resolve_seconds"] is None
    listed = await (await client.get("/api/incidents?status=open", headers=auth)).json()
    assert [i["ref"] for i in listed["incidents"]] == ["INC-1"]


async def test_declare_with_a_runbook_bookmarks_it_in_the_room(
    client: Client, auth: dict[str, str], runtime: Runtime
) -> None:
    body = {"title": "Queue backlog", "runbook_url": "https://runbooks.example/queue"}
    resp = await client.post("/api/incidents", json=body, headers=auth)
    assert resp.status == 201
    assert (await resp.json())["incident"]["runbook_url"] == "https://runbooks.example/queue"
    rows = await runtime.db.run(lambda repo: repo.list_outbox(limit=100))
    marks = [r.payload for r in rows if r.action == "bookmark"]
    assert {"room": "inc:1:room", "title": "Runbook", "url": body["runbook_url"]} in marks


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://x", "https://a b", "<!channel>"])
async def test_declare_refuses_a_runbook_that_is_not_a_web_link(
    client: Client, auth: dict[str, str], url: str
) -> None:
    resp = await client.post(
        "/api/incidents", json={"title": "x", "runbook_url": url}, headers=auth
    )
    assert resp.status == 400
    assert "runbook_url" in (await resp.json())["error"]
    listed = await (await client.get("/api/incidents", headers=auth)).json()
    assert listed["incidents"] == []


async def test_declare_with_idempotency_key_creates_one_incident(
    client: Client, auth: dict[str, str]
) -> None:
    h = {**auth, "Idempotency-Key": "abc"}
    first = await client.post("/api/incidents", json={"title": "x"}, headers=h)
    second = await client.post("/api/incidents", json={"title": "x"}, headers=h)
    assert (first.status, second.status) == (201, 200)
    listed = await (await client.get("/api/incidents", headers=auth)).json()
    assert len(listed["incidents"]) == 1


async def test_full_lifecycle_and_metrics(client: Client, auth: dict[str, str], clock: Any) -> None:
    await declare(client, auth)
    clock.advance(minutes=3)
    r = await client.post("/api/incidents/1/acknowledge", headers=auth)
    assert (await r.json())["changed"] is True
    clock.advance(minutes=7)
    r = await client.post(
        "/api/incidents/INC-1/status",
        json={"status": "identified", "text": "bad deploy"},
        headers=auth,
    )
    assert r.status == 200
    r = await client.post(
        "/api/incidents/INC-1/updates", json={"text": "Rolling back"}, headers=auth
    )
    assert r.status == 201
    r = await client.post(
        "/api/incidents/INC-1/roles", json={"role": "comms_lead", "user": "U2"}, headers=auth
    )
    assert (await r.json())["incident"]["comms_lead"] == "U2"
    r = await client.post("/api/incidents/INC-1/severity", json={"severity": "SEV1"}, headers=auth)
    assert (await r.json())["incident"]["severity"] == "SEV1"
    r = await client.post("/api/incidents/INC-1/notes", json={"text": "cache warm"}, headers=auth)
    assert r.status == 201
    clock.advance(minutes=5)
    await client.post("/api/incidents/INC-1/status", json={"status": "monitoring"}, headers=auth)
    clock.advance(minutes=10)
    r = await client.post("/api/incidents/INC-1/status", json={"status": "resolved"}, headers=auth)
    body = await r.json()
    assert body["incident"]["status"] == "resolved"
    got = await (await client.get("/api/incidents/INC-1", headers=auth)).json()
    assert got["metrics"] == {
        "time_to_acknowledge_seconds": 180.0,
        "time_to_mitigate_seconds": 900.0,
        "time_to_resolve_seconds": 1500.0,
    }
    assert [u["text"] for u in got["updates"]] == ["Rolling back"]
    tl = await (await client.get("/api/incidents/INC-1/timeline", headers=auth)).json()
    assert len(tl["timeline"]) == len(got["timeline"])


async def test_action_items_and_fields(client: Client, auth: dict[str, str]) -> None:
    await declare(client, auth)
    r = await client.post(
        "/api/incidents/1/action-items",
        json={"text": "Add canary", "owner": "U9", "due": "2026-12-01T00:00:00Z"},
        headers=auth,
    )
    item = (await r.json())["action_item"]
    assert r.status == 201 and item["owner"] == "U9" and item["due"] == "2026-12-01T00:00:00Z"
    r = await client.patch(
        f"/api/incidents/1/action-items/{item['id']}", json={"done": True}, headers=auth
    )
    assert (await r.json())["action_item"]["done"] is True
    r = await client.patch(
        "/api/incidents/1",
        json={"root_cause": "expired cert", "impact": "EU checkout"},
        headers=auth,
    )
    assert (await r.json())["incident"]["impact"] == "EU checkout"


async def test_reminders_snooze_and_off(client: Client, auth: dict[str, str], clock: Any) -> None:
    await declare(client, auth)
    r = await client.post("/api/incidents/1/reminders", json={"snooze_minutes": 45}, headers=auth)
    due = (await r.json())["incident"]["next_update_due_at"]
    assert due == "2026-11-23T09:45:00Z"
    r = await client.post("/api/incidents/1/reminders", json={"enabled": False}, headers=auth)
    assert (await r.json())["incident"]["next_update_due_at"] is None


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/api/incidents", b"{not json", "not valid JSON"),
        ("/api/incidents", b"[1,2]", "JSON object"),
        ("/api/incidents", b"{}", "title"),
        ("/api/incidents", b'{"title": ""}', "title"),
        ("/api/incidents", b'{"title": "x", "bogus": 1}', "bogus"),
        ("/api/incidents", b'{"title": "x", "severity": "SEV9"}', "SEV9"),
        ("/api/incidents/1/status", b'{"status": "done"}', "status"),
        ("/api/incidents/1/updates", b'{"text": "  "}', "text"),
    ],
)
async def test_bad_input_gets_400_naming_the_problem(
    client: Client, auth: dict[str, str], path: str, body: bytes, needle: str
) -> None:
    await declare(client, auth)
    before = await (await client.get("/api/incidents/1", headers=auth)).json()
    resp = await client.post(path, data=body, headers={**auth, "Content-Type": "application/json"})
    assert resp.status == 400, await resp.text()
    assert needle in (await resp.json())["error"]
    after = await (await client.get("/api/incidents/1", headers=auth)).json()
    assert after["timeline"] == before["timeline"]
    listed = await (await client.get("/api/incidents", headers=auth)).json()
    assert len(listed["incidents"]) == 1


async def test_wrong_content_type_is_415(client: Client, auth: dict[str, str]) -> None:
    resp = await client.post(
        "/api/incidents",
        data="title=x",
        headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 415


async def test_invalid_transition_is_409_with_allowed(client: Client, auth: dict[str, str]) -> None:
    await declare(client, auth)
    resp = await client.post("/api/incidents/1/status", json={"status": "closed"}, headers=auth)
    assert resp.status == 409
    body = await resp.json()
    assert body["allowed"] == ["identified", "monitoring", "resolved"]


@pytest.mark.parametrize(
    "path", ["/api/incidents/INC-77", "/api/incidents/77/timeline", "/api/incidents/77/postmortem"]
)
async def test_unknown_incident_is_404(client: Client, auth: dict[str, str], path: str) -> None:
    resp = await client.get(path, headers=auth)
    assert resp.status == 404
    assert "INC-77 not found" in (await resp.json())["error"]


async def test_bad_reference_is_400(client: Client, auth: dict[str, str]) -> None:
    resp = await client.get("/api/incidents/banana", headers=auth)
    assert resp.status == 400


@pytest.mark.parametrize(
    ("fmt", "ctype", "needle"),
    [
        ("md", "text/markdown", "# INC-1"),
        ("html", "text/html", "<html"),
        ("json", "application/json", "sitrep.postmortem/v1"),
    ],
)
async def test_postmortem_formats(
    client: Client, auth: dict[str, str], fmt: str, ctype: str, needle: str
) -> None:
    await declare(client, auth)
    await client.post("/api/incidents/1/status", json={"status": "resolved"}, headers=auth)
    resp = await client.get(f"/api/incidents/1/postmortem?format={fmt}", headers=auth)
    assert resp.status == 200
    assert resp.content_type == ctype
    text = await resp.text()
    assert needle in text and "Checkout 500s" in text


async def test_postmortem_unknown_format_is_400(client: Client, auth: dict[str, str]) -> None:
    await declare(client, auth)
    resp = await client.get("/api/incidents/1/postmortem?format=pdf", headers=auth)
    assert resp.status == 400
