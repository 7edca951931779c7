"""No lost update through the API: ``GET /api/incidents/{ref}`` gives an ``ETag`` and
``PATCH`` with ``If-Match`` applies only to the fields as that ETag saw them (412 otherwise,
nothing changed); without ``If-Match`` the last writer still wins."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.runtime import Runtime
from bot.service import IncidentDetail
from tests.api.test_api import Client, declare
from tests.api.test_api_tokens import make_token


async def _etag(client: Client, auth: dict[str, str], ref: str = "INC-1") -> str:
    resp = await client.get(f"/api/incidents/{ref}", headers=auth)
    assert resp.status == 200
    etag = resp.headers.get("ETag")
    assert etag is not None and etag.startswith('"')
    return etag


async def _patch(
    client: Client, auth: dict[str, str], body: dict[str, str], if_match: str | None
) -> tuple[int, dict[str, Any], str | None]:
    headers = {**auth, **({"If-Match": if_match} if if_match is not None else {})}
    resp = await client.patch("/api/incidents/INC-1", json=body, headers=headers)
    return resp.status, await resp.json(), resp.headers.get("ETag")


async def _field(runtime: Runtime, name: str) -> str:
    # Postmortem sections are not in the incident's JSON (the postmortem export has them).
    detail = await runtime.service.detail(runtime.settings.workspace, 1)
    return str(getattr(detail.incident, name))


async def test_a_stale_if_match_is_refused_with_the_current_values_and_changes_nothing(
    client: Client, auth: dict[str, str], runtime: Runtime
) -> None:
    await declare(client, auth)
    seen = await _etag(client, auth)
    status, body, etag = await _patch(client, auth, {"root_cause": "Bad deploy"}, seen)
    assert status == 200, body
    assert await _field(runtime, "root_cause") == "Bad deploy"
    assert etag is not None and etag != seen and etag == await _etag(client, auth)

    # A second client still holding the first ETag: refused, told what is there now.
    status, body, now = await _patch(client, auth, {"root_cause": "DNS", "lessons": "Canary"}, seen)
    assert status == 412, body
    assert body["current"]["root_cause"] == "Bad deploy"
    assert body["etag"] == now == etag
    assert "nothing was changed" in body["error"]
    assert await _field(runtime, "root_cause") == "Bad deploy"
    assert await _field(runtime, "lessons") == ""

    # Merged and sent again with the new ETag: applied.
    status, body, _ = await _patch(client, auth, {"root_cause": "Bad deploy; DNS"}, now)
    assert status == 200, body
    assert await _field(runtime, "root_cause") == "Bad deploy; DNS"


async def test_two_clients_racing_on_one_etag_exactly_one_wins(
    client: Client, auth: dict[str, str]
) -> None:
    await declare(client, auth)
    seen = await _etag(client, auth)
    results = await asyncio.gather(
        *(_patch(client, auth, {"impact": text}, seen) for text in ("From Ann", "From Bob"))
    )
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 412], results
    winner = next(body for status, body, _ in results if status == 200)
    loser = next(body for status, body, _ in results if status == 412)
    assert loser["current"]["impact"] == winner["incident"]["impact"]
    got = await (await client.get("/api/incidents/INC-1", headers=auth)).json()
    assert got["impact"] == winner["incident"]["impact"]
    assert [e["text"] for e in got["timeline"]].count("Impact set") == 1


async def test_an_edit_landing_between_the_check_and_the_write_is_caught_under_the_lock(
    client: Client, auth: dict[str, str], runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    await declare(client, auth)
    seen = await _etag(client, auth)
    detail = runtime.service.detail

    async def then_someone_saves(*args: Any, **kw: Any) -> IncidentDetail:
        # The PATCH has read the fields its If-Match is checked against; another writer
        # saves the same field before the PATCH's transaction takes the row lock.
        got = await detail(*args, **kw)
        monkeypatch.setattr(runtime.service, "detail", detail)
        edit = c.EditField("root_cause", "Theirs")
        await runtime.service.execute(runtime.settings.workspace, 1, edit, Actor(id="U_ANN"))
        return got

    monkeypatch.setattr(runtime.service, "detail", then_someone_saves)
    status, body, _ = await _patch(client, auth, {"root_cause": "Mine"}, seen)
    assert status == 412, body
    assert body["current"]["root_cause"] == "Theirs"
    assert await _field(runtime, "root_cause") == "Theirs"


async def test_if_match_is_optional_and_other_changes_do_not_make_it_stale(
    client: Client, auth: dict[str, str], runtime: Runtime
) -> None:
    await declare(client, auth)
    seen = await _etag(client, auth)
    # A note and a status move change the incident but none of the editable fields.
    await client.post("/api/incidents/INC-1/notes", json={"text": "Looking"}, headers=auth)
    await client.post("/api/incidents/INC-1/status", json={"status": "identified"}, headers=auth)
    assert await _etag(client, auth) == seen
    assert (await _patch(client, auth, {"root_cause": "A"}, seen))[0] == 200
    # Without If-Match (as before), and with ``*``: the last writer wins.
    assert (await _patch(client, auth, {"root_cause": "B"}, None))[0] == 200
    assert (await _patch(client, auth, {"root_cause": "C"}, "*"))[0] == 200
    # A list of tags matches when one of them is current; a weak or unknown one never does.
    now = await _etag(client, auth)
    assert (await _patch(client, auth, {"root_cause": "D"}, f'"x", {now}'))[0] == 200
    now = await _etag(client, auth)
    assert (await _patch(client, auth, {"root_cause": "E"}, f"W/{now}"))[0] == 412
    assert (await _patch(client, auth, {"root_cause": "E"}, "garbage"))[0] == 412
    assert await _field(runtime, "root_cause") == "D"


async def test_a_private_incident_answers_404_not_412_to_a_non_member(
    client: Client, auth: dict[str, str]
) -> None:
    await declare(client, auth, private=True)
    _, dana = await make_token(client, auth, "incidents:write")
    status, body, etag = await _patch(client, dana, {"root_cause": "x"}, '"stale"')
    assert (status, etag) == (404, None)
    assert "current" not in body
