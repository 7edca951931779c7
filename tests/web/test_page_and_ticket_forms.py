"""The incident page's "Page on-call" form and "Tickets" card, over real HTTP: a responder
pages a configured target (PagerDuty gets it through the outbox) and opens a ticket per
service (the link replaces the button once Jira answered); refusals come back on the page
with the core's message; viewers and forms without their CSRF token are refused; and, in
Chromium, both work from the keyboard and fit a 375 px screen.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web

from bot.domain import commands as c
from bot.domain.model import EventKind, Status
from bot.runtime import Runtime
from bot.security.access import Access
from handlers.appkeys import RUNTIME
from tests.api.test_page_and_ticket_api import (  # noqa: F401 (fixtures)
    EVERYTHING,
    NOTHING,
    jira,
    nothing_queued,
    outside_settings,
    pd,
    snow,
)
from tests.conftest import API_TOKEN
from tests.fakes.jira_api import FakeJira
from tests.fakes.pagerduty_events import FakePagerDutyEvents
from tests.fakes.servicenow_api import FakeServiceNow
from tests.fakes.slack_api import FakeSlackApi
from tests.paging.test_paging_flow import PAYMENTS
from tests.slack_flow.test_slack_flow import eventually, fake, poll  # noqa: F401
from tests.tickets.support import entries
from tests.web.browser import MARKS as BROWSER_MARKS
from tests.web.browser import base_url  # noqa: F401 (fixture)
from tests.web.support import OPERATOR, Browser, Client, declare, logged_in, session_for
from tests.web.test_keyboard_and_phone import check_page, chromium

PAGE_FORM = re.compile(
    r'<form method="post" action="/incidents/1/page" id="form-page".*?</form>', re.S
)


def in_chromium(test: Any) -> Any:
    """The browser tests' marks (e2e; skipped without chromium or playwright)."""
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


@pytest.fixture
def settings_overrides(
    request: pytest.FixtureRequest,
    fake: FakeSlackApi,  # noqa: F811
    pd: FakePagerDutyEvents,  # noqa: F811
    jira: FakeJira,  # noqa: F811
    snow: FakeServiceNow,  # noqa: F811
) -> dict[str, Any]:
    # Plain http (a Secure cookie would not come back to Chromium over http://127.0.0.1).
    configured = getattr(request, "param", EVERYTHING)
    return outside_settings(fake, pd, jira, snow, configured) | {"public_url": ""}


async def as_viewer(client: Client, runtime: Runtime) -> Browser:
    """A browser signed in as someone with the viewer role only."""
    secret = runtime.settings.web_session_secret
    key = "\0".join([secret.get_secret_value() if secret else "", API_TOKEN])
    return await session_for(client, runtime, key, "web:Vic", Access.VIEWER, "Vic")


async def test_a_responder_pages_a_configured_target_from_the_incident_page(
    client: Client,
    runtime: Runtime,
    pd: FakePagerDutyEvents,  # noqa: F811
) -> None:
    await declare(runtime, "Checkout is down", severity="SEV2")
    browser = await logged_in(client)
    status, html = await browser.get("/incidents/1")
    assert status == 200
    form = PAGE_FORM.search(html)
    assert form is not None
    assert '<label for="p-target">Whom to page</label>' in form.group(0)
    assert '<option value="payments">payments (PagerDuty)</option>' in form.group(0)
    resp = await browser.post("/incidents/1/page", {"target": "payments"})
    assert resp.status == 303
    assert resp.headers["Location"] == "/incidents/1?done=page#form-page"
    incident = await eventually(lambda: pd.incident(PAYMENTS))
    assert incident.summary == "INC-1 SEV2: Checkout is down"
    _, html = await browser.get(resp.headers["Location"])
    assert "Page queued" in html and "Paged so far: payments." in html


async def test_an_unknown_target_comes_back_on_the_page_with_the_core_s_message(
    client: Client,
    runtime: Runtime,
    pd: FakePagerDutyEvents,  # noqa: F811
) -> None:
    await declare(runtime, "Checkout is down")
    browser = await logged_in(client)
    resp = await browser.post("/incidents/1/page", {"target": "nobody"})
    assert resp.status == 400
    html = await resp.text()
    message = "No paging target &#x27;nobody&#x27;; try: payments (PagerDuty)."
    assert f'<p class="error" id="page-error">{message}</p>' in html
    assert 'href="#form-page"' in html  # the flash leads to the form
    await nothing_queued(runtime)
    assert pd.received == []


async def test_open_ticket_buttons_become_the_link_once_jira_opened_the_issue(
    client: Client,
    runtime: Runtime,
    jira: FakeJira,  # noqa: F811
    snow: FakeServiceNow,  # noqa: F811
) -> None:
    await declare(runtime, "Checkout is down")
    browser = await logged_in(client)
    _, html = await browser.get("/incidents/1")
    assert ">Open Jira issue</button>" in html and ">Open ServiceNow incident</button>" in html
    resp = await browser.post("/incidents/1/tickets", {"service": "jira"})
    assert resp.status == 303
    assert resp.headers["Location"] == "/incidents/1?done=ticket#form-ticket"
    (issue,) = await eventually(lambda: list(jira.issues.values()))
    await poll(lambda: entries(runtime, EventKind.TICKET_LINKED))
    _, html = await browser.get("/incidents/1")
    link = f'Jira issue <a href="{jira.url}/browse/{issue.key}" rel="noopener noreferrer">'
    assert link in html and ">Open Jira issue</button>" not in html
    assert ">Open ServiceNow incident</button>" in html and snow.records == {}
    resp = await browser.post("/incidents/1/tickets", {"service": "jira"})
    assert resp.status == 400
    assert f"INC-1 already has a Jira issue ({issue.key})." in await resp.text()
    resp = await browser.post("/incidents/1/tickets", {"service": "github"})
    assert resp.status == 400 and "Pick jira or servicenow" in await resp.text()
    assert len(jira.issues) == 1


async def test_a_resolved_incident_offers_no_page_form(client: Client, runtime: Runtime) -> None:
    await declare(runtime, "Checkout is down")
    await runtime.service.execute("default", 1, c.ChangeStatus(Status.RESOLVED), OPERATOR)
    browser = await logged_in(client)
    _, html = await browser.get("/incidents/1")
    assert PAGE_FORM.search(html) is None
    assert "Reopen the incident to page anyone." in html


async def test_a_viewer_sees_no_controls_and_their_posts_are_refused(
    client: Client,
    runtime: Runtime,
    pd: FakePagerDutyEvents,  # noqa: F811
) -> None:
    await declare(runtime, "Checkout is down")
    viewer = await as_viewer(client, runtime)
    status, html = await viewer.get("/incidents/1")
    assert status == 200
    assert PAGE_FORM.search(html) is None and "Open Jira issue" not in html
    assert "Jira issue: <span" in html  # the state, without the button
    for path, form in (("page", {"target": "payments"}), ("tickets", {"service": "jira"})):
        resp = await viewer.post(f"/incidents/1/{path}", form)
        assert resp.status == 403 and "responder" in await resp.text(), path
    await nothing_queued(runtime)


async def test_a_form_without_its_csrf_token_is_refused(client: Client, runtime: Runtime) -> None:
    await declare(runtime, "Checkout is down")
    browser = await logged_in(client)
    for path, form in (("page", {"target": "payments"}), ("tickets", {"service": "jira"})):
        resp = await browser.post(f"/incidents/1/{path}", form, csrf="")
        assert resp.status == 403, path
    await nothing_queued(runtime)


@pytest.mark.parametrize("settings_overrides", [NOTHING], indirect=True)
async def test_nothing_configured_shows_neither_card(client: Client, runtime: Runtime) -> None:
    await declare(runtime, "Checkout is down")
    browser = await logged_in(client)
    _, html = await browser.get("/incidents/1")
    assert "Page on-call" not in html and "Tickets" not in html
    resp = await browser.post("/incidents/1/page", {"target": "payments"})
    assert resp.status == 400 and "Paging is not configured" in await resp.text()


# -- in Chromium ------------------------------------------------------------------------------


@in_chromium
async def test_paging_and_ticket_by_keyboard_and_on_a_phone(
    base_url: str,  # noqa: F811
    app: web.Application,
    pd: FakePagerDutyEvents,  # noqa: F811
) -> None:
    runtime: Runtime = app[RUNTIME]
    await declare(runtime, "Checkout API returning 500s with a long title " * 3)
    async with chromium(base=base_url) as page:
        await check_page(page, f"{base_url}/incidents/1")
        await page.locator("#p-target").focus()
        await page.keyboard.press("Tab")  # to "Page on-call"
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base_url}/incidents/1?done=page#form-page")
        await eventually(lambda: pd.incident(PAYMENTS))
        await page.get_by_role("button", name="Open Jira issue").focus()
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base_url}/incidents/1?done=ticket#form-ticket")
        await check_page(page, f"{base_url}/incidents/1")
