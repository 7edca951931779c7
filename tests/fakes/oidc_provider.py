"""A minimal OpenID Provider for unit tests: discovery, JWKS and a token endpoint.

It signs real RS256 ID tokens (joserfc) with whatever claims the test sets, so the relying
party's checks (signature, iss, aud, exp, nonce) run for real; the browser part of the flow
is left to tests/e2e/test_oidc_login.py and the real oidc-provider.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "sitrep-unit"
CLIENT_SECRET = "unit-client-secret-0123456789"


@dataclass
class FakeProvider:
    """The provider's state: its signing key, the next ID token's claims, what it was sent."""

    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    claims: dict[str, Any] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    # Sign with this key instead (a forger's), when set.
    signer: RSAKey | None = None

    def id_token(self) -> str:
        """The ID token the token endpoint answers with next."""
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300}
        claims |= self.claims
        signer = self.signer or self.key
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, signer)

    def app(self) -> web.Application:
        """The provider's HTTP endpoints."""

        async def discovery(request: web.Request) -> web.Response:
            return web.json_response(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "jwks_uri": f"{self.issuer}/jwks",
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                }
            )

        async def jwks(request: web.Request) -> web.Response:
            return web.json_response({"keys": [self.key.as_dict(private=False)]})

        async def token(request: web.Request) -> web.Response:
            form = {k: str(v) for k, v in (await request.post()).items()}
            form["authorization"] = request.headers.get("Authorization", "")
            self.token_requests.append(form)
            return web.json_response(
                {"access_token": "at", "token_type": "Bearer", "id_token": self.id_token()}
            )

        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", discovery)
        app.router.add_get("/jwks", jwks)
        app.router.add_post("/token", token)
        return app


@asynccontextmanager
async def running_provider() -> AsyncIterator[FakeProvider]:
    """A FakeProvider served on a loopback port."""
    fake = FakeProvider()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    fake.issuer = str(server.make_url("")).rstrip("/")
    try:
        yield fake
    finally:
        await server.close()


async def sign_in(client: TestClient[Any, Any], provider: FakeProvider, **claims: Any) -> str:
    """The whole sign-in against ``provider`` with an ID token carrying ``claims``: the new
    session cookie's value (the client's jar is left empty)."""
    from integrations.web import session as sess

    resp = await client.get("/login/oidc?next=/incidents", allow_redirects=False)
    assert resp.status == 303, await resp.text()
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    pending = resp.cookies[sess.PENDING_COOKIE].value
    provider.claims = {"nonce": query["nonce"][0], **claims}
    client.session.cookie_jar.clear()
    resp = await client.get(
        f"/login/oidc/callback?code=c&state={query['state'][0]}",
        headers={"Cookie": f"{sess.PENDING_COOKIE}={pending}"},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    client.session.cookie_jar.clear()
    return resp.cookies[sess.COOKIE].value
