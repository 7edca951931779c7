"""Admin pages (tokens, audit log), a person's own tokens, and sign-ins in the audit log."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text

from bot.runtime import Runtime
from bot.security.access import Access
from tests.conftest import API_TOKEN
from tests.web.support import CSRF, Browser, Client, declare, logged_in, session_for

SECRET = re.compile(r'<code id="secret">(srp_[^<]+)</code>')
# The fields every token form sends; tests override what they are about.
FORM = {"name": "ci", "expires": "30d"}


async def _as(client: Client, runtime: Runtime[Any], actor: str, role: Access) -> Browser:
    """A browser signed in as a person with ``role`` (the session the OIDC callback issues)."""
    settings = runtime.settings
    secret = settings.web_session_secret
    # The same key handlers.web derives: the session secret and the shared API token.
    key = "\0".join([secret.get_secret_value() if secret else "", API_TOKEN])
    return await session_for(client, runtime, key, actor, role, actor.title())


async def _api(client: Client, secret: str) -> int:
    resp = await client.get("/api/incidents", headers={"Authorization": f"Bearer {secret}"})
    return resp.status


async def _create(browser: Browser, base: str, **fields: Any) -> tuple[int, str]:
    form = {**FORM, **fields}
    scopes = form.pop("scope", ["incidents:read"])
    data = [(k, v) for k, v in form.items()] + [("scope", s) for s in scopes]
    data.append(("csrf", browser.csrf))
    resp = await browser.client.post(
        base, data=data, headers=browser.headers(), allow_redirects=False
    )
    return resp.status, await resp.text()


async def test_admin_creates_a_token_that_works_until_revoked(
    client: Client, runtime: Runtime[Any]
) -> None:
    admin = await logged_in(client, "root")
    status, body = await _create(
        admin, "/admin/tokens", owner="ci-bot", kind="service", scope=["incidents:write"]
    )
    assert status == 200, body
    match = SECRET.search(body)
    assert match is not None
    secret = match.group(1)
    assert await _api(client, secret) == 200

    status, listing = await admin.get("/admin/tokens")
    assert status == 200
    assert "ci-bot" in listing and "incidents:write" in listing and ">active<" in listing
    assert secret not in listing  # shown once, on the result page only
    (token,) = await runtime.tokens.list(runtime.settings.workspace)

    resp = await admin.post(f"/admin/tokens/{token.id}/revoke", {})
    assert resp.status == 303
    assert resp.headers["Location"] == "/admin/tokens?done=revoked"
    assert await _api(client, secret) == 401
    _, listing = await admin.get("/admin/tokens?done=revoked")
    assert ">revoked<" in listing and "Token revoked" in listing


async def test_admin_token_form_refuses_an_unknown_scope_and_stores_nothing(
    client: Client, runtime: Runtime[Any]
) -> None:
    admin = await logged_in(client, "root")
    status, body = await _create(admin, "/admin/tokens", owner="x", scope=["root"])
    assert status == 400
    assert "unknown scope" in body
    assert await runtime.tokens.list(runtime.settings.workspace) == []


async def test_responder_manages_only_their_own_tokens_and_cannot_grant_admin(
    client: Client, runtime: Runtime[Any]
) -> None:
    ws = runtime.settings.workspace
    dana = await _as(client, runtime, "oidc:idp#dana", Access.RESPONDER)
    status, body = await _create(dana, "/me/tokens", scope=["admin"])
    assert status == 400
    assert "may not grant admin" in body
    assert await runtime.tokens.list(ws) == []
    assert 'value="admin"' not in (await dana.get("/me/tokens"))[1]

    status, body = await _create(dana, "/me/tokens", scope=["incidents:write"])
    assert status == 200, body
    (mine,) = await runtime.tokens.list(ws)
    assert mine.owner == "oidc:idp#dana" and mine.kind.value == "personal"

    admin = await logged_in(client, "root")
    await _create(admin, "/admin/tokens", owner="someone-else")
    other = next(t for t in await runtime.tokens.list(ws) if t.owner == "someone-else")
    _, page = await dana.get("/me/tokens")
    assert "someone-else" not in page

    resp = await dana.post(f"/me/tokens/{other.id}/revoke", {})
    assert resp.status == 404
    resp = await dana.post(f"/me/tokens/{mine.id}/revoke", {})
    assert resp.status == 303
    states = {t.owner: t.revoked_at is not None for t in await runtime.tokens.list(ws)}
    assert states == {"oidc:idp#dana": True, "someone-else": False}
    assert (await dana.get("/admin/tokens"))[0] == 403


async def test_viewers_and_responders_get_403_on_admin_pages(
    client: Client, runtime: Runtime[Any]
) -> None:
    for role in (Access.VIEWER, Access.RESPONDER):
        browser = await _as(client, runtime, "oidc:idp#vic", role)
        for path in ("/admin/tokens", "/admin/audit", "/admin/audit.csv", "/admin/audit.json"):
            status, body = await browser.get(path)
            assert status == 403, path
            assert "this needs the admin role" in body
        resp = await browser.post("/admin/tokens", {**FORM, "owner": "x", "scope": "admin"})
        assert resp.status == 403
    assert await runtime.tokens.list(runtime.settings.workspace) == []


async def test_token_forms_without_the_right_csrf_token_change_nothing(
    client: Client, runtime: Runtime[Any]
) -> None:
    ws = runtime.settings.workspace
    admin = await logged_in(client, "root")
    await _create(admin, "/admin/tokens", owner="keep")
    (token,) = await runtime.tokens.list(ws)
    for csrf in ("", "0" * 64):
        resp = await admin.post(
            "/admin/tokens", {**FORM, "owner": "x", "scope": "admin"}, csrf=csrf
        )
        assert resp.status == 403
        assert "security token" in await resp.text()
        resp = await admin.post(f"/admin/tokens/{token.id}/revoke", {}, csrf=csrf)
        assert resp.status == 403
        resp = await admin.post(f"/me/tokens/{token.id}/revoke", {}, csrf=csrf)
        assert resp.status == 403
    (still,) = await runtime.tokens.list(ws)
    assert still.revoked_at is None


async def test_sign_ins_and_refusals_are_audited_without_the_secret(
    client: Client, runtime: Runtime[Any]
) -> None:
    refused = await Browser(client).login("mallory", token="a-wrong-guess")
    assert refused.status == 401
    admin = await logged_in(client, "root")
    resp = await admin.post("/logout", {})
    assert resp.status == 303

    entries = await runtime.audit.all()
    by_action = {e.action: e for e in entries}
    failed, ok, out = by_action["sign_in_failed"], by_action["sign_in"], by_action["sign_out"]
    assert failed.actor == "anonymous" and failed.surface == "web"
    assert failed.detail["reason"] == "wrong API token"
    assert failed.detail["client"] == "127.0.0.1"
    assert ok.actor == "web:root" and ok.detail["method"] == "token"
    assert out.actor == "web:root"
    export = await runtime.audit.page()
    rows = repr([(e.actor, e.target, e.detail, e.before, e.after) for e in export])
    assert "a-wrong-guess" not in rows and API_TOKEN not in rows


async def test_audit_page_filters_and_the_verify_button_finds_tampering(
    client: Client, runtime: Runtime[Any]
) -> None:
    await declare(runtime, "Checkout 500s")
    admin = await logged_in(client, "root")
    status, body = await admin.get("/admin/audit")
    assert status == 200
    assert "sign_in" in body and "declare" in body
    assert 'action="/admin/audit/verify"' in body
    # Newest first: the sign-in (seq 2) comes before the declaration (seq 1).
    assert body.index('id="seq-2"') < body.index('id="seq-1"')

    _, by_incident = await admin.get("/admin/audit?incident=INC-1&order=asc")
    assert 'id="seq-1"' in by_incident and 'id="seq-2"' not in by_incident
    _, by_actor = await admin.get("/admin/audit?actor=web:root")
    assert 'id="seq-2"' in by_actor and 'id="seq-1"' not in by_actor

    status, body = await admin.get("/admin/audit/verify")
    assert status == 200 and "Chain intact: all 2 entries" in body
    with runtime.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET actor = 'U_MALLORY' WHERE seq = 1"))
    _, body = await admin.get("/admin/audit/verify")
    assert "Chain broken at entry #1" in body
    assert "Chain intact" not in body


async def test_audit_downloads_hold_the_whole_chain(client: Client, runtime: Runtime[Any]) -> None:
    await declare(runtime, "Checkout 500s")
    admin = await logged_in(client, "root")
    resp = await client.get("/admin/audit.json", headers=admin.headers())
    assert resp.status == 200
    assert [e["action"] for e in (await resp.json())["entries"]] == ["declare", "sign_in"]
    resp = await client.get("/admin/audit.csv", headers=admin.headers())
    lines = (await resp.text()).splitlines()
    assert lines[0].startswith("seq,at,") and len(lines) == 3
    assert "attachment" in resp.headers["Content-Disposition"]


async def test_audit_page_refuses_a_bad_filter_with_a_message(client: Client) -> None:
    admin = await logged_in(client, "root")
    status, body = await admin.get("/admin/audit?incident=nonsense")
    assert status == 400
    assert "is not an incident reference" in body
    assert CSRF.search(body) is not None  # still a page of the signed-in UI


async def test_only_admins_see_the_admin_links(client: Client, runtime: Runtime[Any]) -> None:
    admin = await logged_in(client, "root")
    _, body = await admin.get("/incidents")
    assert 'href="/admin/audit"' in body and 'href="/me/tokens"' in body
    responder = await _as(client, runtime, "oidc:idp#dana", Access.RESPONDER)
    _, body = await responder.get("/incidents")
    assert 'href="/admin/audit"' not in body and 'href="/me/tokens"' in body


async def test_an_empty_token_form_is_no_sign_in_attempt_and_is_not_audited(
    client: Client, runtime: Runtime[Any]
) -> None:
    resp = await Browser(client).login("mallory", token="")
    assert resp.status == 401
    assert await runtime.audit.all() == []


async def test_admin_pages_name_token_owners_and_audit_actors(
    client: Client, runtime: Runtime[Any]
) -> None:
    ws = runtime.settings.workspace
    now = runtime.clock.now()

    def names(repo: Any) -> None:
        repo.put_person(ws, "U0SAMSLACK", "Sam <b>Slack</b>", "slack", now)

    await runtime.db.run(names)
    admin = await logged_in(client, "root")
    status, body = await _create(admin, "/admin/tokens", owner="U0SAMSLACK", kind="personal")
    assert status == 200, body
    status, page = await admin.get("/admin/tokens")
    assert status == 200
    assert '<span title="U0SAMSLACK">Sam &lt;b&gt;Slack&lt;/b&gt;</span>' in page
    assert ">U0SAMSLACK<" not in page

    # An action by the token's owner, then the audit page.
    await runtime.audit.record(at=now, actor="U0SAMSLACK", action="note", surface="api")
    status, page = await admin.get("/admin/audit")
    assert status == 200
    assert 'title="U0SAMSLACK">Sam &lt;b&gt;Slack&lt;/b&gt;</a>' in page
    assert "actor=U0SAMSLACK" in page  # the name links to that person's entries
    assert ">U0SAMSLACK<" not in page


async def test_audit_page_links_to_older_and_newer_pages_keeping_the_filters(
    client: Client, runtime: Runtime[Any]
) -> None:
    for i in range(60):
        await runtime.audit.record(
            at=runtime.clock.now(), actor=f"bot{i % 2}", action="probe", surface="api"
        )
    admin = await logged_in(client, "root")
    status, body = await admin.get("/admin/audit?actor=bot0")
    assert status == 200
    assert body.count('<tr id="seq-') == 30 and 'id="newer"' not in body
    status, body = await admin.get("/admin/audit")
    assert body.count('<tr id="seq-') == 50 and 'id="newer"' not in body
    older = re.search(r'href="(/admin/audit\?[^"]+)" id="older"', body)
    assert older is not None
    link = older.group(1).replace("&amp;", "&")
    status, body = await admin.get(link)
    assert status == 200
    # The sign-in (seq 61) and seq 60..12 were on the first page; the rest is here.
    assert re.findall(r'<tr id="seq-(\d+)"', body) == [str(s) for s in range(11, 0, -1)]
    assert 'id="older"' not in body and 'id="newer"' in body

    status, body = await admin.get("/admin/audit?actor=bot1&order=asc&since=2026-11-23")
    assert status == 200 and 'value="bot1"' in body and 'value="2026-11-23"' in body
    assert (await admin.get("/admin/audit?before=x"))[0] == 400
    assert (await admin.get("/admin/audit?surface=fax"))[0] == 400
