"""Public updates from the web page and the API to the Statuspage stand-in over real HTTP: the
checkbox shows a preview page (escaped, nothing sent) whose confirm needs the CSRF token; the
API answers a preview without ``confirm`` and publishes with it; private incidents are
refused everywhere; an unconfigured status page is named."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.runtime import Runtime
from tests.fakes.statuspage_api import FakeStatuspage
from tests.slack_flow.test_slack_flow import eventually
from tests.web.support import Client, declare, logged_in

API_KEY, PAGE, API = "sp-api-key", "pg0001", "cmp-api"
XSS = '<script>alert("x")</script>'


async def _queued(runtime: Runtime) -> list[Any]:
    """Statuspage deliveries ever queued (none means nothing can be published)."""
    rows = await runtime.db.run(lambda repo: repo.list_outbox(limit=500))
    return [r for r in rows if r.platform == "statuspage"]


@pytest_asyncio.fixture
async def page() -> AsyncIterator[FakeStatuspage]:
    async with FakeStatuspage(API_KEY, PAGE, (API,)) as stand_in:
        yield stand_in


@pytest.fixture
def settings_overrides(page: FakeStatuspage) -> dict[str, Any]:
    return {
        "statuspage_api_key": API_KEY,
        "statuspage_page_id": PAGE,
        "statuspage_api_url": page.url + "/v1",
        "statuspage_components": [API],
        "statuspage_component_status": {"SEV2": "degraded_performance"},
    }


async def test_web_checkbox_previews_escaped_then_the_confirm_creates(
    client: Client, runtime: Runtime, page: FakeStatuspage
) -> None:
    await declare(runtime, "Checkout 500s", severity="SEV2")
    browser = await logged_in(client)
    status, body = await browser.get("/incidents/1")
    assert status == 200 and 'name="public"' in body
    resp = await browser.post("/incidents/1/updates", {"text": f"Slow {XSS}", "public": "1"})
    shown = await resp.text()
    assert resp.status == 200 and XSS not in shown
    assert html.escape(f"Slow {XSS}") in shown
    assert "degraded_performance" in shown and "investigating" in shown
    assert await _queued(runtime) == []
    assert page.requests == []  # the preview sent nothing, and posted no update either
    detail = await runtime.service.detail("default", 1)
    assert detail.updates == []
    # The confirm form carries the CSRF token; without it nothing happens.
    assert re.search(
        r'action="/incidents/1/updates/public"[^>]*>\s*<input type="hidden" name="csrf"', shown
    )
    refused = await browser.post("/incidents/1/updates/public", {"text": "x"}, csrf="")
    assert refused.status == 403
    hidden = re.search(r'name="text" value="([^"]*)"', shown)
    assert hidden is not None
    ok = await browser.post("/incidents/1/updates/public", {"text": html.unescape(hidden.group(1))})
    assert ok.status == 303
    (inc,) = await eventually(lambda: list(page.incidents.values()))
    assert inc.updates[0]["body"] == f"Slow {XSS}"
    assert inc.components == {API: "degraded_performance"}


async def test_web_refuses_a_private_incident_and_offers_no_checkbox(
    client: Client, runtime: Runtime, page: FakeStatuspage
) -> None:
    await declare(runtime, "Initech", private=True)
    browser = await logged_in(client)
    # The shared-token operator is an admin and may see it.
    _, body = await browser.get("/incidents/1")
    assert 'name="public"' not in body
    resp = await browser.post("/incidents/1/updates", {"text": "hi", "public": "1"})
    assert resp.status == 400 and "never published" in await resp.text()
    resp = await browser.post("/incidents/1/updates/public", {"text": "hi"})
    assert resp.status == 400
    assert await _queued(runtime) == []
    assert page.requests == []


async def test_api_public_without_confirm_is_a_preview_and_with_it_publishes(
    client: Client, runtime: Runtime, page: FakeStatuspage, auth: dict[str, str]
) -> None:
    await declare(runtime, "Checkout 500s", severity="SEV2")
    url = "/api/incidents/INC-1/updates"
    resp = await client.post(url, json={"text": "We see errors", "public": True}, headers=auth)
    assert resp.status == 200
    preview = await resp.json()
    assert preview["published"] is False and preview["body"] == "We see errors"
    assert preview["status"] == "investigating" and preview["creates"] is True
    assert await _queued(runtime) == []
    assert page.requests == []
    body = {"text": "We see errors", "public": True, "confirm": True}
    resp = await client.post(url, json=body, headers=auth)
    assert resp.status == 201
    (inc,) = await eventually(lambda: list(page.incidents.values()))
    resp = await client.post(url, json={"text": "Fixed soon", "public": True}, headers=auth)
    assert (await resp.json())["creates"] is False
    await client.post(url, json={"text": "A private note", "public": False}, headers=auth)
    await client.post(
        url, json={"text": "Fixed soon", "public": True, "confirm": True}, headers=auth
    )
    await eventually(lambda: len(inc.updates) == 2)
    assert [u["body"] for u in inc.updates] == ["We see errors", "Fixed soon"]


async def test_api_refuses_a_private_incident(
    client: Client, runtime: Runtime, page: FakeStatuspage, auth: dict[str, str]
) -> None:
    await declare(runtime, "Initech", private=True)
    url = "/api/incidents/INC-1/updates"
    for confirm in (False, True):
        body = {"text": "All good", "public": True, "confirm": confirm}
        resp = await client.post(url, json=body, headers=auth)
        assert resp.status in (400, 404, 409)
    assert await _queued(runtime) == []
    assert page.requests == []
