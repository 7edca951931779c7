"""One copy of what every real-browser test needs: the system Chromium, its flags, the skips
when it or playwright is missing, the app served on loopback, and the keyboard walk.

Never run ``playwright install``: the tests launch Debian's chromium.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from aiohttp import web

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# A browser test's module sets ``pytestmark = MARKS`` (or adds its own skips to them).
MARKS = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} missing: apt-get install chromium"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="playwright missing: pip install -e '.[dev]' (never `playwright install`)",
    ),
]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Plain http on loopback: a Secure cookie would not come back over http://127.0.0.1."""
    return {"public_url": ""}


@pytest_asyncio.fixture
async def base_url(app: web.Application) -> AsyncIterator[str]:
    """The real app on a loopback port, as sitrep serves itself; its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def launch() -> AsyncIterator[Browser]:
    """A fresh headless system Chromium, closed on the way out."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


# Marks every control a keyboard user should reach (one stop per radio group, as browsers
# make them; nothing inside a closed <details> but its summary) and returns their keys in
# document order.
_MARK = """() => {
  const sel = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]),'
    + ' select:not([disabled]), textarea:not([disabled]), summary,'
    + ' [tabindex]:not([tabindex="-1"])';
  const keys = [];
  document.querySelectorAll(sel).forEach((el, i) => {
    if (el.closest('details:not([open])') && el.tagName !== 'SUMMARY') { return; }
    if (el.getClientRects().length === 0 && !el.classList.contains('skip')) { return; }
    if (getComputedStyle(el).visibility === 'hidden') { return; }
    const key = el.type === 'radio' ? 'radio:' + el.name : 'k' + i;
    el.dataset.kb = key;
    if (!keys.includes(key)) { keys.push(key); }
  });
  return keys;
}"""

# Focus a marker at the top of the body that Tab never returns to, whatever has autofocus.
_START = """() => {
  const t = document.createElement('span'); t.id = 'tab-start'; t.tabIndex = -1;
  document.body.prepend(t); t.focus(); window.scrollTo(0, 0);
}"""

# What has focus now, and whether a sighted keyboard user can see where it is: an outline at
# least ``minOutline`` px wide or a box shadow.
_FOCUSED = """(minOutline) => {
  const el = document.activeElement;
  if (!el || el === document.body || el.id === 'tab-start') { return null; }
  const st = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  const outline = st.outlineStyle !== 'none' ? parseFloat(st.outlineWidth) : 0;
  return {key: el.dataset.kb || el.tagName,
    ring: (outline > 0 && outline >= minOutline) || st.boxShadow !== 'none',
    inside: r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= innerWidth + 1,
    what: el.outerHTML.slice(0, 120)};
}"""


@dataclass
class TabWalk:
    """The controls a keyboard user should reach, and where each Tab press put the focus."""

    expected: list[str]
    stops: list[dict[str, Any]]

    def reached(self) -> list[str]:
        """The expected controls Tab reached, in the order it reached them."""
        order: list[str] = []
        for stop in self.stops:
            if stop["key"] in self.expected and stop["key"] not in order:
                order.append(stop["key"])
        return order

    async def missed_html(self, page: Page) -> list[str]:
        """The start of the markup of (up to five) expected controls Tab never reached."""
        missed = [k for k in self.expected if k not in self.reached()][:5]
        html: list[str] = await page.evaluate(
            "keys => keys.map(k => document.querySelector(`[data-kb='${k}']`).outerHTML"
            ".slice(0, 100))",
            missed,
        )
        return html


async def tab_walk(page: Page, *, min_outline: float = 0) -> TabWalk:
    """Tab from the top of the page until focus leaves it or wraps to the first control."""
    await page.evaluate(_START)
    expected: list[str] = await page.evaluate(_MARK)
    stops: list[dict[str, Any]] = []
    for _ in range(len(expected) * 3 + 10):
        await page.keyboard.press("Tab")
        now = await page.evaluate(_FOCUSED, min_outline)
        if now is None or (stops and now["key"] == stops[0]["key"]):
            break
        stops.append(now)
    return TabWalk(expected, stops)
