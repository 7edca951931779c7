"""``GET /api/search``: read scope, ranked JSON results with snippets, private incidents only
for members and admins, bad parameters as 400, arbitrary text never a 5xx."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.runtime import Runtime
from tests.api.test_api_tokens import make_token

Client = TestClient[Any, Any]


async def _setup(client: Client, auth: dict[str, str]) -> None:
    for body in (
        {"title": "Public pangolin outage"},
        {"title": "Secret pangolin breach", "private": True},
        {"title": "Unrelated", "summary": "nothing <b>here</b>"},
    ):
        resp = await client.post("/api/incidents", json=body, headers=auth)
        assert resp.status == 201, await resp.text()


async def _titles(client: Client, headers: dict[str, str], q: str = "pangolin") -> list[str]:
    resp = await client.get("/api/search", params={"q": q}, headers=headers)
    assert resp.status == 200, await resp.text()
    return [r["incident"]["title"] for r in (await resp.json())["results"]]


async def test_results_carry_the_incident_and_marked_snippets(
    client: Client, auth: dict[str, str]
) -> None:
    await _setup(client, auth)
    resp = await client.get("/api/search", params={"q": "pangolin outage"}, headers=auth)
    assert resp.status == 200
    data = await resp.json()
    assert data["next_offset"] is None and data["query"] == "pangolin outage"
    [hit] = data["results"]
    assert hit["incident"]["ref"] == "INC-1"
    assert hit["incident"]["url"] == "https://sitrep.example.com/incidents/1"
    title = next(s for s in hit["snippets"] if s["kind"] == "title")
    assert title["text"] == "Public pangolin outage"
    assert [p["text"] for p in title["parts"] if p["hit"]] == ["pangolin", "outage"]


async def test_the_shared_token_sees_private_incidents_a_non_members_token_does_not(
    client: Client, auth: dict[str, str]
) -> None:
    await _setup(client, auth)
    assert sorted(await _titles(client, auth)) == [
        "Public pangolin outage",
        "Secret pangolin breach",
    ]
    _, dana = await make_token(client, auth, "incidents:read")
    assert await _titles(client, dana) == ["Public pangolin outage"]
    assert await _titles(client, dana, "secret") == []
    resp = await client.post(
        "/api/incidents/2/roles", json={"role": "scribe", "user": "U_DANA"}, headers=auth
    )
    assert resp.status == 200
    assert "Secret pangolin breach" in await _titles(client, dana)


async def test_search_needs_a_token_with_the_incidents_read_scope(
    client: Client, auth: dict[str, str]
) -> None:
    await _setup(client, auth)
    assert (await client.get("/api/search", params={"q": "x"})).status == 401
    _, alerts_only = await make_token(client, auth, "alerts:read")
    resp = await client.get("/api/search", params={"q": "x"}, headers=alerts_only)
    assert resp.status == 403
    assert (await resp.json())["scope"] == "incidents:read"


async def test_bad_parameters_are_400_naming_the_field(
    client: Client, auth: dict[str, str]
) -> None:
    for params, field in [
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": '"*"'}, "q"),
        ({"q": "x", "status": "sleeping"}, "status"),
        ({"q": "x", "severity": "SEV9"}, "severity"),
        ({"q": "x", "since": "yesterday"}, "since"),
        ({"q": "x", "limit": "0"}, "limit"),
        ({"q": "x", "offset": "-1"}, "offset"),
    ]:
        resp = await client.get("/api/search", params=params, headers=auth)
        assert resp.status == 400, (params, await resp.text())
        assert (await resp.json())["field"] == field, params


async def test_filters_and_paging_over_the_api(client: Client, auth: dict[str, str]) -> None:
    for n in range(3):
        body = {"title": f"Gecko {n}", "severity": "SEV1" if n else "SEV4"}
        assert (await client.post("/api/incidents", json=body, headers=auth)).status == 201
    params = {"q": "gecko", "severity": "sev1", "limit": "1"}
    first = await (await client.get("/api/search", params=params, headers=auth)).json()
    assert first["next_offset"] == 1 and len(first["results"]) == 1
    second = await (
        await client.get("/api/search", params={**params, "offset": "1"}, headers=auth)
    ).json()
    assert second["next_offset"] is None
    refs = {first["results"][0]["incident"]["ref"], second["results"][0]["incident"]["ref"]}
    assert refs == {"INC-2", "INC-3"}
    since = {"q": "gecko", "since": "2030-01-01", "status": "open"}
    later = await (await client.get("/api/search", params=since, headers=auth)).json()
    assert later["results"] == []


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(q=st.text(min_size=1, max_size=80))
async def test_any_text_is_answered_without_a_server_error(
    client: Client, auth: dict[str, str], runtime: Runtime, q: str
) -> None:
    resp = await client.get("/api/search", params={"q": q}, headers=auth)
    assert resp.status in (200, 400), await resp.text()


async def test_a_since_past_the_last_representable_time_is_400_not_a_server_error(
    client: Client, auth: dict[str, str]
) -> None:
    # 9999-12-31T23:00-05:00 is 10000-01-01 in UTC, which datetime cannot hold.
    for since in ("9999-12-31T23:00-05:00", "9999-12-31T23:59:59.999999-00:01"):
        resp = await client.get("/api/search", params={"q": "x", "since": since}, headers=auth)
        assert resp.status == 400, (since, await resp.text())
        assert (await resp.json())["field"] == "since"
