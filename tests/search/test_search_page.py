"""``/search`` in the web UI: signed-in only, results with escaped, marked snippets, the
filters, paging links, private incidents only for members and admins, bad input as 400."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.runtime import Runtime
from bot.security.access import Access
from integrations.web import session as sess
from tests.web.support import OPERATOR, PEOPLE_KEY, PEOPLE_SETTINGS, Client, declare


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(PEOPLE_SETTINGS)


async def _as(runtime: Runtime, actor_id: str, role: Access = Access.VIEWER) -> dict[str, str]:
    _, secret = await runtime.sessions.open(actor_id, actor_id, role)
    return {"Cookie": f"{sess.COOKIE}={sess.cookie_value(PEOPLE_KEY, secret)}"}


async def _get(client: Client, headers: dict[str, str], path: str) -> tuple[int, str]:
    resp = await client.get(path, headers=headers, allow_redirects=False)
    return resp.status, await resp.text()


async def test_signed_out_visitors_are_sent_to_sign_in(client: Client) -> None:
    resp = await client.get("/search?q=x", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"].startswith("/login?next=")


async def test_results_link_the_incident_and_mark_words_in_escaped_snippets(
    client: Client, runtime: Runtime
) -> None:
    i = await declare(runtime, "Checkout <script>alert(1)</script> iguana")
    await runtime.service.execute(
        "default", i.number, c.AddNote('iguana said <img src=x onerror="boom">'), OPERATOR
    )
    status, body = await _get(client, await _as(runtime, "U_VIEWER"), "/search?q=iguana")
    assert status == 200
    assert f'href="/incidents/{i.number}"' in body
    assert "<script>alert(1)" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>iguana</mark>" in body
    assert "<mark>iguana</mark> said &lt;img src=x onerror=&quot;boom&quot;&gt;" in body
    assert 'href="/search"' in body  # the nav link


async def test_a_snippet_cannot_smuggle_a_highlight_marker(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime, "Emu </mark><b>bold</b> <mark>fake</mark>")
    _, body = await _get(client, await _as(runtime, "U_VIEWER"), "/search?q=emu")
    # Only the word "Emu" is marked, once per snippet (title and the declaration entry).
    assert body.count("<mark>") == body.count("<mark>Emu</mark>") >= 1
    assert body.count("</mark>") == body.count("<mark>")
    assert "<b>" not in body and "&lt;/mark&gt;&lt;b&gt;bold" in body


async def test_a_private_incident_shows_to_members_and_admins_only(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime, "Public jackal")
    await declare(runtime, "Secret jackal", private=True)
    await runtime.service.execute("default", 2, c.AddNote("jackal notes"), Actor(id="U_NOTE"))
    for who, role, sees in [
        ("U_STRANGER", Access.RESPONDER, False),
        ("U_NOTE", Access.VIEWER, True),
        ("U_ADMIN", Access.ADMIN, True),
    ]:
        _, body = await _get(client, await _as(runtime, who, role), "/search?q=jackal")
        assert "Public jackal" in body, who
        assert ("Secret jackal" in body) is sees, who


async def test_filters_paging_and_bad_input(client: Client, runtime: Runtime) -> None:
    for n in range(25):
        await declare(runtime, f"Marmot {n}", severity="SEV2" if n % 2 else "SEV3")
    viewer = await _as(runtime, "U_VIEWER")
    _, first = await _get(client, viewer, "/search?q=marmot")
    assert first.count("<li>") == 20 and 'rel="next"' in first
    assert "/search?q=marmot&amp;offset=20" in first
    _, second = await _get(client, viewer, "/search?q=marmot&offset=20")
    assert second.count("<li>") == 5 and 'rel="prev"' in second and 'rel="next"' not in second
    _, sev2 = await _get(client, viewer, "/search?q=marmot&severity=SEV2&status=open")
    assert sev2.count("<li>") == 12
    for bad in ("status=napping", "severity=SEV9", "since=soon", "offset=x"):
        status, body = await _get(client, viewer, f"/search?q=marmot&{bad}")
        assert status == 400, bad
        assert 'role="alert"' in body
    status, body = await _get(client, viewer, "/search?q=%22%2A%22")
    assert status == 400 and "Type a word" in body
    status, body = await _get(client, viewer, "/search")
    assert status == 200 and 'id="q"' in body and "autofocus" in body
    _, none = await _get(client, viewer, "/search?q=zzzunknown")
    assert "No incident you can see matches" in none


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(q=st.text(max_size=60), status=st.text(max_size=12), since=st.text(max_size=12))
async def test_any_query_and_filters_answer_200_or_400(
    client: Client, runtime: Runtime, q: str, status: str, since: str
) -> None:
    resp = await client.get(
        "/search",
        params={"q": q, "status": status, "since": since},
        headers=await _as(runtime, "U_VIEWER"),
        allow_redirects=False,
    )
    assert resp.status in (200, 400), await resp.text()
