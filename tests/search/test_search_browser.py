"""The search page in a real browser (the system chromium via Playwright): reached and used
with the keyboard alone, hostile incident text shown as text, and usable on a 375 px phone."""

from __future__ import annotations

import pytest_asyncio
from aiohttp import web

from bot.domain import commands as c
from bot.runtime import Runtime
from handlers.appkeys import RUNTIME
from tests.conftest import API_TOKEN
from tests.web.browser import MARKS, base_url, launch, settings_overrides
from tests.web.support import OPERATOR, declare, sign_in_by_keyboard

__all__ = ["base_url", "settings_overrides"]
pytestmark = MARKS
HOSTILE = 'Checkout <img src=x onerror="window.pwned=1"> timeouts'


@pytest_asyncio.fixture
async def seeded(app: web.Application, base_url: str) -> Runtime:
    runtime: Runtime = app[RUNTIME]
    first = await declare(runtime, HOSTILE)
    await runtime.service.execute(
        "default",
        first.number,
        c.AddNote("Connection pool exhausted on the checkout database " * 4),
        OPERATOR,
    )
    await declare(runtime, "Search index lagging", summary="checkout unaffected")
    for n in range(22):
        await declare(runtime, f"Checkout incident number {n}")
    return runtime


async def test_search_with_the_keyboard_alone(base_url: str, seeded: Runtime) -> None:
    from playwright.async_api import expect

    async with launch() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{base_url}/search?q=x")
        await sign_in_by_keyboard(page, name=None)
        await expect(page).to_have_url(f"{base_url}/search?q=x")

        # From the incident list, Tab to the nav's Search link and follow it.
        await page.goto(f"{base_url}/incidents")
        for _ in range(10):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.textContent") == "Search":
                break
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{base_url}/search")
        # The query field has focus: type and press Enter.
        await expect(page.locator("#q")).to_be_focused()
        await page.keyboard.type('"connection pool" checkout')
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_contain_text("Showing 1 to 1")
        result = page.get_by_role("link", name="INC-1 Checkout")
        await expect(result).to_have_count(1)
        marks = await page.locator("mark").all_text_contents()
        assert "connection" in [m.lower() for m in marks] and "pool" in marks
        assert await page.evaluate("window.pwned") is None
        await expect(result).to_contain_text('<img src=x onerror="window.pwned=1">')

        # Tab from the form to the first result and open it with Enter.
        await page.locator("#q").focus()
        for _ in range(12):
            await page.keyboard.press("Tab")
            href = await page.evaluate("document.activeElement.getAttribute('href')")
            if href == "/incidents/1":
                break
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{base_url}/incidents/1")

        # Paging: 24 incidents mention checkout; the next page is a keyboard link too.
        await page.goto(f"{base_url}/search?q=checkout")
        await expect(page.locator("ol > li")).to_have_count(20)
        await page.get_by_role("link", name="More results").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("ol > li")).to_have_count(4)


async def test_the_search_page_fits_a_phone(base_url: str, seeded: Runtime) -> None:
    from playwright.async_api import expect

    async with launch() as browser:
        page = await browser.new_page(
            viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
        )
        await page.goto(f"{base_url}/login")
        await page.locator("#token").fill(API_TOKEN)
        await page.locator("#token").press("Enter")
        await page.goto(f"{base_url}/search?q=checkout+database")
        await expect(page.get_by_role("status")).to_contain_text("Showing 1 to")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        for selector in ("#q", "button[type=submit] >> text=Search", "ol > li"):
            box = await page.locator(selector).first.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        await page.screenshot(path="/tmp/sitrep-search-phone.png", full_page=True)
