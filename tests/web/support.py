"""A tiny form-posting browser over the test client: keeps the session cookie and CSRF token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Incident
from bot.runtime import Runtime
from bot.security.access import Access
from integrations.web import session as sess
from integrations.web.session import COOKIE
from tests.conftest import API_TOKEN
from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider

Client = TestClient[Any, Any]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
OPERATOR = Actor(id="cli:test", trusted=True)
# Settings for tests that sign people in (sessions of their own, each with a role): that needs
# OIDC configured, though no provider is contacted; plain http; no shared-token sign-in.
PEOPLE_SECRET = "client-secret"
PEOPLE_SETTINGS: dict[str, Any] = {
    "public_url": "",
    "web_shared_token_login": False,
    "oidc_issuer": "http://127.0.0.1:9/idp",
    "oidc_client_id": "sitrep",
    "oidc_client_secret": PEOPLE_SECRET,
}
# The session MAC key handlers.web derives from PEOPLE_SETTINGS (for ``session_for``).
PEOPLE_KEY = "\0".join(["", "", PEOPLE_SECRET])


def provider_settings(provider: FakeProvider) -> dict[str, Any]:
    """Sign-in through the fake OpenID provider only, over plain http."""
    return {
        "public_url": "",
        "web_shared_token_login": False,
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
    }


@dataclass
class Browser:
    """Logs in once, then sends the cookie (and the page's CSRF token) explicitly.

    The cookie is sent by hand because the test server is plain http and the cookie is
    ``Secure`` (public_url is https in the test settings), so the client's jar would drop it.
    """

    client: Client
    cookie: str = ""
    csrf: str = ""

    async def login(self, name: str = "alice", token: str = API_TOKEN) -> ClientResponse:
        """POST /login; on success remember the cookie and fetch a CSRF token."""
        resp = await self.client.post(
            "/login", data={"token": token, "name": name}, allow_redirects=False
        )
        if COOKIE in resp.cookies:
            self.cookie = resp.cookies[COOKIE].value
            self.client.session.cookie_jar.clear()
            status, body = await self.get("/incidents")
            assert status == 200, body
            match = CSRF.search(body)
            assert match is not None
            self.csrf = match.group(1)
        return resp

    def headers(self) -> dict[str, str]:
        """The Cookie header for this session."""
        return {"Cookie": f"{COOKIE}={self.cookie}"} if self.cookie else {}

    async def get(self, path: str) -> tuple[int, str]:
        """GET without following redirects; status and body."""
        resp = await self.client.get(path, headers=self.headers(), allow_redirects=False)
        return resp.status, await resp.text()

    async def post(
        self, path: str, data: dict[str, str], *, csrf: str | None = None
    ) -> ClientResponse:
        """POST a form with this session's CSRF token (or the one given; "" for none)."""
        token = self.csrf if csrf is None else csrf
        form = {**data, "csrf": token} if token else dict(data)
        return await self.client.post(
            path, data=form, headers=self.headers(), allow_redirects=False
        )


async def session_for(
    client: Client, runtime: Runtime, key: str, actor: str, role: Access, name: str = ""
) -> Browser:
    """A browser holding a fresh server-side session for ``actor`` (as a sign-in opens one).

    ``key`` is the session MAC key handlers.web derives from the settings.
    """
    _, secret = await runtime.sessions.open(actor, name or actor, role)
    session = sess.Session(secret, runtime.clock.now())
    return Browser(
        client, cookie=sess.cookie_value(key, secret), csrf=sess.csrf_token(key, session)
    )


async def logged_in(client: Client, name: str = "alice") -> Browser:
    """A browser with a fresh session."""
    browser = Browser(client)
    resp = await browser.login(name)
    assert resp.status == 303, await resp.text()
    return browser


async def declare(runtime: Runtime, title: str = "Checkout 500s", **kw: Any) -> Incident:
    """Declare through the service (the way chat or the CLI would)."""
    outcome = await runtime.service.declare(
        runtime.settings.workspace, c.Declare(title=title, **kw), OPERATOR
    )
    return outcome.incident


async def sign_in_by_keyboard(page: Any, name: str | None = "Alice") -> None:
    """On the login page, sign in with the keyboard alone: type the shared token into the
    autofocused field, Tab to the name (unless ``name`` is None), Enter.

    Autofocus lands after the load event; on a busy machine, keys typed at once go nowhere,
    so wait until the token field has focus (which also proves the autofocus).
    """
    from playwright.async_api import expect

    await expect(page.locator("#token")).to_be_focused()
    await page.keyboard.type(API_TOKEN)
    if name is not None:
        await page.keyboard.press("Tab")
        await page.keyboard.type(name)
    await page.keyboard.press("Enter")
