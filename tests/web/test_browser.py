"""A real browser (Debian's chromium via Playwright) drives the web UI end to end.

Skips with a clear reason when chromium or the playwright package is missing (the launch,
the skips and the app on loopback are tests/web/browser.py's). Never run
``playwright install``: the test launches the system chromium.
"""

from __future__ import annotations

from aiohttp import web

from bot.domain.model import Status
from bot.runtime import Runtime
from tests.conftest import API_TOKEN
from tests.web.browser import MARKS, base_url, launch, settings_overrides
from tests.web.support import sign_in_by_keyboard

SCREENSHOT = "/tmp/sitrep-web.png"
__all__ = ["base_url", "settings_overrides"]
pytestmark = MARKS


async def test_on_call_flow_in_a_real_browser(base_url: str, app: web.Application) -> None:
    from playwright.async_api import expect

    from handlers.appkeys import RUNTIME

    runtime: Runtime = app[RUNTIME]
    async with launch() as browser:
        context = await browser.new_context(
            viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin"
        )
        page = await context.new_page()
        await page.goto(f"{base_url}/")
        await expect(page).to_have_url(f"{base_url}/login?next=%2Fincidents")

        # Keyboard only: the token field has focus, Tab reaches the name, Enter submits.
        await sign_in_by_keyboard(page)
        await expect(page).to_have_url(f"{base_url}/incidents")
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement.textContent")
        assert focused == "Skip to content"

        await page.get_by_label("Title").fill("Checkout API returning 500s")
        await page.locator("#d-severity").select_option("SEV2")
        await page.get_by_label("Summary").fill("Card payments fail for EU customers.")
        await page.get_by_role("button", name="Declare incident").click()
        await expect(page).to_have_url(f"{base_url}/incidents/1?done=declared")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "INC-1: Checkout API returning 500s"
        )

        await page.get_by_label("identified", exact=True).check()
        await page.get_by_label("What changed").fill("Bad deploy 4f2a; rolling back.")
        await page.get_by_role("button", name="Change status").click()
        await expect(page.get_by_role("status")).to_have_text("Status changed.")

        await page.get_by_label("Update", exact=True).fill(
            "We found the cause (a bad deploy) and are rolling it back. Next update in 30m."
        )
        await page.get_by_role("button", name="Post update").click()
        await expect(page.get_by_role("status")).to_have_text("Stakeholder update posted.")

        await page.get_by_label("What needs doing").fill("Add a canary stage to deploys")
        await page.get_by_label("Owner").fill("carol")
        await page.get_by_role("button", name="Add action item").click()
        await expect(page.get_by_role("status")).to_have_text("Action item added.")

        await page.screenshot(path=SCREENSHOT, full_page=True)

        # A refusal re-renders the page with the core's message (browser checks bypassed).
        await page.evaluate("document.getElementById('n-text').removeAttribute('required')")
        await page.get_by_role("button", name="Add note").click()
        await expect(page.get_by_role("alert")).to_contain_text("note must not be empty")
        await page.screenshot(path="/tmp/sitrep-web-error.png", full_page=True)

        # Resolve, then close: the form offers only the moves the lifecycle allows.
        await page.get_by_label("resolved", exact=True).check()
        await page.get_by_role("button", name="Change status").click()
        await expect(page.get_by_role("status")).to_have_text("Status changed.")
        await page.get_by_label("closed", exact=True).check()
        await page.get_by_role("button", name="Change status").click()
        await expect(page.get_by_role("status")).to_have_text("Status changed.")

        # The script adds the viewer's local time next to each UTC time.
        await expect(page.locator(".local").first).to_contain_text("your time")

        await page.emulate_media(media="print")
        await page.screenshot(path="/tmp/sitrep-web-print.png", full_page=True)
        assert not await page.get_by_role("button", name="Post update").is_visible()
        await page.emulate_media(media="screen")
        await page.goto(f"{base_url}/incidents")
        await page.screenshot(path="/tmp/sitrep-web-list.png", full_page=True)

    detail = await runtime.service.detail("default", 1)
    assert detail.incident.status is Status.CLOSED
    assert detail.incident.severity == "SEV2"
    assert [u.text[:24] for u in detail.updates] == ["We found the cause (a ba"]
    assert [a.owner for a in detail.action_items] == ["carol"]
    assert {e.actor for e in detail.timeline} == {"web:Alice"}


async def test_admin_creates_and_revokes_a_token_in_a_real_browser(
    base_url: str, app: web.Application
) -> None:
    from aiohttp import ClientSession
    from playwright.async_api import expect

    async with launch() as browser:
        page = await (await browser.new_context()).new_page()
        await page.goto(f"{base_url}/login")
        await page.get_by_label("API token").fill(API_TOKEN)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("link", name="API tokens").click()
        await expect(page).to_have_url(f"{base_url}/admin/tokens")

        await page.get_by_label("Owner (person or service id)").fill("deploy-bot")
        await page.locator("#kind").select_option("service")
        await page.get_by_label("Name", exact=True).fill("deploys")
        await page.get_by_label("incidents:write").check()
        await page.get_by_role("button", name="Create token").click()
        secret = (await page.locator("#secret").text_content() or "").strip()
        assert secret.startswith("srp_")
        await page.screenshot(path="/tmp/sitrep-web-token.png", full_page=True)

        async with ClientSession() as http:
            bearer = {"Authorization": f"Bearer {secret}"}
            async with http.get(f"{base_url}/api/incidents", headers=bearer) as resp:
                assert resp.status == 200
            await page.get_by_role("link", name="Back to tokens").click()
            row = page.locator("#tokens tbody tr", has_text="deploys")
            await expect(row).to_contain_text("active")
            await row.get_by_role("button", name="Revoke").click()
            await expect(page.get_by_role("status")).to_contain_text("Token revoked")
            await expect(row).to_contain_text("revoked")
            async with http.get(f"{base_url}/api/incidents", headers=bearer) as resp:
                assert resp.status == 401

        await page.get_by_role("link", name="Audit log").click()
        await expect(page.locator("#audit")).to_contain_text("token.revoke")
        await page.get_by_role("button", name="Verify the whole chain").click()
        await expect(page.locator("#verdict")).to_contain_text("Chain intact")
