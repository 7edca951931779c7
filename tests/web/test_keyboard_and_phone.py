"""Every page works from the keyboard and on a phone, in a real browser (Chromium).

For the sign-in page, the incident list, an incident, /me, /admin/tokens and /admin/audit:
Tab reaches every control in document order and each shows a visible focus ring inside the
viewport; the page's forms submit with Enter; and at 375x667 nothing scrolls sideways.
Skips like tests/web/test_browser.py when chromium or playwright is missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from bot.domain import commands as c
from bot.runtime import Runtime
from bot.security.access import Access
from handlers.appkeys import RUNTIME
from tests.conftest import API_TOKEN
from tests.web.browser import MARKS, base_url, launch, tab_walk  # noqa: F401 (fixture)
from tests.web.support import OPERATOR, declare, sign_in_by_keyboard

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page, ViewportSize

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 375, "height": 667}
pytestmark = MARKS

_SIDEWAYS = """() => {
  const doc = document.documentElement;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > doc.clientWidth + 1)
    .map(el => el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className).slice(0, 5);
  return {scroll: doc.scrollWidth, width: doc.clientWidth, wide: wide};
}"""


async def tab_through(page: Page) -> None:
    """Tab from the top to past the last control: each one in order, each focus visible."""
    walk = await tab_walk(page, min_outline=2)
    for now in walk.stops:
        assert now["ring"], f"no visible focus on {now} at {page.url}"
        assert now["inside"], f"focused control outside the viewport: {now} at {page.url}"
    order, expected = walk.reached(), walk.expected
    assert order == expected, f"Tab order at {page.url}: reached {order}, expected {expected}"


async def no_sideways_scroll(page: Page) -> None:
    """Nothing on the page is wider than a 375 px screen."""
    got = await page.evaluate(_SIDEWAYS)
    assert got["scroll"] <= got["width"], f"{page.url} scrolls sideways: {got}"


async def check_page(page: Page, url: str) -> None:
    """The keyboard checks on a desktop screen, then keyboard and width checks on a phone."""
    for size in (DESKTOP, PHONE):
        await page.set_viewport_size(size)
        await page.goto(url)
        await tab_through(page)
        if size is PHONE:
            await no_sideways_scroll(page)


async def enter_in(page: Page, field: Locator, text: str, lands_on: str) -> None:
    """Type ``text`` into ``field`` and press Enter there: the form submits to ``lands_on``."""
    await field.fill(text)
    await field.press("Enter")
    await page.wait_for_url(lands_on)


async def press_enter_on(page: Page, control: Locator, lands_on: str) -> None:
    """Focus ``control`` and press Enter: it submits to ``lands_on``."""
    await control.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(lands_on)


def _field(page: Page, name: str) -> Locator:
    """``#id`` by its id, anything else by its label."""
    return page.locator(name) if name.startswith("#") else page.get_by_label(name)


@asynccontextmanager
async def chromium(signed_in: bool = True, base: str = "") -> AsyncIterator[Page]:
    """A page in a fresh Chromium, signed in with the shared token (by keyboard) if asked."""
    async with launch() as browser:
        page = await (await browser.new_context(viewport=DESKTOP)).new_page()
        if signed_in:
            await page.goto(f"{base}/login")
            await sign_in_by_keyboard(page)
            await page.wait_for_url(f"{base}/incidents")
        yield page


async def _incident(runtime: Runtime[Any]) -> None:
    incident = await declare(runtime, "Checkout API returning 500s with a long title " * 3)
    ws = runtime.settings.workspace
    await runtime.service.execute(
        ws, incident.number, c.AddNote("x" * 300 + " a very long unbroken note"), OPERATOR
    )
    await runtime.service.execute(
        ws, incident.number, c.AddActionItem("Add a canary stage", "carol", None), OPERATOR
    )


def _runtime(app: web.Application) -> Runtime[Any]:
    return app[RUNTIME]


async def test_sign_in_page_by_keyboard_and_on_a_phone(
    base_url: str,  # noqa: F811
) -> None:
    async with chromium(signed_in=False, base=base_url) as page:
        await check_page(page, f"{base_url}/login")
        # Enter in the name field submits the form.
        await page.get_by_label("API token").fill(API_TOKEN)
        await enter_in(page, page.get_by_label("Your name"), "Alice", f"{base_url}/incidents")


# A page about a declared incident, and its forms that Enter submits, in order: the field
# (``#id`` or label), what is typed there, and where the submission lands.
@pytest.mark.parametrize(
    ("path", "forms"),
    [
        pytest.param(
            "/incidents",
            [("Title", "Declared with Enter", "/incidents/2?done=declared")],
            id="incident-list",
        ),
        pytest.param(
            "/incidents/1",
            [
                ("#a-text", "Added with Enter", "/incidents/1?done=action#action-items"),
                ("#r-user", "carol", "/incidents/1?done=role"),
            ],
            id="incident-page",
        ),
    ],
)
async def test_incident_pages_by_keyboard_and_on_a_phone(
    base_url: str,  # noqa: F811
    app: web.Application,
    path: str,
    forms: list[tuple[str, str, str]],
) -> None:
    await _incident(_runtime(app))
    async with chromium(base=base_url) as page:
        await check_page(page, f"{base_url}{path}")
        for field, text, lands_on in forms:
            await enter_in(page, _field(page, field), text, f"{base_url}{lands_on}")


async def test_me_by_keyboard_and_on_a_phone(
    base_url: str,  # noqa: F811
    app: web.Application,
) -> None:
    runtime = _runtime(app)
    async with chromium(base=base_url) as page:
        # A second browser of Alice's, with a long user agent, to sign out from here.
        await runtime.sessions.open("web:Alice", "Alice", Access.ADMIN, "Mozilla/5.0 " * 12)
        await check_page(page, f"{base_url}/me")
        button = page.get_by_role("button", name="Sign out all other sessions (1)")
        await press_enter_on(page, button, f"{base_url}/me?done=others#sessions")
        assert len(await runtime.sessions.list_live("web:Alice")) == 1


async def test_admin_tokens_by_keyboard_and_on_a_phone(
    base_url: str,  # noqa: F811
) -> None:
    async with chromium(base=base_url) as page:
        await page.goto(f"{base_url}/admin/tokens")
        await page.get_by_label("Owner (person or service id)").fill("deploy-bot")
        await page.get_by_label("Name", exact=True).fill("deploys")
        await page.get_by_label("incidents:read").check()
        await page.get_by_label("Name", exact=True).press("Enter")
        await page.locator("#secret").wait_for()
        await check_page(page, f"{base_url}/admin/tokens")


async def test_admin_audit_by_keyboard_and_on_a_phone(
    base_url: str,  # noqa: F811
    app: web.Application,
) -> None:
    await _incident(_runtime(app))
    async with chromium(base=base_url) as page:
        await check_page(page, f"{base_url}/admin/audit")
        actor = page.get_by_label("Actor")
        await enter_in(page, actor, "web:Alice", f"{base_url}/admin/audit?actor=web%3AAlice**")
        verify = page.get_by_role("button", name="Verify the whole chain")
        await press_enter_on(page, verify, f"{base_url}/admin/audit/verify**")
        await check_page(page, f"{base_url}/admin/audit/verify")
