"""GET /dashboard: every chart is valid SVG with a table beside it, filters work, text is
escaped, and a private incident counts only for its members and admins."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.security.access import Access
from integrations.web import session as sess
from tests.web.support import CSRF, PEOPLE_KEY, PEOPLE_SETTINGS, Client, declare

SVG = re.compile(r"<svg\b.*?</svg>", re.S)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(PEOPLE_SETTINGS)


async def _as(client: Client, runtime: Runtime, actor: str, role: Access) -> dict[str, str]:
    _, secret = await runtime.sessions.open(actor, actor, role)
    headers = {"Cookie": f"{sess.COOKIE}={sess.cookie_value(PEOPLE_KEY, secret)}"}
    assert CSRF.search(await (await client.get("/incidents", headers=headers)).text())
    return headers


async def _get(client: Client, headers: dict[str, str], path: str) -> tuple[int, str]:
    resp = await client.get(path, headers=headers, allow_redirects=False)
    return resp.status, await resp.text()


def _summary(page: str, name: str) -> str:
    found = re.search(rf"<dt>{re.escape(name)}</dt><dd>([^<]*)</dd>", page)
    assert found is not None, name
    return found.group(1)


async def _setup(runtime: Runtime, clock: FixedClock) -> None:
    ws = runtime.settings.workspace
    await declare(runtime, "Cards fail", severity="SEV1", service="payments")
    clock.advance(minutes=3)
    await runtime.service.execute(ws, 1, c.Acknowledge(), Actor("U_ALICE"))
    await declare(runtime, "Search slow", severity="SEV2", service="<b>search</b>")
    await runtime.service.declare(
        ws, c.Declare("Secret breach", "SEV1", private=True), Actor("U_SECRET")
    )


async def test_the_dashboard_draws_valid_charts_with_tables_and_escapes_services(
    client: Client, runtime: Runtime, clock: FixedClock
) -> None:
    await _setup(runtime, clock)
    headers = await _as(client, runtime, "U_VIEWER", Access.VIEWER)
    status, page = await _get(client, headers, "/dashboard")
    assert status == 200, page
    charts = SVG.findall(page)
    assert len(charts) == 6
    for svg in charts:
        root = ET.fromstring(svg)
        assert (
            root.get("role") == "img" and root.find("{http://www.w3.org/2000/svg}title") is not None
        )
    assert page.count("<table>") >= 6 and page.count("<details") >= 5
    assert "<b>search</b>" not in page and "&lt;b&gt;search&lt;/b&gt;" in page
    assert _summary(page, "Incidents") == "2"  # the private one is not counted for a viewer
    assert _summary(page, "Mean time to acknowledge") == "3m 00s"
    assert '<a href="/dashboard">Dashboard</a>' in page
    assert "<script>" not in page.split("</head>")[1]


async def test_admins_and_members_count_the_private_incident(
    client: Client, runtime: Runtime, clock: FixedClock
) -> None:
    await _setup(runtime, clock)
    for who, role in (("U_ADMIN", Access.ADMIN), ("U_SECRET", Access.VIEWER)):
        _, page = await _get(client, await _as(client, runtime, who, role), "/dashboard")
        assert _summary(page, "Incidents") == "3", who


async def test_filters_narrow_the_figures_and_stay_selected(
    client: Client, runtime: Runtime, clock: FixedClock
) -> None:
    await _setup(runtime, clock)
    headers = await _as(client, runtime, "U_VIEWER", Access.VIEWER)
    status, page = await _get(client, headers, "/dashboard?weeks=4&severity=SEV2&service=")
    assert status == 200
    assert _summary(page, "Incidents") == "1"
    assert '<option value="4" selected>' in page and '<option value="SEV2" selected>' in page
    _, page = await _get(client, headers, "/dashboard?service=payments")
    assert _summary(page, "Incidents") == "1"
    assert '<option value="payments" selected>' in page


@pytest.mark.parametrize(
    ("query", "message"),
    [("weeks=0", "weeks"), ("weeks=abc", "weeks"), ("severity=SEV9", "unknown severity")],
)
async def test_bad_filters_answer_400_with_the_reason_and_the_default_figures(
    client: Client, runtime: Runtime, query: str, message: str
) -> None:
    headers = await _as(client, runtime, "U_VIEWER", Access.VIEWER)
    status, page = await _get(client, headers, f"/dashboard?{query}")
    assert status == 400
    assert 'role="alert"' in page and message in page
    assert len(SVG.findall(page)) >= 2


async def test_signed_out_visitors_are_sent_to_sign_in(client: Client) -> None:
    resp = await client.get("/dashboard", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")
