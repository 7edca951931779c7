"""Web UI login, session cookie, CSRF and the disabled state, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.ports import FixedClock
from bot.runtime import Runtime
from integrations.web import session as sess
from tests.conftest import API_TOKEN
from tests.web.support import Browser, Client, declare, logged_in

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_root_redirects_to_the_incident_list(client: Client) -> None:
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/incidents"


@pytest.mark.parametrize("path", ["/incidents", "/incidents/1", "/incidents/1/postmortem.md"])
async def test_pages_send_strangers_to_login(client: Client, path: str) -> None:
    resp = await client.get(path, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"].startswith("/login?next=%2Fincidents")
    login = await client.get(resp.headers["Location"])
    body = await login.text()
    assert login.status == 200
    assert '<label for="token">API token</label>' in body
    assert f'name="next" value="{path}"' in body


async def test_login_sets_a_hardened_session_cookie(client: Client) -> None:
    browser = Browser(client)
    resp = await browser.login("alice")
    assert resp.status == 303
    assert resp.headers["Location"] == "/incidents"
    morsel = resp.cookies[sess.COOKIE]
    assert morsel["httponly"] is True
    assert morsel["secure"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["max-age"] == str(12 * 3600)
    assert morsel["path"] == "/"
    _nonce, mac = morsel.value.rsplit(".", 1)
    assert len(mac) == 64 and int(mac, 16) >= 0
    assert API_TOKEN not in morsel.value
    status, body = await browser.get("/incidents")
    assert status == 200
    assert 'Signed in as <a href="/me"><strong>alice</strong></a>' in body


async def test_wrong_token_is_401_and_sets_nothing(client: Client) -> None:
    resp = await Browser(client).login("mallory", token="guess")
    body = await resp.text()
    assert resp.status == 401
    assert "Set-Cookie" not in resp.headers
    assert "That token is not right." in body
    assert "guess" not in body  # the typed token is never echoed back
    assert 'value="mallory"' in body  # the name is kept so only the token needs retyping


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/incidents/7", "/incidents/7"),
        ("https://evil.example/", "/incidents"),
        ("//evil.example/", "/incidents"),
        ("/\\evil.example", "/incidents"),
    ],
)
async def test_login_returns_only_to_local_pages(client: Client, given: str, expected: str) -> None:
    resp = await client.post(
        "/login", data={"token": API_TOKEN, "next": given}, allow_redirects=False
    )
    assert resp.status == 303
    assert resp.headers["Location"] == expected


async def test_forged_and_expired_cookies_are_refused(client: Client, clock: FixedClock) -> None:
    browser = await logged_in(client)
    good = browser.cookie
    nonce, mac = good.rsplit(".", 1)
    for forged in (f"{nonce}.{'0' * 64}", f"x{nonce}.{mac}", "garbage", f"{nonce}."):
        browser.cookie = forged
        status, _ = await browser.get("/incidents")
        assert status == 303, forged
    browser.cookie = good
    clock.advance(hours=11, minutes=59)
    assert (await browser.get("/incidents"))[0] == 200
    clock.advance(minutes=1)
    assert (await browser.get("/incidents"))[0] == 303


async def test_rotating_the_token_ends_every_session(client: Client, settings: Settings) -> None:
    browser = await logged_in(client)
    settings.api_token = SecretStr("a-brand-new-token")
    status, _ = await browser.get("/incidents")
    assert status == 303
    resp = await browser.post("/incidents", {"title": "after rotation"})
    assert resp.status == 403


async def test_posts_without_the_csrf_token_are_refused(client: Client, runtime: Runtime) -> None:
    browser = await logged_in(client)
    other = await logged_in(client, "bob")
    incident = await declare(runtime)
    before = await runtime.service.detail("default", incident.number)
    for token in ("", "0" * 64, other.csrf):
        resp = await browser.post("/incidents", {"title": "forged"}, csrf=token)
        assert resp.status == 403, token
        assert "security token" in await resp.text()
        resp = await browser.post(f"/incidents/{incident.number}/notes", {"text": "x"}, csrf=token)
        assert resp.status == 403
    assert [i.title for i in await runtime.service.list("default")] == ["Checkout 500s"]
    assert await runtime.service.detail("default", incident.number) == before


async def test_posts_without_a_session_are_refused(client: Client, runtime: Runtime) -> None:
    resp = await client.post("/incidents", data={"title": "anonymous"}, allow_redirects=False)
    assert resp.status == 403
    assert await runtime.service.list("default") == []


async def test_logout_clears_the_cookie(client: Client) -> None:
    browser = await logged_in(client)
    resp = await browser.post("/logout", {})
    assert resp.status == 303
    assert resp.headers["Location"] == "/login"
    morsel = resp.cookies[sess.COOKIE]
    assert morsel.value == ""
    assert morsel["max-age"] == "0"


class TestDisabledWithoutToken:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"api_token": None}

    @pytest.mark.parametrize(
        ("method", "path"),
        [("GET", "/incidents"), ("GET", "/login"), ("POST", "/login"), ("GET", "/incidents/1")],
    )
    async def test_every_page_is_403(self, client: Client, method: str, path: str) -> None:
        resp = await client.request(
            method, path, data={"token": ""} if method == "POST" else None, allow_redirects=False
        )
        body = await resp.text()
        assert resp.status == 403
        assert resp.content_type == "text/html"
        assert "SITREP_API_TOKEN" in body
        assert "Set-Cookie" not in resp.headers


class TestPlainHttpDeployment:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"public_url": "http://sitrep.internal:8080"}

    async def test_cookie_is_not_secure(self, client: Client) -> None:
        resp = await Browser(client).login()
        assert resp.status == 303
        assert resp.cookies[sess.COOKIE]["secure"] == ""


# -- the pure session module ---------------------------------------------------------------


def test_a_shared_token_actor_is_the_cleaned_name_or_a_random_tag() -> None:
    assert sess.shared_actor("  Ada\x00 \n Lovelace ") == "web:Ada Lovelace"
    a, b = sess.shared_actor(""), sess.shared_actor("")
    assert a.startswith("web:") and len(a) > 6 and a != b


def test_a_cookie_carries_only_a_well_formed_secret_under_its_key() -> None:
    secret = "s" * 43
    cookie = sess.cookie_value("k", secret)
    assert sess.cookie_secret("k", cookie) == secret
    assert sess.cookie_secret("other", cookie) is None
    assert sess.cookie_secret("k", secret) is None
    bad = "s" * 42 + "!"
    assert sess.cookie_secret("k", sess.cookie_value("k", bad)) is None


def test_csrf_tokens_differ_per_session_and_purpose() -> None:
    a, b = sess.Session("a" * 43, NOW), sess.Session("b" * 43, NOW)
    cookie_a = sess.cookie_value("k", a.nonce)
    assert sess.csrf_token("k", a) != sess.csrf_token("k", b)
    assert sess.check_csrf("k", a, sess.csrf_token("k", a))
    assert not sess.check_csrf("k", a, sess.csrf_token("k", b))
    assert not sess.check_csrf("k", a, cookie_a.rsplit(".", 1)[1])
