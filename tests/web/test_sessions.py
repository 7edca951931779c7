"""Revocable web sessions through the UI: sign-out, "Your sessions" on /me, and the admin's
sign-out-everywhere and demotion; a revoked session is refused on its very next request."""

from __future__ import annotations

import re
from typing import Any

from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.security.access import Access
from integrations.web import session as sess
from tests.conftest import API_TOKEN
from tests.web.support import Browser, Client, declare, logged_in, session_for

KEY = "\0".join(["", API_TOKEN])  # handlers.web's key for the test settings
DANA = "oidc:idp#dana"


async def _dana(client: Client, runtime: Runtime[Any], role: Access = Access.RESPONDER) -> Browser:
    return await session_for(client, runtime, KEY, DANA, role, "Dana")


async def test_signing_out_ends_the_session_for_a_replayed_cookie_too(client: Client) -> None:
    alice = await logged_in(client)
    copied = alice.cookie
    resp = await alice.post("/logout", {})
    assert resp.status == 303 and resp.headers["Location"] == "/login"
    # Someone who copied the cookie before the sign-out gets nothing with it.
    replay = Browser(client, cookie=copied, csrf=alice.csrf)
    status, _ = await replay.get("/incidents")
    assert status == 303
    resp = await replay.post("/incidents", {"title": "after sign-out"})
    assert resp.status == 403
    assert "Your session has ended" in await resp.text()
    # The dead cookie is cleared on the refusal.
    assert resp.cookies[sess.COOKIE].value == ""


async def test_me_lists_your_sessions_and_marks_this_browser(
    client: Client, runtime: Runtime[Any]
) -> None:
    here = await _dana(client, runtime)
    there = await _dana(client, runtime)
    await logged_in(client, "someone-else")
    status, body = await here.get("/me")
    assert status == 200, body
    assert DANA in body and "responder" in body
    rows = re.findall(r'<tr id="session-(\d+)">', body)
    assert len(rows) == 2  # only Dana's, not the other person's
    assert body.count("This browser") == 1
    assert "Sign out all other sessions (1)" in body
    assert (await there.get("/me"))[0] == 200


async def test_signing_out_another_session_from_me_refuses_it_next_time(
    client: Client, runtime: Runtime[Any]
) -> None:
    here = await _dana(client, runtime)
    there = await _dana(client, runtime)
    other_id = (await runtime.sessions.list_live(DANA))[0].id
    resp = await here.post(f"/me/sessions/{other_id}/revoke", {})
    assert resp.status == 303 and resp.headers["Location"].startswith("/me?done=revoked")
    assert (await there.get("/me"))[0] == 303
    assert (await here.get("/me"))[0] == 200


async def test_nobody_can_sign_out_a_session_that_is_not_theirs(
    client: Client, runtime: Runtime[Any]
) -> None:
    alice = await logged_in(client)
    dana = await _dana(client, runtime)
    alice_id = next(s.id for s in await runtime.sessions.list_live() if s.person != DANA)
    resp = await dana.post(f"/me/sessions/{alice_id}/revoke", {})
    assert resp.status == 404
    assert (await alice.get("/incidents"))[0] == 200
    assert (await dana.post("/me/sessions/x/revoke", {})).status == 404


async def test_sign_out_all_other_sessions_keeps_this_one(
    client: Client, runtime: Runtime[Any]
) -> None:
    here = await _dana(client, runtime)
    others = [await _dana(client, runtime) for _ in range(2)]
    resp = await here.post("/me/sessions/revoke-others", {})
    assert resp.headers["Location"].startswith("/me?done=others")
    assert [(await o.get("/me"))[0] for o in others] == [303, 303]
    status, body = await here.get("/me?done=others")
    assert status == 200 and "This is your only session." in body
    resp = await here.post("/me/sessions/revoke-others", {})
    assert resp.headers["Location"].startswith("/me?done=none")


async def test_an_admin_signs_a_person_out_everywhere_and_it_is_audited(
    client: Client, runtime: Runtime[Any]
) -> None:
    admin = await logged_in(client, "root")
    dana = [await _dana(client, runtime) for _ in range(2)]
    status, body = await admin.get("/admin/sessions")
    assert status == 200 and DANA in body and "Sign out everywhere (2)" in body
    resp = await admin.post("/admin/sessions/revoke", {"person": DANA})
    assert resp.status == 303 and resp.headers["Location"] == "/admin/sessions?done=revoked"
    assert [(await d.get("/incidents"))[0] for d in dana] == [303, 303]
    entries = await runtime.audit.page()
    revoke = [e for e in entries if e.action == "session.revoke"]
    assert [(e.actor, e.surface, e.target) for e in revoke] == [
        ("web:root", "web", f"person:{DANA}")
    ]
    assert len(revoke[0].detail["sessions"]) == 2


async def test_an_admin_lowers_a_persons_role_and_it_applies_at_once(
    client: Client, runtime: Runtime[Any]
) -> None:
    await declare(runtime)
    admin = await logged_in(client, "root")
    dana = await _dana(client, runtime, Access.ADMIN)
    assert (await dana.get("/admin/audit"))[0] == 200
    resp = await admin.post("/admin/sessions/demote", {"person": DANA, "role": "viewer"})
    assert resp.headers["Location"] == "/admin/sessions?done=demoted"
    assert (await dana.get("/admin/audit"))[0] == 403
    resp = await dana.post("/incidents/1/notes", {"text": "still here?"})
    assert resp.status == 403 and "viewer" in await resp.text()
    demote = [e for e in await runtime.audit.page() if e.action == "session.demote"]
    assert [(e.actor, e.after) for e in demote] == [("web:root", {"role": "viewer"})]


async def test_admin_session_forms_refuse_bad_input_and_non_admins(
    client: Client, runtime: Runtime[Any]
) -> None:
    admin = await logged_in(client, "root")
    resp = await admin.post("/admin/sessions/revoke", {"person": ""})
    assert resp.status == 400 and "person:" in await resp.text()
    resp = await admin.post("/admin/sessions/demote", {"person": DANA, "role": "king"})
    assert resp.status == 400 and "role:" in await resp.text()
    resp = await admin.post("/admin/sessions/revoke", {"person": "nobody"})
    assert resp.headers["Location"] == "/admin/sessions?done=none"
    dana = await _dana(client, runtime)
    assert (await dana.get("/admin/sessions"))[0] == 403
    resp = await dana.post("/admin/sessions/revoke", {"person": "web:root"})
    assert resp.status == 403
    assert (await admin.get("/incidents"))[0] == 200


async def test_signing_in_again_revokes_the_browsers_previous_session(client: Client) -> None:
    browser = await logged_in(client)
    first = browser.cookie
    resp = await client.post(
        "/login",
        data={"token": API_TOKEN, "name": "alice"},
        headers=browser.headers(),
        allow_redirects=False,
    )
    assert resp.status == 303
    second = resp.cookies[sess.COOKIE].value
    assert second != first
    assert (await Browser(client, cookie=first).get("/incidents"))[0] == 303
    assert (await Browser(client, cookie=second).get("/incidents"))[0] == 200


async def test_an_expired_session_is_refused_on_its_next_request(
    client: Client, clock: FixedClock
) -> None:
    alice = await logged_in(client)
    clock.advance(hours=11, minutes=59)
    assert (await alice.get("/incidents"))[0] == 200
    clock.advance(minutes=1)
    status, _ = await alice.get("/incidents")
    assert status == 303
    resp = await alice.post("/incidents", {"title": "too late"})
    assert resp.status == 403


async def test_an_id_of_non_ascii_digits_is_not_found_not_a_server_error(client: Client) -> None:
    # U+00B2 passes str.isdigit but int() refuses it (a 500); int() reads U+0661 as 1.
    admin = await logged_in(client)
    for raw in ("\u00b2", "\u0661"):
        for path in (
            f"/me/sessions/{raw}/revoke",
            f"/me/tokens/{raw}/revoke",
            f"/admin/tokens/{raw}/revoke",
        ):
            resp = await admin.post(path, {})
            assert resp.status == 404, (path, resp.status)
