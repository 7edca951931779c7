"""The postmortem editor over real HTTP: saves with a version check (409 with the other text,
never a lost update, also when two clients race), the Markdown preview and its escaping,
roles, private incidents, CSRF, action items, review, and the picture in the HTML export."""

from __future__ import annotations

import asyncio
import html
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import EventKind, Role, Status, text_version
from bot.runtime import Runtime
from bot.security.access import Access
from integrations.web import session as sess
from tests.web.support import (
    CSRF,
    OPERATOR,
    PEOPLE_KEY,
    PEOPLE_SECRET,
    PEOPLE_SETTINGS,
    Client,
    declare,
)

# tests/publish/test_publish_roles.py signs its people in with this module's secret.
SECRET = PEOPLE_SECRET
XSS = '<script>alert("x")</script>'
SVG = re.compile(r"<svg\b.*?</svg>", re.S)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(PEOPLE_SETTINGS)


@dataclass
class Person_:
    """One signed-in person: their cookie and CSRF token."""

    client: Client
    headers: dict[str, str]
    csrf: str

    async def get(self, path: str) -> tuple[int, str]:
        resp = await self.client.get(path, headers=self.headers, allow_redirects=False)
        return resp.status, await resp.text()

    async def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> ClientResponse:
        form = {**data, "csrf": self.csrf} if csrf else dict(data)
        return await self.client.post(path, data=form, headers=self.headers, allow_redirects=False)


async def signed_in(
    client: Client, runtime: Runtime, actor: str, role: Access = Access.RESPONDER
) -> Person_:
    _, secret = await runtime.sessions.open(actor, actor, role)
    headers = {"Cookie": f"{sess.COOKIE}={sess.cookie_value(PEOPLE_KEY, secret)}"}
    page = await (await client.get("/incidents", headers=headers)).text()
    match = CSRF.search(page)
    assert match is not None, page
    return Person_(client, headers, match.group(1))


def base_of(page: str, section: str) -> str:
    """The version the section's form is based on, as the page rendered it."""
    form = page.split(f'action="/incidents/1/postmortem/{section}"', 1)[1]
    match = re.search(r'name="base" value="([^"]+)"', form)
    assert match is not None
    return match.group(1)


async def incident(runtime: Runtime) -> Any:
    return await runtime.service.get(runtime.settings.workspace, 1)


async def test_a_responder_saves_a_section_and_sees_it_rendered_as_markdown(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime, "Checkout 500s")
    alice = await signed_in(client, runtime, "oidc:alice")
    status, page = await alice.get("/incidents/1/postmortem")
    assert status == 200
    assert "<h1>Postmortem: INC-1: Checkout 500s</h1>" in page
    text = "**Checkout** failed for a third of EU buyers\r\n\r\n- card payments\r\n- wallets"
    resp = await alice.post(
        "/incidents/1/postmortem/impact", {"text": text, "base": base_of(page, "impact")}
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/incidents/1/postmortem?done=saved#s-impact"
    # Browsers send CRLF; the core keeps LF.
    assert (await incident(runtime)).impact == text.replace("\r\n", "\n")
    _, page = await alice.get("/incidents/1/postmortem?done=saved")
    assert 'role="status">Section saved.' in page
    assert "<strong>Checkout</strong> failed" in page
    assert "<li>card payments</li>" in page
    _, incident_page = await alice.get("/incidents/1")
    assert '<h2>Impact</h2><div class="md"><p><strong>Checkout</strong> failed' in incident_page
    log = await runtime.db.run(lambda repo: repo.audit_entries("default"))
    edit = [e for e in log if e.action == "edit_field"][-1]
    assert (edit.actor, edit.surface) == ("oidc:alice", "web")
    assert edit.before is not None and edit.before["impact"] == ""
    assert edit.after is not None and edit.after["impact"] == text.replace("\r\n", "\n")


async def test_lessons_is_a_section_too(client: Client, runtime: Runtime) -> None:
    await declare(runtime)
    alice = await signed_in(client, runtime, "oidc:alice")
    _, page = await alice.get("/incidents/1/postmortem")
    assert "Lessons learned" in page
    resp = await alice.post(
        "/incidents/1/postmortem/lessons",
        {"text": "Canary every deploy", "base": base_of(page, "lessons")},
    )
    assert resp.status == 303
    assert (await incident(runtime)).lessons == "Canary every deploy"


async def test_a_stale_save_gets_409_with_their_text_and_keeps_the_draft(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime)
    alice = await signed_in(client, runtime, "oidc:alice")
    bob = await signed_in(client, runtime, "oidc:bob")
    _, alice_page = await alice.get("/incidents/1/postmortem")
    _, bob_page = await bob.get("/incidents/1/postmortem")
    first = await alice.post(
        "/incidents/1/postmortem/root_cause",
        {"text": "Pool limit <10> shipped", "base": base_of(alice_page, "root_cause")},
    )
    assert first.status == 303
    stale = await bob.post(
        "/incidents/1/postmortem/root_cause",
        {"text": "Bob's draft: DNS", "base": base_of(bob_page, "root_cause")},
    )
    body = await stale.text()
    assert stale.status == 409
    assert "changed by someone else" in body and 'role="alert"' in body
    # Their text, escaped, rendered and copyable; Bob's draft still in his editor.
    assert "Pool limit &lt;10&gt; shipped" in body
    assert re.search(r'id="theirs-root_cause" readonly[^>]*>Pool limit &lt;10&gt; shipped<', body)
    assert re.search(r'id="t-root_cause"[^>]*>Bob&#x27;s draft: DNS</textarea>', body)
    assert (await incident(runtime)).root_cause == "Pool limit <10> shipped"
    # The 409 page's form is based on Alice's version: merging and saving again works.
    assert base_of(body, "root_cause") == text_version("Pool limit <10> shipped")
    merged = await bob.post(
        "/incidents/1/postmortem/root_cause",
        {"text": "Pool limit <10> shipped; DNS", "base": base_of(body, "root_cause")},
    )
    assert merged.status == 303
    assert (await incident(runtime)).root_cause == "Pool limit <10> shipped; DNS"


async def test_two_clients_racing_on_one_version_one_wins_and_the_other_gets_409(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime)
    people = [await signed_in(client, runtime, f"oidc:p{n}") for n in range(4)]
    _, page = await people[0].get("/incidents/1/postmortem")
    base = base_of(page, "what_went_wrong")
    answers = await asyncio.gather(
        *(
            p.post(
                "/incidents/1/postmortem/what_went_wrong",
                {"text": f"draft {n}", "base": base},
            )
            for n, p in enumerate(people)
        )
    )
    statuses = sorted(a.status for a in answers)
    assert statuses == [303, 409, 409, 409]
    winner = next(n for n, a in enumerate(answers) if a.status == 303)
    assert (await incident(runtime)).what_went_wrong == f"draft {winner}"
    detail = await runtime.service.detail(runtime.settings.workspace, 1)
    edits = [e for e in detail.timeline if e.kind is EventKind.FIELD_CHANGED]
    assert len(edits) == 1
    for loser in (a for a in answers if a.status == 409):
        assert f"draft {winner}" in await loser.text()


async def test_editing_another_section_or_the_incident_does_not_conflict(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime)
    alice = await signed_in(client, runtime, "oidc:alice")
    _, page = await alice.get("/incidents/1/postmortem")
    await runtime.service.execute("default", 1, c.EditField("impact", "EU down"), OPERATOR)
    await runtime.service.execute("default", 1, c.AddNote("paged DB team"), OPERATOR)
    resp = await alice.post(
        "/incidents/1/postmortem/what_went_well",
        {"text": "Alert in a minute", "base": base_of(page, "what_went_well")},
    )
    assert resp.status == 303


async def test_saving_the_same_text_changes_nothing(client: Client, runtime: Runtime) -> None:
    await declare(runtime)
    await runtime.service.execute("default", 1, c.EditField("impact", "EU down"), OPERATOR)
    alice = await signed_in(client, runtime, "oidc:alice")
    _, page = await alice.get("/incidents/1/postmortem")
    version = (await incident(runtime)).version
    resp = await alice.post(
        "/incidents/1/postmortem/impact", {"text": "EU down", "base": base_of(page, "impact")}
    )
    assert resp.headers["Location"].endswith("?done=unchanged#s-impact")
    assert (await incident(runtime)).version == version


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"text": "x"}, 400, "which version it was based on"),
        ({"text": "x" * 20001, "base": text_version("")}, 400, "the limit is 20000"),
    ],
)
async def test_refused_saves_keep_the_draft(
    client: Client, runtime: Runtime, form: dict[str, str], status: int, message: str
) -> None:
    await declare(runtime)
    alice = await signed_in(client, runtime, "oidc:alice")
    resp = await alice.post("/incidents/1/postmortem/impact", form)
    body = await resp.text()
    assert resp.status == status
    assert message in body
    assert f">{form['text'][:50]}" in body
    assert (await incident(runtime)).impact == ""


async def test_preview_renders_safe_markdown_and_saves_nothing(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime)
    alice = await signed_in(client, runtime, "oidc:alice")
    text = f"_Timeouts_ {XSS} [runbook](https://runbooks.example/db) [bad](javascript:alert(1))"
    resp = await alice.post("/incidents/1/postmortem/preview", {"text": text})
    fragment = await resp.text()
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "connect-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "<em>Timeouts</em>" in fragment
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in fragment
    assert "<script" not in fragment and 'href="javascript' not in fragment
    assert '<a href="https://runbooks.example/db" rel="nofollow noopener noreferrer">' in fragment
    # Without the script: the Preview button posts the section form; the page comes back.
    resp = await alice.post(
        "/incidents/1/postmortem/impact",
        {"text": text, "base": text_version(""), "action": "preview"},
    )
    page = await resp.text()
    assert resp.status == 200
    assert 'id="p-impact" aria-live="polite"><h3>Preview</h3>' in page
    assert "<em>Timeouts</em>" in page and "<script>alert" not in page
    assert (await incident(runtime)).impact == ""


async def test_section_text_from_elsewhere_is_escaped_on_the_page(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime, f"Title {XSS}")
    cmd = c.EditField("root_cause", f"{XSS}\n\n<img src=x onerror=alert(1)>")
    await runtime.service.execute("default", 1, cmd, OPERATOR)
    alice = await signed_in(client, runtime, "oidc:alice")
    _, page = await alice.get("/incidents/1/postmortem")
    assert "<script>alert" not in page and "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


async def test_a_viewer_reads_the_postmortem_but_cannot_change_it(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime)
    await runtime.service.execute("default", 1, c.EditField("impact", "EU down"), OPERATOR)
    viewer = await signed_in(client, runtime, "oidc:vic", Access.VIEWER)
    status, page = await viewer.get("/incidents/1/postmortem")
    assert status == 200
    assert "EU down" in page and "<textarea" not in page and "Mark reviewed" not in page
    for path, form in (
        ("/incidents/1/postmortem/impact", {"text": "mine", "base": text_version("EU down")}),
        ("/incidents/1/postmortem/preview", {"text": "x"}),
        ("/incidents/1/postmortem/action-items", {"text": "x"}),
        ("/incidents/1/postmortem/review", {}),
    ):
        resp = await viewer.post(path, form)
        assert resp.status == 403, path
        assert "responder" in await resp.text()
    assert (await incident(runtime)).impact == "EU down"


async def test_forms_without_the_csrf_token_are_refused(client: Client, runtime: Runtime) -> None:
    await declare(runtime)
    alice = await signed_in(client, runtime, "oidc:alice")
    resp = await alice.post(
        "/incidents/1/postmortem/impact", {"text": "x", "base": text_version("")}, csrf=False
    )
    assert resp.status == 403
    assert (await incident(runtime)).impact == ""


async def test_a_private_postmortem_is_only_for_members(client: Client, runtime: Runtime) -> None:
    await declare(runtime, "Secret breach", private=True)
    await runtime.service.execute("default", 1, c.AssignRole(Role.SCRIBE, "oidc:sam"), OPERATOR)
    stranger = await signed_in(client, runtime, "oidc:eve")
    for path in ("/incidents/1/postmortem", "/incidents/1/postmortem.html"):
        status, body = await stranger.get(path)
        assert status == 404, path
        assert "Secret breach" not in body
    for path, form in (
        ("/incidents/1/postmortem/impact", {"text": "snoop", "base": text_version("")}),
        ("/incidents/1/postmortem/preview", {"text": "snoop"}),
        ("/incidents/1/postmortem/action-items", {"text": "snoop"}),
    ):
        resp = await stranger.post(path, form)
        assert resp.status == 404, path
        assert "Secret breach" not in await resp.text()
    assert (await incident(runtime)).impact == ""
    member = await signed_in(client, runtime, "oidc:sam")
    status, page = await member.get("/incidents/1/postmortem")
    assert status == 200 and "Secret breach" in page
    resp = await member.post(
        "/incidents/1/postmortem/impact", {"text": "Keys rotated", "base": text_version("")}
    )
    assert resp.status == 303


async def test_action_items_are_added_and_completed_from_the_page(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime)
    alice = await signed_in(client, runtime, "oidc:alice")
    resp = await alice.post(
        "/incidents/1/postmortem/action-items",
        {"text": "Add a canary stage", "owner": "carol", "due": "2026-12-31"},
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/incidents/1/postmortem?done=action#pm-items"
    detail = await runtime.service.detail("default", 1)
    item = detail.action_items[0]
    assert (item.text, item.owner, f"{item.due:%Y-%m-%d}") == (
        "Add a canary stage",
        "carol",
        "2026-12-31",
    )
    _, page = await alice.get("/incidents/1/postmortem")
    assert "owner carol" in page and "due 2026-12-31" in page
    resp = await alice.post(f"/incidents/1/postmortem/action-items/{item.id}", {"done": "1"})
    assert resp.status == 303
    assert (await runtime.service.detail("default", 1)).action_items[0].done
    bad = await alice.post("/incidents/1/postmortem/action-items", {"text": "x", "due": "soon"})
    body = await bad.text()
    assert bad.status == 400 and "YYYY-MM-DD" in body and 'value="x"' in body


async def test_mark_reviewed_then_an_edit_shows_edited_since_review_everywhere(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime)
    alice = await signed_in(client, runtime, "oidc:alice")
    early = await alice.post("/incidents/1/postmortem/review", {})
    assert early.status == 400 and "once resolved" in await early.text()
    await runtime.service.execute("default", 1, c.ChangeStatus(Status.RESOLVED), OPERATOR)
    runtime.clock.advance(minutes=5)  # type: ignore[attr-defined]
    resp = await alice.post("/incidents/1/postmortem/review", {})
    assert resp.status == 303
    inc = await incident(runtime)
    assert inc.postmortem_reviewed_by == "oidc:alice"
    assert inc.postmortem_reviewed_at == runtime.clock.now()
    _, page = await alice.get("/incidents/1/postmortem")
    assert "Reviewed by <strong>oidc:alice</strong>" in page
    assert "Edited since review" not in page and "Mark reviewed</button>" not in page
    _, md = await alice.get("/incidents/1/postmortem.md")
    assert "**Review:** reviewed by oidc:alice at 2026-11-23 09:05:00 UTC" in md

    runtime.clock.advance(minutes=5)  # type: ignore[attr-defined]
    _, page = await alice.get("/incidents/1/postmortem")
    resp = await alice.post(
        "/incidents/1/postmortem/impact", {"text": "EU down", "base": base_of(page, "impact")}
    )
    assert resp.status == 303
    inc = await incident(runtime)
    assert inc.postmortem_reviewed_by == "oidc:alice" and inc.edited_since_review
    _, page = await alice.get("/incidents/1/postmortem")
    assert "Edited since review" in page and "Mark reviewed</button>" in page
    _, doc = await alice.get("/incidents/1/postmortem.json")
    review = json.loads(doc)["review"]
    assert review["reviewed_by"] == "oidc:alice" and review["edited_since_review"] is True
    _, page_html = await alice.get("/incidents/1/postmortem.html")
    assert "edited since review" in page_html
    # Reviewing again clears the mark.
    await alice.post("/incidents/1/postmortem/review", {})
    assert not (await incident(runtime)).edited_since_review


async def test_the_page_and_the_html_export_carry_the_timeline_picture(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime, "Checkout 500s")
    ws = runtime.settings.workspace
    runtime.clock.advance(minutes=10)  # type: ignore[attr-defined]
    await runtime.service.execute(ws, 1, c.ChangeStatus(Status.IDENTIFIED), Actor(id="U1"))
    runtime.clock.advance(minutes=10)  # type: ignore[attr-defined]
    await runtime.service.execute(ws, 1, c.PostUpdate(f"Rolling back {XSS}"), Actor(id="U1"))
    runtime.clock.advance(minutes=10)  # type: ignore[attr-defined]
    await runtime.service.execute(ws, 1, c.ChangeStatus(Status.RESOLVED), Actor(id="U1"))
    alice = await signed_in(client, runtime, "oidc:alice")
    for path in ("/incidents/1/postmortem", "/incidents/1/postmortem.html"):
        status, body = await alice.get(path)
        assert status == 200
        match = SVG.search(body)
        assert match is not None, path
        svg = ET.fromstring(match.group(0))
        assert svg.get("role") == "img" and "declared" in (svg.get("aria-label") or "")
        tips = [t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}title")]
        assert any(f"Rolling back {XSS}" in tip for tip in tips)
        assert html.escape(XSS) in match.group(0)
    _, page = await alice.get("/incidents/1")
    assert 'href="/incidents/1/postmortem"' in page


async def test_unknown_sections_and_incidents_are_404(client: Client, runtime: Runtime) -> None:
    await declare(runtime)
    alice = await signed_in(client, runtime, "oidc:alice")
    resp = await alice.post("/incidents/1/postmortem/title", {"text": "x", "base": "x"})
    assert resp.status == 404
    status, _ = await alice.get("/incidents/9/postmortem")
    assert status == 404
