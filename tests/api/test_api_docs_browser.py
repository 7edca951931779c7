"""The API reference page in a real browser (Debian's chromium via Playwright): it loads under
its own Content-Security-Policy with no error, is usable with the keyboard alone, and fits a
375 px wide phone without scrolling sideways.

Skips with a clear reason when chromium or the playwright package is missing. Never run
``playwright install``: the test launches the system chromium.
"""

from __future__ import annotations

import pytest

# The browser, its flags, the skips when it is missing and the app served on loopback over
# plain http: one copy, tests/web/browser.py's.
from tests.web.browser import MARKS, base_url, launch, settings_overrides

__all__ = ["base_url", "settings_overrides"]
pytestmark = MARKS


@pytest.mark.parametrize("width", [1280, 375])
async def test_the_api_reference_reads_and_works_with_the_keyboard(
    base_url: str,
    width: int,
) -> None:
    from playwright.async_api import expect

    async with launch() as browser:
        page = await browser.new_page(viewport={"width": width, "height": 800})
        problems: list[str] = []
        # Any failed fetch but the favicon's (the app has none), and any CSP refusal.
        page.on(
            "response",
            lambda r: (
                problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        page.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        await page.goto(f"{base_url}/api/docs")
        await expect(page).to_have_title("API reference · sitrep")
        await expect(page.get_by_role("heading", level=1)).to_contain_text("sitrep API")
        # The stylesheet and the inline style both load under the page's CSP.
        assert await page.evaluate("getComputedStyle(document.body).margin") == "0px"
        method = page.locator(".api .method").first
        assert await method.evaluate("e => getComputedStyle(e).fontWeight") == "700"

        # Keyboard only: the first Tab reaches "Skip to content", and Enter goes there.
        await page.keyboard.press("Tab")
        await expect(page.locator(":focus")).to_have_text("Skip to content")
        await page.keyboard.press("Enter")
        await expect(page.locator("main")).to_be_focused()
        # Tab along the contents to "POST /api/tokens" and follow it with Enter.
        for _ in range(80):
            await page.keyboard.press("Tab")
            focused = await page.evaluate("document.activeElement.textContent")
            if focused.startswith("POST /api/tokens"):
                break
        else:
            pytest.fail("Tab never reached the link to POST /api/tokens")
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{base_url}/api/docs#op-createToken")
        section = page.locator("#op-createToken")
        await expect(section).to_be_in_viewport()
        await expect(section).to_contain_text("Token scope: admin")
        # A schema link in that section takes the reader to the schema, by keyboard too.
        link = section.get_by_role("link", name="TokenBody")
        await link.focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#schema-TokenBody")).to_be_in_viewport()

        # Nothing wider than the screen: no sideways scrolling on a phone.
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow}px wider than the {width}px viewport"
        await page.screenshot(path=f"/tmp/sitrep-api-docs-{width}.png", full_page=False)
        assert not problems, problems
