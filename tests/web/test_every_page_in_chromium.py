"""Every HTML page of the web UI, in Chromium, on a desktop and a phone, by keyboard.

The pages are not a hand-kept list: every GET route on the app's router is swept, unless it
is one of ``EXCLUDED`` (machine endpoints, exports, redirects), each with its reason; the test
fails for an exclusion that no longer names a route, and for a swept route that does not
answer HTML, so a new page cannot be forgotten and a new JSON route must be excluded by name.

Each page, at 1280x800 and at 375x667, signed in as an admin (a server-side session, as a
sign-in opens one) over seeded data (an alert-born incident with timeline, stakeholder
updates, action items, postmortem sections; an API token; audit entries): answers 200 with no
console error, scrolls nowhere sideways, has one ``<main>`` and one ``<h1>``, Tab reaches
every interactive element, each with a visible focus indicator, every form control and link
has an accessible name, and every image or SVG a text alternative (or is hidden from
assistive technology). Skips like tests/web/test_browser.py when chromium or playwright is
missing; never run ``playwright install``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp import web

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Role, Status
from bot.runtime import Runtime
from bot.security.access import Access
from handlers.appkeys import RUNTIME
from integrations.web import session as sess
from tests.alerts.support import AM_TOKEN, am_headers, fixture
from tests.conftest import API_TOKEN
from tests.web.browser import MARKS, base_url, launch, tab_walk

if TYPE_CHECKING:
    from playwright.async_api import Page, ViewportSize

__all__ = ["base_url"]
pytestmark = MARKS

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 667}
OIDC_SECRET = "client-secret-sweep"
ADMIN = "web:Ada"

# GET routes that are not pages, by their canonical path, and why. Each must still exist.
EXCLUDED: dict[str, str] = {
    "/": "redirects to /incidents",
    "/healthz": "health probe (JSON)",
    "/readyz": "readiness probe (JSON)",
    "/metrics": "Prometheus exposition (text)",
    "/assets/{name}": "the stylesheet, script and icons",
    "/login/oidc": "redirects to the OpenID provider",
    "/login/oidc/callback": "the provider's redirect back (tests/web/test_oidc.py)",
    "/admin/audit.{fmt}": "audit log downloads (CSV, JSON)",
    "/incidents/{number}/postmortem/timeline.svg": "the timeline picture (SVG) that Notion embeds",
    "/api/incidents": "JSON API",
    "/api/incidents/{ref}": "JSON API",
    "/api/incidents/{ref}/timeline": "JSON API",
    "/api/incidents/{ref}/postmortem": "JSON API (postmortem export)",
    "/api/tokens": "JSON API",
    "/api/audit": "JSON API",
    "/api/openapi.json": "the OpenAPI document (JSON)",
    "/api/search": "JSON API",
    "/api/stats": "JSON API",
    "/api/alerts": "JSON API",
    "/api/maintenance": "JSON API",
}
# Path parameters and queries that make each page show seeded data: INC-1 resolved (its
# postmortem written, reviewable), INC-2 open (every incident form shown); the HTML export.
PARAMS = {"number": ("1", "2"), "fmt": ("html",)}
QUERIES = {"/search": "?q=checkout", "/admin/audit": "?incident=INC-1"}
# Pages that are seen signed out (every other page would send a signed-out visitor there).
SIGNED_OUT = {"/login"}

# Everything checked without the keyboard: landmarks, width, names, text alternatives.
_STATIC = """() => {
  const doc = document.documentElement;
  const name = el => {
    const by = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
      .map(id => (document.getElementById(id) || {}).textContent || '').join(' ');
    const labels = [...(el.labels || [])].map(l => l.textContent).join(' ');
    const alts = [...el.querySelectorAll('img[alt], svg[aria-label]')]
      .map(i => i.getAttribute('alt') || i.getAttribute('aria-label')).join(' ');
    return [el.getAttribute('aria-label'), by, labels, el.getAttribute('title'),
      ['submit', 'button', 'reset'].includes(el.type) ? el.value : '',
      ['A', 'BUTTON', 'SUMMARY'].includes(el.tagName) ? el.textContent + alts : '']
      .filter(Boolean).join(' ').trim();
  };
  const controls = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
  const nameless = [...document.querySelectorAll(controls)].filter(el => !name(el))
    .map(el => el.outerHTML.slice(0, 120));
  const hidden = el => el.closest('[aria-hidden="true"]') !== null;
  const pictures = [
    ...[...document.querySelectorAll('img')].filter(i => !i.hasAttribute('alt')),
    ...[...document.querySelectorAll('svg')].filter(s => !hidden(s)
      && !(s.getAttribute('aria-label') || s.getAttribute('aria-labelledby')
        || (s.querySelector(':scope > title') || {}).textContent)),
  ].map(el => el.outerHTML.slice(0, 120));
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > innerWidth + 1)
    .map(el => el.tagName + '.' + el.className).slice(0, 5);
  return {main: document.querySelectorAll('main, [role=main]').length,
    h1: document.querySelectorAll('h1').length, scroll: doc.scrollWidth,
    width: innerWidth, wide: wide, nameless: nameless, pictures: pictures};
}"""


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Plain http on loopback (a Secure cookie would not come back over http://127.0.0.1);
    # OIDC configured (no provider is contacted) so the sign-in page shows both ways in;
    # Alertmanager's token so an alert can open the incident.
    return {
        "public_url": "",
        "oidc_issuer": "http://127.0.0.1:9/idp",
        "oidc_client_id": "sitrep",
        "oidc_client_secret": OIDC_SECRET,
        "alertmanager_token": AM_TOKEN,
        "alert_settle_seconds": 0,
    }


def page_paths(app: web.Application) -> Iterator[str]:
    """Every GET route on the router that is not in ``EXCLUDED``, its parameters filled."""
    canonical = sorted(
        {r.resource.canonical for r in app.router.routes() if r.method == "GET" and r.resource}
    )
    gone = set(EXCLUDED) - set(canonical)
    assert not gone, f"EXCLUDED names routes that no longer exist: {sorted(gone)}"
    for path in canonical:
        if path in EXCLUDED:
            continue
        names = re.findall(r"\{(\w+)[^}]*\}", path)
        missing = [n for n in names if n not in PARAMS]
        assert not missing, f"{path}: add a value for {missing} to PARAMS"
        for values in itertools.product(*(PARAMS[n] for n in names)):
            filled = path
            for value in values:
                filled = re.sub(r"\{\w+[^}]*\}", value, filled, count=1)
            yield filled + QUERIES.get(path, "")


async def _seed(runtime: Runtime[Any], base: str) -> None:
    """An incident an alert opened, worked and resolved, with everything a page can show."""
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/webhooks/alertmanager",
            data=fixture("alertmanager_payload.json"),
            headers=am_headers(),
        ) as r:
            assert r.status in (200, 202), await r.text()
        token = {"Authorization": f"Bearer {API_TOKEN}"}
        for owner, name in (("deploy-bot", "deploys"), (ADMIN, "ada-laptop")):
            body = {"owner": owner, "name": name, "scopes": ["incidents:read"]}
            async with http.post(f"{base}/api/tokens", json=body, headers=token) as r:
                assert r.status == 201, await r.text()
    ws, bob = runtime.settings.workspace, Actor(id="U_BOB", display="Bob")
    long_word = "checkout-eu-west-1-" * 8
    for cmd in (
        c.AssignRole(Role.COMMANDER, "U_BOB"),
        c.Acknowledge(),
        c.ChangeStatus(Status.IDENTIFIED, f"Bad deploy {long_word}"),
        c.PostUpdate("Rolling back the 14:02 checkout deploy; next update in 30 minutes."),
        c.AddNote("x" * 200),
        c.AddActionItem("Add a canary stage to checkout deploys", "carol", None),
        c.AddActionItem("Alert on the checkout 5xx rate", None, None),
        c.EditField("impact", "**A third** of EU checkouts failed for 40 minutes."),
        c.EditField("root_cause", "A config flag `checkout.v2` shipped on by default."),
        c.EditField("lessons", "- Canary first\n- [Runbook](https://runbooks.example/checkout)"),
        c.ChangeStatus(Status.MONITORING),
        c.ChangeStatus(Status.RESOLVED, "Rolled back"),
    ):
        runtime.clock.advance(minutes=5)  # type: ignore[attr-defined]
        await runtime.service.execute(ws, 1, cmd, bob)
    await runtime.service.execute(ws, 1, c.SetActionItemDone(1, True), bob)
    await runtime.service.declare(ws, c.Declare("Search is slow", "SEV2", "p95 at 4s"), bob)
    for cmd in (
        c.PostUpdate("Investigating slow search; next update in 30 minutes."),
        c.AddActionItem("Add an index on incident titles", "U_BOB", None),
    ):
        await runtime.service.execute(ws, 2, cmd, bob)


@dataclass
class Sweep:
    """What went wrong, page by page, so one run reports every failure at once."""

    problems: list[str] = field(default_factory=list)

    def check(self, ok: object, where: str, what: str) -> None:
        if not ok:
            self.problems.append(f"{where}: {what}")


async def _tab_through(page: Page, where: str, sweep: Sweep) -> None:
    """Tab from the top until focus leaves the page or wraps: every control, each visible."""
    walk = await tab_walk(page)
    unringed = [now["what"] for now in walk.stops if not now["ring"]]
    sweep.check(not unringed, where, f"no visible focus indicator on {unringed[:3]}")
    missed = len(walk.expected) - len(walk.reached())
    if missed:
        html = await walk.missed_html(page)
        sweep.check(False, where, f"Tab never reaches {missed} control(s): {html}")


async def _check(page: Page, url: str, where: str, sweep: Sweep) -> None:
    errors: list[str] = []

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            errors.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        resp = await page.goto(url)
        await page.wait_for_load_state("load")
    finally:
        page.remove_listener("console", on_console)
    status = resp.status if resp else None
    sweep.check(status == 200, where, f"answered {status}")
    content_type = (resp.headers.get("content-type", "") if resp else "").split(";")[0]
    sweep.check(content_type == "text/html", where, f"is {content_type!r}, not a page")
    got = await page.evaluate(_STATIC)
    sweep.check(not errors, where, f"console errors {errors}")
    sweep.check(got["main"] == 1, where, f"{got['main']} <main> landmarks")
    sweep.check(got["h1"] == 1, where, f"{got['h1']} <h1> headings")
    sweep.check(
        got["scroll"] <= got["width"],
        where,
        f"scrolls sideways ({got['scroll']} > {got['width']}; wide: {got['wide']})",
    )
    sweep.check(not got["nameless"], where, f"controls without a name: {got['nameless']}")
    sweep.check(not got["pictures"], where, f"pictures without text: {got['pictures']}")
    await _tab_through(page, where, sweep)


async def test_every_page_works_on_desktop_and_phone_by_keyboard(
    base_url: str,
    app: web.Application,
) -> None:
    runtime: Runtime[Any] = app[RUNTIME]
    await _seed(runtime, base_url)
    paths = list(page_paths(app))
    # A handful of pages at least: the sweep must not pass by sweeping nothing.
    assert {"/incidents", "/incidents/2", "/incidents/1/postmortem", "/login"} <= {
        p.split("?")[0] for p in paths
    }, paths
    _, secret = await runtime.sessions.open(ADMIN, "Ada", Access.ADMIN)
    key = "\0".join(["", API_TOKEN, OIDC_SECRET])
    cookie = {"name": sess.COOKIE, "value": sess.cookie_value(key, secret), "url": base_url}
    sweep = Sweep()
    async with launch() as browser:
        signed_in = await browser.new_context(viewport=DESKTOP)
        await signed_in.add_cookies([cookie])  # type: ignore[list-item]
        signed_out = await browser.new_context(viewport=DESKTOP)
        pages = {True: await signed_in.new_page(), False: await signed_out.new_page()}
        for path in paths:
            page = pages[path.split("?")[0] not in SIGNED_OUT]
            for size, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
                await page.set_viewport_size(size)
                await _check(page, f"{base_url}{path}", f"{path} ({label})", sweep)
    assert not sweep.problems, "\n".join(sweep.problems)
