"""Hostile input to the JSON API: every case is a 4xx that says what is wrong, stores nothing
and logs no traceback (each was a 500 with a traceback before)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.runtime import Runtime
from tests.support.probe import app, leaves_nothing

Client = TestClient[Any, Any]
__all__ = ["app"]  # the fixture: no worker, so only the request under test writes rows
DEEP = b"[" * 5000 + b"]" * 5000
HUGE = "9" * 30
# Beyond a Postgres integer (int4) but within SQLite's int64: on Postgres this overflowed.
BIG = str(2**40)
BEYOND_INT64 = str(2**63)


@pytest.fixture
async def inc(client: Client, auth: dict[str, str]) -> str:
    resp = await client.post("/api/incidents", json={"title": "Checkout 500s"}, headers=auth)
    assert resp.status == 201
    return str((await resp.json())["incident"]["ref"])


async def refused(
    client: Client,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    *,
    expect: int,
    **kw: Any,
) -> dict[str, Any]:
    async with leaves_nothing(runtime, caplog):
        resp = await client.request(method, path, **kw)
        text = await resp.text()
        assert resp.status == expect, text
    return json.loads(text)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "path",
    [
        "/api/incidents",
        "/api/incidents/INC-1/notes",
        "/api/incidents/INC-1/status",
        "/api/incidents/INC-1/action-items",
        "/api/alert-groups/declare",
        "/api/maintenance",
    ],
)
@pytest.mark.parametrize("body", [DEEP, b'{"a":' * 900 + b"1" + b"}" * 900])
async def test_deeply_nested_json_is_a_400_that_says_so(
    client: Client,
    runtime: Runtime,
    auth: dict[str, str],
    inc: str,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: bytes,
) -> None:
    answer = await refused(
        client,
        runtime,
        caplog,
        "POST",
        path,
        expect=400,
        data=body,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert "nest more than 32 levels" in answer["error"]


async def test_nesting_up_to_the_limit_is_still_read_as_json(
    client: Client, auth: dict[str, str], inc: str
) -> None:
    nested: Any = "x"
    for _ in range(30):
        nested = [nested]
    resp = await client.post(f"/api/incidents/{inc}/notes", json={"text": nested}, headers=auth)
    assert resp.status == 400
    assert (await resp.json())["field"] == "text"  # reached validation: decoded fine


async def test_an_api_body_over_the_limit_is_a_413(
    client: Client, runtime: Runtime, auth: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps({"title": "x", "summary": "y" * 300_000}).encode()
    answer = await refused(
        client,
        runtime,
        caplog,
        "POST",
        "/api/incidents",
        expect=413,
        data=body,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert "256 KiB" in answer["error"]


@pytest.mark.parametrize(
    ("method", "path", "expect"),
    [
        ("GET", f"/api/incidents/INC-{HUGE}", 404),
        ("GET", f"/api/incidents/{BIG}", 404),
        ("GET", f"/api/incidents/{BEYOND_INT64}/timeline", 404),
        ("GET", f"/api/incidents/{BIG}/postmortem", 404),
        ("POST", f"/api/incidents/INC-{HUGE}/notes", 404),
        ("POST", f"/api/incidents/{BIG}/acknowledge", 404),
        ("PATCH", f"/api/incidents/INC-1/action-items/{HUGE}", 404),
        ("PATCH", f"/api/incidents/INC-1/action-items/{BIG}", 404),
        ("PATCH", "/api/incidents/INC-1/action-items/²", 400),
        ("DELETE", f"/api/maintenance/{HUGE}", 404),
        ("DELETE", f"/api/maintenance/{BIG}", 404),
        ("DELETE", "/api/maintenance/²", 400),
        ("GET", f"/api/alerts?incident=INC-{HUGE}", 404),
        ("GET", f"/api/alerts?incident={BIG}", 404),
    ],
)
async def test_numbers_no_row_can_have_are_not_found_not_an_overflow(
    client: Client,
    runtime: Runtime,
    auth: dict[str, str],
    inc: str,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    expect: int,
) -> None:
    body = {"done": True} if method == "PATCH" else {"text": "x"} if method == "POST" else None
    answer = await refused(
        client, runtime, caplog, method, path, expect=expect, json=body, headers=auth
    )
    assert answer["error"]


@pytest.mark.parametrize("path", ["/api/incidents", "/api/alerts"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=-1", "limit"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=²", "limit"),
        (f"limit={HUGE}", "limit"),
        ("offset=-1", "offset"),
        (f"offset={HUGE}", "offset"),
        (f"offset={BEYOND_INT64}", "offset"),
        (f"offset={2**31}", "offset"),
        ("offset=abc", "offset"),
    ],
)
async def test_limit_and_offset_must_be_in_range(
    client: Client,
    runtime: Runtime,
    auth: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    path: str,
    query: str,
    field: str,
) -> None:
    answer = await refused(
        client, runtime, caplog, "GET", f"{path}?{query}", expect=400, headers=auth
    )
    assert answer["field"] == field and answer["error"].startswith(f"{field}:")


async def test_limit_bounds_the_list(client: Client, auth: dict[str, str]) -> None:
    for n in range(3):
        await client.post("/api/incidents", json={"title": f"t{n}"}, headers=auth)
    resp = await client.get("/api/incidents?limit=2&offset=1", headers=auth)
    assert [i["ref"] for i in (await resp.json())["incidents"]] == ["INC-2", "INC-1"]


@pytest.mark.parametrize(
    ("duration", "message"),
    [
        (10**15, "longer than the limit of 30 days"),
        (31 * 86400, "longer than the limit of 30 days"),
        ("999999999999h", "longer than the limit of 30 days"),
        ("9" * 40 + "d", "longer than the limit of 30 days"),
        ("31d", "longer than the limit of 30 days"),
        ("0m", "must be positive"),
        (-5, "must be positive"),
        ("²h", "bad duration"),
    ],
)
async def test_maintenance_duration_is_bounded(
    client: Client,
    runtime: Runtime,
    auth: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    duration: Any,
    message: str,
) -> None:
    body = {"duration": duration, "matchers": ["service=api"]}
    answer = await refused(
        client, runtime, caplog, "POST", "/api/maintenance", expect=400, json=body, headers=auth
    )
    assert answer["field"] == "duration"
    assert answer["error"].startswith("duration:") and message in answer["error"]


@pytest.mark.parametrize(
    ("starts_at", "message"),
    [
        ("9999-12-31T23:59:59Z", "out of range"),
        ("9999-12-31T23:59:59-14:00", "out of range"),
        ("0001-01-01T00:00:00+14:00", "out of range"),
        ("2026-11-23T10:00:00", "include a time zone"),
    ],
)
async def test_maintenance_start_must_be_a_sane_aware_time(
    client: Client,
    runtime: Runtime,
    auth: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    starts_at: str,
    message: str,
) -> None:
    body = {"duration": "30d", "matchers": ["service=api"], "starts_at": starts_at}
    answer = await refused(
        client, runtime, caplog, "POST", "/api/maintenance", expect=400, json=body, headers=auth
    )
    assert answer["field"] == "starts_at" and message in answer["error"]


@pytest.mark.parametrize(
    ("due", "message"),
    [
        ("2026-12-01T10:00:00", "due: include a time zone"),
        ("9999-12-31T23:59:59Z", "due: 9999-12-31T23:59:59+00:00 is out of range"),
        ("9999-12-31T23:59:59-14:00", "is out of range"),
    ],
)
async def test_action_item_due_needs_a_zone_and_a_sane_year(
    client: Client,
    runtime: Runtime,
    auth: dict[str, str],
    inc: str,
    caplog: pytest.LogCaptureFixture,
    due: str,
    message: str,
) -> None:
    answer = await refused(
        client,
        runtime,
        caplog,
        "POST",
        f"/api/incidents/{inc}/action-items",
        expect=400,
        json={"text": "Add an alert", "due": due},
        headers=auth,
    )
    assert message in answer["error"]


async def test_a_due_date_with_a_zone_is_kept(
    client: Client, auth: dict[str, str], inc: str
) -> None:
    resp = await client.post(
        f"/api/incidents/{inc}/action-items",
        json={"text": "Add an alert", "due": "2026-12-01T10:00:00+01:00"},
        headers=auth,
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["action_item"]["due"].startswith("2026-12-01T")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/incidents", {"title": "a\x00b"}),
        ("POST", "/api/incidents/INC-1/notes", {"text": "a\x00b"}),
        ("POST", "/api/maintenance", {"duration": "1h", "matchers": ["service=a\x00"]}),
        ("PATCH", "/api/incidents/INC-1", {"summary": "\x00"}),
    ],
)
async def test_nul_characters_are_refused_before_the_database_sees_them(
    client: Client,
    runtime: Runtime,
    auth: dict[str, str],
    inc: str,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    # Postgres refuses NUL in text and JSON columns: this was a 500 there (and stored on SQLite).
    answer = await refused(
        client, runtime, caplog, method, path, expect=400, json=body, headers=auth
    )
    assert "NUL" in answer["error"]


@pytest.mark.parametrize("query", ["severity=%00", "status=open&severity=a%00b", "source=%00"])
async def test_nul_in_a_query_is_a_400(
    client: Client,
    runtime: Runtime,
    auth: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    query: str,
) -> None:
    path = "/api/alerts" if query.startswith("source") else "/api/incidents"
    answer = await refused(
        client, runtime, caplog, "GET", f"{path}?{query}", expect=400, headers=auth
    )
    assert "NUL" in answer["error"]


async def test_patch_applies_all_fields_or_none(
    client: Client,
    runtime: Runtime,
    auth: dict[str, str],
    inc: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Each field used to commit on its own: a refused runbook_url left the new title behind.
    await refused(
        client,
        runtime,
        caplog,
        "PATCH",
        f"/api/incidents/{inc}",
        expect=400,
        json={"title": "Renamed", "runbook_url": "not a link"},
        headers=auth,
    )
    got = await (await client.get(f"/api/incidents/{inc}", headers=auth)).json()
    assert got["title"] == "Checkout 500s"


async def test_a_severity_of_unicode_digits_is_unknown_not_a_crash(
    client: Client,
    runtime: Runtime,
    auth: dict[str, str],
    inc: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for sev in ("²", "SEV²", "9" * 5000):
        answer = await refused(
            client,
            runtime,
            caplog,
            "POST",
            f"/api/incidents/{inc}/severity",
            expect=400,
            json={"severity": sev},
            headers=auth,
        )
        assert "SEV1" in str(answer["allowed"])
