"""/dashboard in a real Chromium: reached and filtered by keyboard alone, charts drawn, tables
opened from the keyboard, and nothing wider than a 375 px phone screen."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Status
from bot.ports import FixedClock
from bot.runtime import Runtime
from handlers.appkeys import RUNTIME
from tests.conftest import T0
from tests.web.browser import MARKS, base_url, launch, settings_overrides
from tests.web.support import sign_in_by_keyboard

__all__ = ["base_url", "settings_overrides"]
pytestmark = MARKS
ALICE = Actor("U_ALICE", "alice")


# Elements sticking out of a 375 px screen, to name them when the check fails.
WIDER_THAN_PHONE = (
    "[...document.querySelectorAll('body *')]"
    ".filter(e => e.getBoundingClientRect().right > 376)"
    ".map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 10)"
)
SERVICES = ["payments", "search", "checkout-api-with-a-rather-long-name", "auth"]


async def _seed(runtime: Runtime, clock: FixedClock) -> None:
    """Twenty incidents over five weeks, some acknowledged and resolved."""
    ws = runtime.settings.workspace
    for n in range(20):
        clock.set(T0 - timedelta(days=33 - n * 1.6))
        sev = f"SEV{1 + n % 4}"
        out = await runtime.service.declare(
            ws, c.Declare(f"incident {n}", sev, service=SERVICES[n % 4]), Actor("sitrep")
        )
        clock.advance(minutes=3 + n)
        await runtime.service.execute(ws, out.incident.number, c.Acknowledge(), ALICE)
        if n % 3:
            clock.advance(hours=1 + n % 5)
            await runtime.service.execute(
                ws, out.incident.number, c.ChangeStatus(Status.RESOLVED), ALICE
            )
    clock.set(T0)


async def _sign_in(page: object, base_url: str) -> None:
    await page.goto(f"{base_url}/login?next=%2Fdashboard")  # type: ignore[attr-defined]
    await sign_in_by_keyboard(page)


async def test_dashboard_by_keyboard_on_a_desktop(
    base_url: str, app: web.Application, clock: FixedClock
) -> None:
    from playwright.async_api import expect

    await _seed(app[RUNTIME], clock)
    async with launch() as browser:
        page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
        await _sign_in(page, base_url)
        await expect(page).to_have_url(f"{base_url}/dashboard")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
        charts = page.get_by_role("img")
        await expect(charts).to_have_count(6)
        await expect(page.get_by_role("img", name="SLA attainment by severity (%)")).to_be_visible()
        await expect(page.locator("svg.chart rect.bar").first).to_be_visible()

        # Keyboard only: focus the period, pick 4 weeks, Tab through to Show, press Enter.
        await page.locator("#weeks").focus()
        await page.keyboard.press("Home")
        assert await page.locator("#weeks").input_value() == "4"
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == "severity"
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == "service"
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.textContent") == "Show"
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{base_url}/dashboard?weeks=4&severity=&service=")
        await expect(page.locator("#weeks")).to_have_value("4")

        # A chart's table opens from the keyboard.
        summary = page.locator("summary", has_text="Table: incidents per week")
        await summary.focus()
        await page.keyboard.press("Enter")
        table = page.get_by_role("table", name="Incidents per week")
        await expect(table).to_be_visible()
        await expect(table.locator("tbody tr")).to_have_count(4)
        await page.screenshot(path="/tmp/sitrep-dashboard.png", full_page=True)
        await page.screenshot(
            path="/tmp/sitrep-dashboard-top.png",
            clip={"x": 0, "y": 0, "width": 1280, "height": 1600},
            full_page=True,
        )


async def test_dashboard_fits_a_phone(
    base_url: str, app: web.Application, clock: FixedClock
) -> None:
    from playwright.async_api import expect

    await _seed(app[RUNTIME], clock)
    async with launch() as browser:
        context = await browser.new_context(
            viewport={"width": 375, "height": 667}, device_scale_factor=2, is_mobile=True
        )
        page = await context.new_page()
        await _sign_in(page, base_url)
        await expect(page).to_have_url(f"{base_url}/dashboard")
        await page.locator("details").evaluate_all("ds => ds.forEach(d => d.open = true)")
        width = await page.evaluate("document.documentElement.scrollWidth")
        wide = await page.evaluate(WIDER_THAN_PHONE)
        assert width <= 375, f"the page is {width} px wide: {wide}"
        for box in [await c.bounding_box() for c in await page.locator("svg.chart").all()]:
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        await expect(page.get_by_role("button", name="Show")).to_be_in_viewport()
        await page.screenshot(path="/tmp/sitrep-dashboard-phone.png", full_page=True)
        await page.locator("#h-incidents").scroll_into_view_if_needed()
        await page.screenshot(path="/tmp/sitrep-dashboard-phone-chart.png")
