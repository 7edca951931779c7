"""Personal and service tokens over real HTTP: created once, scoped, expiring, revocable, and
every action attributed to the token's owner; the audit log pages out as JSON and CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import text

from bot.audit import verify_chain
from bot.ports import FixedClock
from bot.runtime import Runtime
from storage.db import Database

Client = TestClient[Any, Any]


async def make_token(
    client: Client, auth: dict[str, str], *scopes: str, expires: str | None = None
) -> tuple[int, dict[str, str]]:
    body: dict[str, Any] = {
        "owner": "U_DANA",
        "owner_name": "Dana Scully",
        "name": "ci",
        "scopes": list(scopes),
    }
    if expires:
        body["expires"] = expires
    resp = await client.post("/api/tokens", json=body, headers=auth)
    assert resp.status == 201, await resp.text()
    data = await resp.json()
    assert data["secret"].startswith("srp_")
    return data["token"]["id"], {"Authorization": f"Bearer {data['secret']}"}


async def declare(client: Client, headers: dict[str, str]) -> Any:
    return await client.post("/api/incidents", json={"title": "Checkout 500s"}, headers=headers)


async def test_an_action_is_attributed_to_the_tokens_owner(
    client: Client, auth: dict[str, str], runtime: Runtime[Database]
) -> None:
    _, dana = await make_token(client, auth, "incidents:write")
    assert (await declare(client, dana)).status == 201
    resp = await client.post("/api/incidents/INC-1/notes", json={"text": "db paged"}, headers=dana)
    assert resp.status == 201
    resp = await client.post("/api/incidents/INC-1/acknowledge", headers=dana)
    assert resp.status == 200
    got = await (await client.get("/api/incidents/INC-1/timeline", headers=dana)).json()
    note = next(e for e in got["timeline"] if e["kind"] == "note")
    ack = next(e for e in got["timeline"] if e["kind"] == "acknowledged")
    # The owner's id, not "api": the same person as their chat user.
    assert note["actor"] == ack["actor"] == "U_DANA"
    assert ack["text"] == "Acknowledged by Dana Scully"
    log = await runtime.db.run(lambda repo: repo.audit_entries("default"))
    mine = [e for e in log if not e.action.startswith("token.")]
    assert [(e.action, e.actor, e.surface) for e in mine] == [
        ("declare", "U_DANA", "api"),
        ("add_note", "U_DANA", "api"),
        ("acknowledge", "U_DANA", "api"),
    ]
    assert mine[0].detail["actor_name"] == "Dana Scully"


async def test_a_token_without_the_routes_scope_gets_403(
    client: Client, auth: dict[str, str]
) -> None:
    _, reader = await make_token(client, auth, "incidents:read")
    assert (await client.get("/api/incidents", headers=reader)).status == 200
    resp = await declare(client, reader)
    assert resp.status == 403
    assert (await resp.json())["scope"] == "incidents:write"
    assert (await client.get("/api/tokens", headers=reader)).status == 403
    assert (await client.get("/api/audit", headers=reader)).status == 403
    assert (await client.get("/api/maintenance", headers=reader)).status == 403
    assert (await client.get("/api/alerts", headers=reader)).status == 403


async def test_an_expired_token_gets_401(
    client: Client, auth: dict[str, str], clock: FixedClock
) -> None:
    _, dana = await make_token(client, auth, "incidents:read", expires="1h")
    assert (await client.get("/api/incidents", headers=dana)).status == 200
    clock.advance(minutes=61)
    resp = await client.get("/api/incidents", headers=dana)
    assert resp.status == 401 and (await resp.json())["error"] == "token expired"


async def test_a_revoked_token_gets_401_at_once(client: Client, auth: dict[str, str]) -> None:
    token_id, dana = await make_token(client, auth, "incidents:read")
    assert (await client.get("/api/incidents", headers=dana)).status == 200
    resp = await client.delete(f"/api/tokens/{token_id}", headers=auth)
    assert resp.status == 200 and (await resp.json())["token"]["state"] == "revoked"
    resp = await client.get("/api/incidents", headers=dana)
    assert resp.status == 401 and (await resp.json())["error"] == "token revoked"


async def test_an_unknown_token_gets_401(client: Client) -> None:
    bogus = {"Authorization": "Bearer srp_" + "x" * 43}
    resp = await client.get("/api/incidents", headers=bogus)
    assert resp.status == 401 and (await resp.json())["error"] == "unknown token"


async def test_the_database_holds_only_the_hash_and_listings_never_the_secret(
    client: Client, auth: dict[str, str], runtime: Runtime[Database]
) -> None:
    _, dana = await make_token(client, auth, "admin")
    secret = dana["Authorization"].removeprefix("Bearer ")
    with runtime.db.engine.connect() as conn:
        rows = [
            str(tuple(r))
            for table in ("api_token", "audit_entry")
            for r in conn.execute(text(f"SELECT * FROM {table}"))
        ]
    assert rows and not any(secret in r or secret[4:] in r for r in rows)
    listing = await (await client.get("/api/tokens", headers=dana)).text()
    assert secret not in listing and '"shown": "srp_' in listing


async def test_an_admin_token_manages_tokens_and_bad_requests_say_what_is_wrong(
    client: Client, auth: dict[str, str]
) -> None:
    _, admin = await make_token(client, auth, "admin")
    resp = await client.post(
        "/api/tokens",
        json={"owner": "svc", "name": "bot", "scopes": ["incidents:delete"]},
        headers=admin,
    )
    assert resp.status == 400 and "unknown scope" in (await resp.json())["error"]
    resp = await client.post(
        "/api/tokens",
        json={"owner": "svc", "name": "bot", "scopes": ["alerts:write"], "expires": "soon"},
        headers=admin,
    )
    assert resp.status == 400 and "expiry" in (await resp.json())["error"]
    tokens = (await (await client.get("/api/tokens", headers=admin)).json())["tokens"]
    assert len(tokens) == 1  # nothing half-written by the refused ones
    assert (await client.delete("/api/tokens/999", headers=admin)).status == 404


async def test_the_audit_log_pages_as_json_and_csv_and_verifies(
    client: Client, auth: dict[str, str], clock: FixedClock
) -> None:
    for _ in range(3):
        assert (await declare(client, auth)).status == 201
        clock.advance(seconds=1)
    resp = await client.get("/api/audit?limit=2", headers=auth)
    first = await resp.json()
    assert [e["seq"] for e in first["entries"]] == [1, 2] and first["next"] == 2
    rest = await (await client.get("/api/audit?after=2&limit=2", headers=auth)).json()
    assert [e["seq"] for e in rest["entries"]] == [3] and rest["next"] is None
    resp = await client.get("/api/audit?format=csv", headers=auth)
    assert resp.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [r["action"] for r in rows] == ["declare"] * 3
    assert rows[1]["prev_hash"] == rows[0]["hash"] and rows[0]["surface"] == "api"
    assert (await client.get("/api/audit?format=xml", headers=auth)).status == 400
    assert (await client.get("/api/audit?limit=0", headers=auth)).status == 400


async def test_the_audit_log_filters_and_pages_newest_first(
    client: Client, auth: dict[str, str], clock: FixedClock
) -> None:
    for _ in range(3):
        assert (await declare(client, auth)).status == 201
        clock.advance(minutes=10)
    resp = await client.get("/api/audit?order=desc&limit=2", headers=auth)
    page = await resp.json()
    assert [e["seq"] for e in page["entries"]] == [3, 2] and page["next"] == 2
    assert resp.headers["X-Next-Before"] == "2"
    rest = await (await client.get("/api/audit?order=desc&before=2", headers=auth)).json()
    assert [e["seq"] for e in rest["entries"]] == [1] and rest["next"] is None
    got = await (await client.get("/api/audit?incident=INC-2", headers=auth)).json()
    assert [e["incident"] for e in got["entries"]] == ["INC-2"]
    got = await (
        await client.get("/api/audit?since=2026-11-23T09:05&surface=api", headers=auth)
    ).json()
    assert [e["seq"] for e in got["entries"]] == [2, 3]
    for bad in ("surface=fax", "since=soon", "order=up", "before=1&after=2", "incident=x"):
        resp = await client.get(f"/api/audit?{bad}", headers=auth)
        assert resp.status == 400, bad
        assert (await resp.json())["field"] == bad.split("=")[0].split("&")[0], bad


async def test_token_changes_are_audited(
    client: Client, auth: dict[str, str], runtime: Runtime[Database]
) -> None:
    token_id, _ = await make_token(client, auth, "incidents:read")
    await client.delete(f"/api/tokens/{token_id}", headers=auth)
    await client.delete(f"/api/tokens/{token_id}", headers=auth)  # a second revoke: no entry
    log = await runtime.db.run(lambda repo: repo.audit_entries("default"))
    assert [e.action for e in log] == ["token.create", "token.revoke"]
    assert verify_chain(log) is None
    assert log[0].after is not None and "secret" not in log[0].after
