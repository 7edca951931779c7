"""OpenID Connect sign-in: the redirect, the callback's checks, sessions and roles.

A fake provider (tests/fakes/oidc_provider.py) signs real ID tokens; the full browser flow
against the real oidc-provider is tests/e2e/test_oidc_login.py.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio
from aiohttp import ClientResponse
from joserfc.jwk import RSAKey

from bot.config import ConfigError, Settings, load_settings
from bot.identity.sessions import WebSession
from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.security.access import Access
from integrations.web import session as sess
from tests.conftest import API_TOKEN
from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider, running_provider
from tests.web.support import CSRF, Client, declare, provider_settings, session_for


@pytest_asyncio.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    async with running_provider() as fake:
        yield fake


@pytest.fixture
def settings_overrides(provider: FakeProvider) -> dict[str, Any]:
    return {
        **provider_settings(provider),
        "oidc_responder_groups": ["oncall"],
        "oidc_admin_groups": ["sre-leads"],
    }


async def _start(client: Client, next_path: str = "/incidents/1") -> tuple[dict[str, str], str]:
    """GET /login/oidc; the authorization request's parameters and the pending cookie."""
    resp = await client.get(f"/login/oidc?next={next_path}", allow_redirects=False)
    assert resp.status == 303, await resp.text()
    params = {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}
    return params, resp.cookies[sess.PENDING_COOKIE].value


async def _callback(
    client: Client, pending: str, state: str, code: str = "the-code", session: str = ""
) -> ClientResponse:
    client.session.cookie_jar.clear()
    cookie = f"{sess.PENDING_COOKIE}={pending}"
    if session:
        cookie += f"; {sess.COOKIE}={session}"
    return await client.get(
        f"/login/oidc/callback?code={code}&state={state}",
        headers={"Cookie": cookie},
        allow_redirects=False,
    )


async def _sign_in(
    client: Client, provider: FakeProvider, session: str = "", **claims: Any
) -> ClientResponse:
    params, pending = await _start(client)
    provider.claims = {"sub": "u1", "nonce": params["nonce"], **claims}
    return await _callback(client, pending, params["state"], session=session)


async def test_sign_in_sends_the_browser_to_the_provider_with_pkce_state_and_nonce(
    client: Client, provider: FakeProvider
) -> None:
    params, pending = await _start(client)
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["code_challenge_method"] == "S256"
    assert params["redirect_uri"].endswith("/login/oidc/callback")
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert set(params["scope"].split()) == {"openid", "profile", "email"}
    assert pending


async def test_callback_signs_the_person_in_with_a_verified_id_token(
    client: Client, provider: FakeProvider
) -> None:
    resp = await _sign_in(client, provider, name="Dana Ops", groups=["oncall"])
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == "/incidents/1"
    session = await _session(client, resp.cookies[sess.COOKIE].value)
    assert session is not None
    assert (session.person, session.name, session.role) == (
        f"oidc:{provider.issuer}#u1",
        "Dana Ops",
        Access.RESPONDER,
    )
    # The code was exchanged with the PKCE verifier and the client's credentials.
    sent = provider.token_requests[-1]
    assert sent["grant_type"] == "authorization_code" and sent["code"] == "the-code"
    assert len(sent["code_verifier"]) >= 43
    assert (
        sent["authorization"]
        == "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    )


async def test_callback_with_another_state_is_refused_and_signs_nobody_in(
    client: Client, provider: FakeProvider
) -> None:
    params, pending = await _start(client)
    provider.claims = {"sub": "u1", "nonce": params["nonce"]}
    resp = await _callback(client, pending, "not-the-state")
    assert resp.status == 400
    assert "does not match" in await resp.text()
    assert sess.COOKIE not in resp.cookies
    assert provider.token_requests == []


async def test_callback_without_the_pending_cookie_is_refused(
    client: Client, provider: FakeProvider
) -> None:
    params, _ = await _start(client)
    resp = await _callback(client, "", params["state"])
    assert resp.status == 400
    assert sess.COOKIE not in resp.cookies


async def test_id_token_with_another_nonce_is_refused_and_signs_nobody_in(
    client: Client, provider: FakeProvider
) -> None:
    params, pending = await _start(client)
    provider.claims = {"sub": "u1", "nonce": "a-replayed-nonce"}
    resp = await _callback(client, pending, params["state"])
    assert resp.status == 400
    assert "did not verify" in await resp.text()
    assert sess.COOKIE not in resp.cookies


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "some-other-client"},
        {"iss": "https://evil.example"},
        {"exp": 1_000_000_000, "iat": 999_999_000},
    ],
    ids=["other-audience", "other-issuer", "expired"],
)
async def test_id_token_for_someone_else_or_expired_is_refused(
    client: Client, provider: FakeProvider, claims: dict[str, Any]
) -> None:
    resp = await _sign_in(client, provider, **claims)
    assert resp.status == 400
    assert sess.COOKIE not in resp.cookies


async def test_id_token_signed_by_another_key_is_refused(
    client: Client, provider: FakeProvider
) -> None:
    provider.signer = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    resp = await _sign_in(client, provider)
    assert resp.status == 400
    assert sess.COOKIE not in resp.cookies


@pytest.mark.parametrize(
    ("given", "lands"),
    [
        ("/incidents/7", "/incidents/7"),
        ("//evil.example/x", "/incidents"),
        ("https://evil.example/", "/incidents"),
        ("/%2F%2Fevil.example", "/incidents"),
    ],
)
async def test_after_sign_in_only_a_local_path_is_returned_to(
    client: Client, provider: FakeProvider, given: str, lands: str
) -> None:
    from urllib.parse import quote

    params, pending = await _start(client, quote(given, safe=""))
    provider.claims = {"sub": "u1", "nonce": params["nonce"]}
    resp = await _callback(client, pending, params["state"])
    assert resp.status == 303
    assert resp.headers["Location"] == lands


async def test_signing_in_again_rotates_the_session(client: Client, provider: FakeProvider) -> None:
    first = (await _sign_in(client, provider)).cookies[sess.COOKIE].value
    # The browser still holds the first session's cookie when it signs in again.
    second = (await _sign_in(client, provider, session=first)).cookies[sess.COOKIE].value
    assert first != second
    a, b = [await _session(client, v) for v in (first, second)]
    # Only the newest is live: the sign-in revoked the session the browser held before.
    assert a is None and b is not None


async def test_the_shared_token_form_is_off_unless_switched_on(client: Client) -> None:
    page = await (await client.get("/login")).text()
    assert 'name="token"' not in page and "/login/oidc" in page
    resp = await client.post(
        "/login", data={"token": API_TOKEN, "name": "mallory"}, allow_redirects=False
    )
    assert resp.status == 403
    assert sess.COOKIE not in resp.cookies


# -- roles in the web UI -------------------------------------------------------------------


def _key() -> str:
    # Mirrors handlers.web._key for these settings: no session secret, no shared token.
    return "\0".join(["", "", CLIENT_SECRET])


def _now(client: Client) -> datetime:
    from handlers.appkeys import RUNTIME

    runtime: Runtime = client.app[RUNTIME]
    return runtime.clock.now()


async def _session(client: Client, cookie: str) -> WebSession | None:
    """The live server-side session a cookie opens."""
    from handlers.appkeys import RUNTIME

    secret = sess.cookie_secret(_key(), cookie)
    return await client.app[RUNTIME].sessions.check(secret) if secret else None


async def _as(client: Client, role: Access) -> tuple[dict[str, str], str]:
    from handlers.appkeys import RUNTIME

    runtime: Runtime = client.app[RUNTIME]
    actor = f"oidc:test#{role.label}"
    browser = await session_for(client, runtime, _key(), actor, role, f"A {role.label}")
    headers = browser.headers()
    page = await (await client.get("/incidents", headers=headers)).text()
    match = CSRF.search(page)
    assert match is not None
    return headers, match.group(1)


async def test_a_viewer_is_refused_every_action_with_a_clear_message(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime)
    headers, csrf = await _as(client, Access.VIEWER)
    forms = {
        "/incidents": {"title": "Viewer declares", "severity": "SEV3"},
        "/incidents/1/updates": {"text": "viewer update"},
        "/incidents/1/notes": {"text": "viewer note"},
        "/incidents/1/acknowledge": {},
        "/incidents/1/status": {"status": "resolved", "text": "x"},
    }
    for path, form in forms.items():
        resp = await client.post(
            path, data={**form, "csrf": csrf}, headers=headers, allow_redirects=False
        )
        assert resp.status == 403, path
        assert "this needs the responder role" in await resp.text()
    detail = await runtime.service.detail(runtime.settings.workspace, 1)
    assert detail.updates == [] and detail.incident.acknowledged_at is None
    assert len(await runtime.service.list(runtime.settings.workspace)) == 1


async def test_a_responder_acts_and_the_timeline_shows_their_name(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime)
    headers, csrf = await _as(client, Access.RESPONDER)
    resp = await client.post(
        "/incidents/1/notes",
        data={"text": "looking at the db", "csrf": csrf},
        headers=headers,
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    page = await (await client.get("/incidents/1", headers=headers)).text()
    assert "<td>A responder</td>" in page
    # The person, not their id: the stable id stays in the audit log.
    assert "oidc:test#responder" not in page


async def test_a_viewer_cannot_see_a_private_incident_in_the_list_or_by_url(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime, "Public outage")
    await declare(runtime, "Secret breach", private=True)
    viewer, _ = await _as(client, Access.VIEWER)
    listing = await (await client.get("/incidents", headers=viewer)).text()
    assert "Public outage" in listing and "Secret breach" not in listing
    for path in ("/incidents/2", "/incidents/2/postmortem.md", "/incidents/2/postmortem.json"):
        resp = await client.get(path, headers=viewer, allow_redirects=False)
        assert resp.status == 404, path
        assert "Secret breach" not in await resp.text()
    admin, _ = await _as(client, Access.ADMIN)
    assert (await client.get("/incidents/2", headers=admin)).status == 200


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"oidc_issuer": "https://slack.com"}, "SITREP_OIDC_CLIENT_ID"),
        ({"oidc_issuer": "https://slack.com", "oidc_client_id": "c"}, "SITREP_OIDC_CLIENT_SECRET"),
        ({"oidc_client_id": "c", "oidc_client_secret": "s"}, "SITREP_OIDC_ISSUER"),
    ],
)
def test_half_an_oidc_client_fails_at_start_naming_the_missing_key(
    given: dict[str, str], missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("SITREP_OIDC_ISSUER", "SITREP_OIDC_CLIENT_ID", "SITREP_OIDC_CLIENT_SECRET"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigError, match=f"^{missing}: required"):
        load_settings(_env_file=None, **given)


def test_settings_map_to_role_rules() -> None:
    s = Settings(
        _env_file=None,
        admins=["boss@example.com"],
        responders=["U123"],
        oidc_roles_claim="roles",
        oidc_admin_groups=["a"],
        web_default_role="responder",
    )
    rules = s.role_rules()
    assert rules.claim == "roles" and rules.admin_groups == {"a"}
    assert rules.admins == {"boss@example.com"} and rules.responders == {"U123"}
    assert rules.default is Access.RESPONDER


def test_a_session_cookie_is_bound_to_the_key_and_cannot_be_edited() -> None:
    cookie = sess.cookie_value("k", "A" * 43)
    assert sess.cookie_secret("k", cookie) == "A" * 43
    assert sess.cookie_secret("other-key", cookie) is None
    assert sess.cookie_secret("k", "B" + cookie[1:]) is None
    assert sess.cookie_secret("k", "junk") is None


async def test_sign_out_clears_the_session_cookie(client: Client) -> None:
    headers, csrf = await _as(client, Access.VIEWER)
    resp = await client.post("/logout", data={"csrf": csrf}, headers=headers, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/login"
    cleared = resp.cookies[sess.COOKIE]
    assert cleared.value == "" and cleared["max-age"] == "0"


async def test_oidc_sign_ins_and_their_refusals_land_in_the_audit_chain(
    client: Client, provider: FakeProvider, runtime: Runtime
) -> None:
    params, pending = await _start(client)
    await _callback(client, pending, "not-the-state")
    params, pending = await _start(client)
    provider.claims = {"sub": "u1", "nonce": "a-replayed-nonce"}
    await _callback(client, pending, params["state"], code="secret-code-1")
    resp = await _sign_in(client, provider, name="Dana Ops", groups=["sre-leads"])
    assert resp.status == 303

    entries = await runtime.audit.all()
    got = [(e.action, e.actor, e.surface, e.detail.get("reason", "")) for e in entries]
    assert got == [
        ("sign_in_failed", "anonymous", "web", "state mismatch"),
        ("sign_in_failed", "anonymous", "web", "the provider's ID token did not verify"),
        ("sign_in", f"oidc:{provider.issuer}#u1", "web", ""),
    ]
    assert entries[-1].detail == {"method": "oidc", "role": "admin"}
    assert "secret-code-1" not in repr(entries) and CLIENT_SECRET not in repr(entries)


async def test_refused_callbacks_lock_the_client_out_and_stop_filling_the_audit_log(
    client: Client, provider: FakeProvider, runtime: Runtime, clock: FixedClock
) -> None:
    params, pending = await _start(client)
    provider.claims = {"sub": "u1", "nonce": params["nonce"]}
    statuses = []
    for i in range(50):
        statuses.append((await _callback(client, pending, f"forged-state-{i}")).status)
    assert statuses.count(400) == 10 and statuses.count(429) == 40
    refused = await _callback(client, pending, "forged-again")
    assert refused.status == 429 and refused.headers["Retry-After"] == "30"
    assert "try again in 30 s" in await refused.text()
    # Even the right answer waits out the lockout.
    assert (await _callback(client, pending, params["state"])).status == 429
    assert provider.token_requests == []

    entries = await runtime.audit.all()
    actions = [e.action for e in entries]
    assert actions == ["sign_in_failed"] * 10 + ["auth_lockout"]
    assert entries[-1].detail["realm"] == "oidc-callback"
    assert entries[-1].surface == "web"

    clock.advance(seconds=30)
    resp = await _sign_in(client, provider)
    assert resp.status == 303 and sess.COOKIE in resp.cookies


async def test_a_good_sign_in_clears_the_clients_refused_callbacks(
    client: Client, provider: FakeProvider
) -> None:
    _, pending = await _start(client)
    for i in range(9):
        assert (await _callback(client, pending, f"forged-{i}")).status == 400
    assert (await _sign_in(client, provider)).status == 303
    _, pending = await _start(client)
    for i in range(9):
        assert (await _callback(client, pending, f"forged-{i}")).status == 400
    assert (await _sign_in(client, provider)).status == 303


async def test_a_bad_id_token_counts_as_a_refused_callback(
    client: Client, provider: FakeProvider
) -> None:
    for _ in range(10):
        params, pending = await _start(client)
        provider.claims = {"sub": "u1", "nonce": "not-the-nonce"}
        assert (await _callback(client, pending, params["state"])).status == 400
    params, pending = await _start(client)
    provider.claims = {"sub": "u1", "nonce": params["nonce"]}
    assert (await _callback(client, pending, params["state"])).status == 429
