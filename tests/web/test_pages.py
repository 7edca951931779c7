"""The web pages over real HTTP: declare, every incident form, refusals, 404s and escaping."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bot.domain import commands as c
from bot.domain.model import EventKind, Role, Status
from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.service import IncidentDetail
from tests.web.support import OPERATOR, Client, declare, logged_in

XSS = '<script>alert("x")</script>'


async def test_declare_through_the_form_then_see_it(client: Client, runtime: Runtime) -> None:
    browser = await logged_in(client, "alice")
    resp = await browser.post(
        "/incidents",
        {"title": "Checkout 500s", "severity": "SEV2", "summary": "Card payments fail.\nEU only."},
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/incidents/1?done=declared"
    incident = (await runtime.service.detail("default", 1)).incident
    assert (incident.title, incident.severity, incident.private) == ("Checkout 500s", "SEV2", False)
    assert (incident.declared_by, incident.origin) == ("web:alice", "web")
    status, body = await browser.get("/incidents/1?done=declared")
    assert status == 200
    assert "<h1>INC-1: Checkout 500s</h1>" in body
    assert 'role="status">Incident declared.' in body
    assert "Card payments fail.\nEU only." in body
    assert '<span class="sev sev-2">SEV2</span>' in body


async def test_private_checkbox_marks_the_incident(client: Client, runtime: Runtime) -> None:
    browser = await logged_in(client)
    resp = await browser.post("/incidents", {"title": "Leaked key", "private": "1"})
    assert resp.status == 303
    assert (await runtime.service.get("default", 1)).private is True
    _, body = await browser.get("/incidents/1")
    assert '<span class="private">Private</span>' in body
    _, listing = await browser.get("/incidents")
    assert '<span class="private">Private</span>' in listing


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"title": "   ", "summary": "keep me"}, "title"),
        ({"title": "Real", "severity": "SEV9", "summary": "keep me"}, "unknown severity"),
    ],
)
async def test_declare_refusals_rerender_the_list(
    client: Client, runtime: Runtime, form: dict[str, str], message: str
) -> None:
    browser = await logged_in(client)
    resp = await browser.post("/incidents", form)
    body = await resp.text()
    assert resp.status == 400
    assert "Could not declare the incident" in body and message in body
    assert ">keep me</textarea>" in body
    assert await runtime.service.list("default") == []


async def test_list_shows_open_first_then_recent_and_filters(
    client: Client, runtime: Runtime
) -> None:
    one = await declare(runtime, "Old outage", severity="SEV1")
    await runtime.service.execute("default", one.number, c.ChangeStatus(Status.RESOLVED), OPERATOR)
    await declare(runtime, "Queue backlog", severity="SEV3")
    await declare(runtime, "Login slow", severity="SEV2")
    browser = await logged_in(client)
    status, body = await browser.get("/incidents")
    assert status == 200
    open_part, recent_part = body.split('id="recent"')
    assert open_part.index("Login slow") < open_part.index("Queue backlog")
    assert "Old outage" not in open_part and "Old outage" in recent_part

    _, body = await browser.get("/incidents?status=resolved")
    assert "Old outage" in body and "Queue backlog" not in body
    assert '<option value="resolved" selected>' in body
    _, body = await browser.get("/incidents?severity=SEV2")
    assert "Login slow" in body and "Queue backlog" not in body and "Old outage" not in body
    _, body = await browser.get("/incidents?status=open")
    assert "Old outage" not in body and "Login slow" in body

    status, body = await browser.get("/incidents?severity=SEV9")
    assert status == 400 and "unknown severity" in body
    status, body = await browser.get("/incidents?status=sleeping")
    assert status == 400 and "unknown status" in body


@dataclass(frozen=True)
class Action:
    path: str
    form: dict[str, str]
    check: Callable[[IncidentDetail], bool]


ACTIONS = {
    "acknowledge": Action("acknowledge", {}, lambda d: d.incident.acknowledged_at is not None),
    "status": Action(
        "status",
        {"status": "identified", "text": "Bad deploy found"},
        lambda d: (
            d.incident.status is Status.IDENTIFIED
            and any(e.kind is EventKind.STATUS_CHANGED for e in d.timeline)
        ),
    ),
    "update": Action(
        "updates",
        {"text": "We are rolling back."},
        lambda d: [u.text for u in d.updates] == ["We are rolling back."],
    ),
    "note": Action(
        "notes",
        {"text": "Grafana shows p99 at 4s"},
        lambda d: (
            d.timeline[-1].kind is EventKind.NOTE
            and d.timeline[-1].text == "Grafana shows p99 at 4s"
        ),
    ),
    "role": Action(
        "roles",
        {"role": "comms_lead", "user": "bob"},
        lambda d: d.incident.role_holder(Role.COMMS_LEAD) == "bob",
    ),
    "severity": Action("severity", {"severity": "SEV1"}, lambda d: d.incident.severity == "SEV1"),
    "action": Action(
        "action-items",
        {"text": "Add a canary stage", "owner": "carol", "due": "2026-12-01"},
        lambda d: (
            [(a.text, a.owner, f"{a.due:%Y-%m-%d}") for a in d.action_items]
            == [("Add a canary stage", "carol", "2026-12-01")]
        ),
    ),
}


@pytest.mark.parametrize("name", list(ACTIONS))
async def test_each_form_changes_the_incident(client: Client, runtime: Runtime, name: str) -> None:
    action = ACTIONS[name]
    incident = await declare(runtime, severity="SEV2")
    browser = await logged_in(client, "alice")
    resp = await browser.post(f"/incidents/{incident.number}/{action.path}", action.form)
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"].startswith(f"/incidents/{incident.number}?done=")
    detail = await runtime.service.detail("default", incident.number)
    assert action.check(detail)
    assert detail.timeline[-1].actor == "web:alice"
    status, body = await browser.get(resp.headers["Location"])
    assert status == 200 and 'role="status"' in body


async def test_action_items_can_be_marked_done_and_reopened(
    client: Client, runtime: Runtime
) -> None:
    incident = await declare(runtime)
    outcome = await runtime.service.execute(
        "default", incident.number, c.AddActionItem("Write the runbook"), OPERATOR
    )
    assert outcome.action_item is not None
    item = outcome.action_item.id
    browser = await logged_in(client)
    _, body = await browser.get("/incidents/1")
    assert f'action="/incidents/1/action-items/{item}"' in body
    assert f'aria-label="Mark action item #{item} done"' in body

    resp = await browser.post(f"/incidents/1/action-items/{item}", {"done": "1"})
    assert resp.status == 303 and resp.headers["Location"].endswith("#action-items")
    assert (await runtime.service.detail("default", 1)).action_items[0].done
    _, body = await browser.get("/incidents/1")
    assert f'aria-label="Reopen action item #{item}"' in body

    await browser.post(f"/incidents/1/action-items/{item}", {"done": "0"})
    assert not (await runtime.service.detail("default", 1)).action_items[0].done


REFUSALS = [
    ("status", {"status": "closed", "text": "typed under stress"}, 409, "cannot move"),
    ("status", {"status": "sleeping"}, 400, "pick the status"),
    ("updates", {"text": "   "}, 400, "update"),
    ("notes", {"text": ""}, 400, "note"),
    ("roles", {"role": "janitor", "user": "bob"}, 400, "unknown role"),
    ("roles", {"role": "commander", "user": ""}, 400, "user"),
    ("severity", {"severity": "SEV9"}, 400, "unknown severity"),
    ("severity", {"severity": "SEV2"}, 400, "already SEV2"),
    ("action-items", {"text": "Fix it", "due": "next week"}, 400, "YYYY-MM-DD"),
    ("action-items", {"text": ""}, 400, "action item"),
    ("action-items/999", {"done": "1"}, 404, "no action item #999"),
]


@pytest.mark.parametrize(("path", "form", "status", "message"), REFUSALS)
async def test_refusals_rerender_the_page_and_change_nothing(
    client: Client, runtime: Runtime, path: str, form: dict[str, str], status: int, message: str
) -> None:
    incident = await declare(runtime, severity="SEV2")
    before = await runtime.service.detail("default", incident.number)
    browser = await logged_in(client)
    resp = await browser.post(f"/incidents/{incident.number}/{path}", form)
    body = await resp.text()
    assert resp.status == status
    assert resp.content_type == "text/html"
    assert '<div class="error" role="alert">' in body and message in body
    assert f"<h1>INC-{incident.number}: Checkout 500s</h1>" in body
    assert await runtime.service.detail("default", incident.number) == before


async def test_a_refused_form_keeps_what_was_typed(client: Client, runtime: Runtime) -> None:
    await declare(runtime)
    browser = await logged_in(client)
    resp = await browser.post("/incidents/1/status", {"status": "closed", "text": "typed <b>"})
    body = await resp.text()
    assert resp.status == 409
    assert 'class="card has-error"' in body
    assert ">typed &lt;b&gt;</textarea>" in body


async def test_status_form_offers_only_allowed_moves(client: Client, runtime: Runtime) -> None:
    await declare(runtime)
    browser = await logged_in(client)
    _, body = await browser.get("/incidents/1")
    offered = re.findall(r'name="status" value="(\w+)"', body)
    assert offered == ["identified", "monitoring", "resolved"]
    await runtime.service.execute("default", 1, c.ChangeStatus(Status.RESOLVED), OPERATOR)
    _, body = await browser.get("/incidents/1")
    assert re.findall(r'name="status" value="(\w+)"', body) == ["investigating", "closed"]
    assert "investigating (reopen)" in body


async def test_page_shows_metrics_roles_and_timeline_in_utc(
    client: Client, runtime: Runtime, clock: FixedClock
) -> None:
    await declare(runtime, commander="dana")
    clock.advance(minutes=7, seconds=30)
    await runtime.service.execute("default", 1, c.ChangeStatus(Status.MONITORING), OPERATOR)
    clock.advance(minutes=30)
    await runtime.service.execute("default", 1, c.ChangeStatus(Status.RESOLVED), OPERATOR)
    browser = await logged_in(client)
    _, body = await browser.get("/incidents/1")
    assert "<dt>Commander</dt><dd>dana</dd>" in body
    assert "<dt>Time to mitigate</dt><dd>7m 30s</dd>" in body
    assert "<dt>Time to resolve</dt><dd>37m 30s</dd>" in body
    assert '<time datetime="2026-11-23T09:07:30Z" data-local>2026-11-23 09:07:30 UTC</time>' in body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/incidents/999"),
        ("GET", "/incidents/banana"),
        ("GET", "/incidents/999/postmortem.md"),
        ("POST", "/incidents/999/notes"),
        ("POST", "/incidents/999/action-items/1"),
    ],
)
async def test_unknown_incident_is_a_404_page(client: Client, method: str, path: str) -> None:
    browser = await logged_in(client)
    if method == "GET":
        status, body = await browser.get(path)
    else:
        resp = await browser.post(path, {"text": "hello", "done": "1"})
        status, body = resp.status, await resp.text()
    assert status == 404
    assert "<h1>Not found</h1>" in body
    assert "<!doctype html>" in body


async def test_user_text_is_escaped_everywhere(client: Client, runtime: Runtime) -> None:
    browser = await logged_in(client, name='<img src=x onerror="alert(1)">')
    await browser.post("/incidents", {"title": XSS, "summary": XSS})
    for path, form in [
        ("notes", {"text": XSS}),
        ("updates", {"text": XSS}),
        ("roles", {"role": "commander", "user": XSS}),
        ("action-items", {"text": XSS, "owner": XSS}),
    ]:
        resp = await browser.post(f"/incidents/1/{path}", form)
        assert resp.status == 303
    for page in ("/incidents/1", "/incidents", "/incidents/1?done=<script>"):
        status, body = await browser.get(page)
        assert status == 200
        assert "<script>" not in body and "<img" not in body
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body


async def test_pages_are_hardened(client: Client) -> None:
    browser = await logged_in(client)
    resp = await client.get("/incidents", headers=browser.headers())
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    for asset, kind in (("sitrep.css", "text/css"), ("sitrep.js", "text/javascript")):
        got = await client.get(f"/assets/{asset}")
        assert got.status == 200 and got.content_type == kind
    assert (await client.get("/assets/other.js")).status == 404


async def test_postmortem_exports_are_linked_and_served(client: Client, runtime: Runtime) -> None:
    await declare(runtime, "Checkout <500s>")
    browser = await logged_in(client)
    _, body = await browser.get("/incidents/1")
    for fmt, kind in (("md", "text/markdown"), ("html", "text/html"), ("json", "application/json")):
        assert f'href="/incidents/1/postmortem.{fmt}"' in body
        resp = await client.get(f"/incidents/1/postmortem.{fmt}", headers=browser.headers())
        text = await resp.text()
        assert resp.status == 200, text
        assert resp.content_type == kind
        assert "INC-1" in text
    assert (
        await client.get("/incidents/1/postmortem.pdf", headers=browser.headers())
    ).status == 404
