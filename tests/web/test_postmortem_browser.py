"""The postmortem editor in a real browser (Debian's chromium via Playwright): edit a section
with the keyboard alone, see the preview, save, meet a conflict, and use it on a phone and
without JavaScript. Never run ``playwright install``: the test launches the system chromium."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Status
from bot.runtime import Runtime
from tests.web.browser import MARKS, base_url, launch, settings_overrides
from tests.web.support import sign_in_by_keyboard

__all__ = ["base_url", "settings_overrides"]
pytestmark = MARKS
SHOTS = "/tmp/sitrep-postmortem"


async def _incident(runtime: Runtime) -> None:
    ws, bob = runtime.settings.workspace, Actor(id="U_BOB", display="Bob")
    await runtime.service.declare(ws, c.Declare("Checkout API returning 500s", "SEV1"), bob)
    for minutes, cmd in (
        (6, c.ChangeStatus(Status.IDENTIFIED, "Bad deploy")),
        (9, c.PostUpdate("Rolling back the 14:02 deploy")),
        (25, c.ChangeStatus(Status.MONITORING)),
        (40, c.ChangeStatus(Status.RESOLVED, "Rolled back")),
    ):
        runtime.clock.advance(minutes=minutes)  # type: ignore[attr-defined]
        await runtime.service.execute(ws, 1, cmd, bob)


async def _sign_in(page: Any, base_url: str) -> None:
    await page.goto(f"{base_url}/incidents/1/postmortem")
    # Keyboard only: the token field has focus, Tab reaches the name, Enter submits.
    await sign_in_by_keyboard(page)
    await page.wait_for_url(f"{base_url}/incidents/1/postmortem")


async def test_edit_preview_save_and_conflict_with_the_keyboard(
    base_url: str, app: web.Application
) -> None:
    from playwright.async_api import expect

    from handlers.appkeys import RUNTIME

    runtime: Runtime = app[RUNTIME]
    await _incident(runtime)
    async with launch() as browser:
        page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
        await _sign_in(page, base_url)
        picture = page.get_by_role("img", name="INC-1 timeline")
        await expect(picture).to_be_visible()

        # Open the impact editor from the keyboard: focus its summary, Enter toggles it.
        await page.locator("#s-impact summary").focus()
        await page.keyboard.press("Enter")
        editor = page.get_by_label("Impact (Markdown)")
        await expect(editor).to_be_visible()
        await page.keyboard.press("Tab")
        await expect(editor).to_be_focused()
        await page.keyboard.type("**A third** of EU checkouts failed <b>for 40m</b>")
        await page.keyboard.press("Tab")  # Save
        await page.keyboard.press("Tab")  # Preview
        await expect(page.get_by_role("button", name="Preview").first).to_be_focused()
        await page.keyboard.press("Enter")
        preview = page.locator("#p-impact")
        await expect(preview.locator("strong")).to_have_text("A third")
        await expect(preview).to_contain_text("<b>for 40m</b>")  # shown as text
        assert await page.locator("#p-impact b").count() == 0
        # The script fetched it: the page did not post the form and reload.
        await expect(page).to_have_url(f"{base_url}/incidents/1/postmortem")
        await page.screenshot(path=f"{SHOTS}-preview.png", full_page=True)

        await page.keyboard.press("Shift+Tab")  # back to Save
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_have_text("Section saved.")
        await expect(page.locator("#v-impact strong")).to_have_text("A third")
        assert (await runtime.service.get("default", 1)).impact.startswith("**A third**")

        # Someone else saves the root cause while this page has its editor open.
        await page.locator("#s-root_cause summary").click()
        await page.get_by_label("Root cause (Markdown)").fill("My theory: DNS")
        await runtime.service.execute(
            "default", 1, c.EditField("root_cause", "Pool limit in deploy 4f2a"), Actor("U_C")
        )
        await page.get_by_role("button", name="Save root cause").click()
        alert = page.get_by_role("alert")
        await expect(alert).to_contain_text("changed by someone else")
        await expect(page.locator("#c-root_cause")).to_contain_text("Pool limit in deploy 4f2a")
        await expect(page.get_by_label("Root cause (Markdown)")).to_have_value("My theory: DNS")
        await page.screenshot(path=f"{SHOTS}-conflict.png", full_page=True)
        # Merge and save again: now based on their version, it goes through.
        await page.get_by_label("Root cause (Markdown)").fill(
            "Pool limit in deploy 4f2a; DNS ruled out"
        )
        await page.get_by_role("button", name="Save root cause").click()
        await expect(page.get_by_role("status")).to_have_text("Section saved.")
        incident = await runtime.service.get("default", 1)
        assert incident.root_cause == "Pool limit in deploy 4f2a; DNS ruled out"

        # Action item and review from the same page.
        await page.get_by_label("What needs doing").fill("Canary stage for payments")
        await page.get_by_label("Owner").fill("carol")
        await page.get_by_role("button", name="Add action item").click()
        await expect(page.get_by_role("status")).to_have_text("Action item added.")
        await page.get_by_role("button", name="Mark action item #1 done").click()
        await expect(page.get_by_role("status")).to_have_text("Action item updated.")
        runtime.clock.advance(minutes=1)  # type: ignore[attr-defined]
        await page.get_by_role("button", name="Mark reviewed").click()
        await expect(page.get_by_role("status")).to_have_text("Postmortem marked reviewed.")
        await expect(page.locator("#review-state")).to_contain_text("Reviewed by")
        await page.screenshot(path=f"{SHOTS}.png", full_page=True)


async def test_on_a_phone_and_without_javascript(base_url: str, app: web.Application) -> None:
    from playwright.async_api import expect

    from handlers.appkeys import RUNTIME

    runtime: Runtime = app[RUNTIME]
    await _incident(runtime)
    async with launch() as browser:
        phone = await browser.new_context(
            viewport={"width": 375, "height": 740},
            is_mobile=True,
            has_touch=True,
            java_script_enabled=False,
        )
        page = await phone.new_page()
        await _sign_in(page, base_url)
        # Nothing wider than the phone: the page does not scroll sideways; the picture
        # keeps a readable size and scrolls inside its own (focusable) region.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, width
        region = page.get_by_role("region", name="Timeline picture")
        box = await region.bounding_box()
        assert box is not None and box["width"] <= 375
        picture = await page.get_by_role("img", name="INC-1 timeline").bounding_box()
        assert picture is not None and picture["width"] > box["width"]
        assert await region.evaluate("el => el.scrollWidth > el.clientWidth")
        # The region takes focus, so keyboard users can scroll it with the arrow keys.
        await region.focus()
        await expect(region).to_be_focused()
        await page.locator("#s-what_went_well summary").click()
        await page.get_by_label("What went well (Markdown)").fill("- Alert in *1 minute*")
        # No script: Preview posts the form and the page comes back with it rendered.
        await page.get_by_role("button", name="Preview").first.click()
        await expect(page.locator("#p-what_went_well em")).to_have_text("1 minute")
        await expect(page.get_by_label("What went well (Markdown)")).to_have_value(
            "- Alert in *1 minute*"
        )
        assert (await runtime.service.get("default", 1)).what_went_well == ""
        await page.get_by_role("button", name="Save what went well").click()
        await expect(page.get_by_role("status")).to_have_text("Section saved.")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
        await page.screenshot(path=f"{SHOTS}-phone.png", full_page=True)
