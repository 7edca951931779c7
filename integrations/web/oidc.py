"""OpenID Connect sign-in (authorization code + PKCE) against any provider with discovery.

authlib builds the requests and checks the ID token (signature from the provider's JWKS,
``iss``, ``aud``, ``exp``, ``nonce``, ``at_hash``); aiohttp carries them. Discovery and keys
are cached per process and the keys refetched once when a token names an unknown key, so a
provider's key rotation needs no restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import aiohttp
from authlib.common.security import generate_token
from authlib.common.urls import url_encode
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

if TYPE_CHECKING:
    from joserfc.jwk import KeySetSerialization

log = logging.getLogger(__name__)

_TIMEOUT = aiohttp.ClientTimeout(total=10)
# Clock skew allowed between us and the provider when checking exp/iat.
_LEEWAY = 120


class SignInFailed(Exception):
    """The provider's answer could not be trusted or used; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Start:
    """Where to send the browser, and what to remember until it comes back."""

    url: str
    state: str
    nonce: str
    verifier: str


@dataclass(frozen=True, slots=True)
class Config:
    """The client registration at the provider."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: str


class OidcClient:
    """One relying party: discovery, the authorization URL, and the code exchange."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None
        self._lock = asyncio.Lock()

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (fetched once)."""
        async with self._lock:
            if self._metadata is None:
                url = f"{self.config.issuer.rstrip('/')}/.well-known/openid-configuration"
                doc = await _get_json(url)
                issuer = str(doc.get("issuer", ""))
                # OIDC Discovery §4.3: the document must be for the issuer we were told.
                if issuer.rstrip("/") != self.config.issuer.rstrip("/"):
                    raise SignInFailed("the provider's discovery document names another issuer")
                for need in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(doc.get(need), str):
                        raise SignInFailed(f"the provider's discovery document lacks {need}")
                self._metadata = doc
            return self._metadata

    async def start(self, redirect_uri: str) -> Start:
        """A new authorization request with fresh state, nonce and PKCE verifier (S256)."""
        meta = await self.metadata()
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        url = prepare_grant_uri(
            meta["authorization_endpoint"],
            self.config.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=self.config.scopes,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        return Start(str(url), state, nonce, verifier)

    async def finish(
        self, code: str, redirect_uri: str, verifier: str, nonce: str, iss: str | None = None
    ) -> dict[str, Any]:
        """Trade the code for tokens and return the verified ID token's claims.

        ``iss`` is the authorization response's issuer (RFC 9207), when the provider sends one.
        """
        meta = await self.metadata()
        if iss is not None and iss != meta["issuer"]:
            # Another provider's answer, sent to us to mix the two up.
            raise SignInFailed("the sign-in answer came from another issuer")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        # Slack's token endpoint takes the client credentials only in the body.
        method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        auth = ClientAuth(self.config.client_id, self.config.client_secret, method)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        _, headers, body = auth.prepare(
            "POST", meta["token_endpoint"], headers, url_encode(list(form.items()))
        )
        token = await _post_form(meta["token_endpoint"], body, headers)
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed("the provider sent no ID token")
        claims = await self._verify(id_token, meta, nonce, token.get("access_token"))
        return claims

    async def _verify(
        self, id_token: str, meta: Mapping[str, Any], nonce: str, access_token: object
    ) -> dict[str, Any]:
        algs = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        # "none" would let anyone who can reach the callback write a token.
        registry = JWSRegistry(algorithms=[a for a in algs if a != "none"])
        try:
            try:
                decoded = jwt.decode(id_token, _key_set(await self._keys()), registry=registry)
            except InvalidKeyIdError:
                keys = _key_set(await self._keys(force=True))
                decoded = jwt.decode(id_token, keys, registry=registry)
            params: dict[str, Any] = {"nonce": nonce, "client_id": self.config.client_id}
            if isinstance(access_token, str):
                params["access_token"] = access_token
            options = {
                "iss": {"essential": True, "values": [meta["issuer"]]},
                "aud": {"essential": True, "values": [self.config.client_id]},
                "exp": {"essential": True},
                "nonce": {"essential": True, "value": nonce},
            }
            claims = CodeIDToken(decoded.claims, decoded.header, options, params)
            claims.validate(leeway=_LEEWAY)
        except (JoseError, ValueError) as exc:
            log.warning("OIDC ID token refused", extra={"reason": type(exc).__name__})
            raise SignInFailed("the provider's ID token did not verify") from None
        return dict(claims)

    async def _keys(self, *, force: bool = False) -> dict[str, Any]:
        if self._jwks is None or force:
            meta = await self.metadata()
            self._jwks = await _get_json(meta["jwks_uri"])
        return self._jwks


def _key_set(jwks: dict[str, Any]) -> KeySet:
    if not isinstance(jwks.get("keys"), list):
        raise ValueError("the provider's JWKS has no keys")
    return KeySet.import_key_set(cast("KeySetSerialization", jwks))


async def _get_json(url: str) -> dict[str, Any]:
    try:
        async with aiohttp.ClientSession(timeout=_TIMEOUT) as http, http.get(url) as resp:
            if resp.status != 200:
                raise SignInFailed(f"the provider answered {resp.status} for {url}")
            data = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise SignInFailed(f"the provider could not be reached ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise SignInFailed(f"the provider sent no JSON object from {url}")
    return data


async def _post_form(url: str, body: str, headers: Mapping[str, str]) -> dict[str, Any]:
    try:
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT) as http,
            http.post(url, data=body.encode(), headers=dict(headers)) as resp,
        ):
            data = await resp.json(content_type=None)
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise SignInFailed(f"the provider could not be reached ({type(exc).__name__})") from None
    if status != 200 or not isinstance(data, dict):
        # The provider's error code (e.g. invalid_grant) is safe to log; the body may hold more.
        error = data.get("error") if isinstance(data, dict) else None
        log.warning("OIDC token request refused", extra={"status": status, "error": error})
        raise SignInFailed("the provider refused to exchange the sign-in code")
    return data
