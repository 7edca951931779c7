"""Authentication throttling over HTTP: the middleware around every credential check.

Handlers that check a credential say how it went with ``record_auth``; this middleware keys the
outcome by realm (which secret was guessed) and client, and answers 429 with ``Retry-After``
while a client is locked out, before any credential is looked at. The rules live in the pure
``bot.security.throttle``. Only wrong credentials count: a request without any is not a guess.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.config import Settings
from bot.runtime import RUNTIME
from bot.security.clients import IPNetwork, client_key, parse_networks
from bot.security.throttle import Throttle
from handlers.middleware import json_error
from integrations.web.layout import message_page

log = logging.getLogger(__name__)

# The web login and the API check the same token, so guesses at either count together.
TOKEN_REALM = "api-token"
_RESULT = web.RequestKey("auth_result", bool)
_LOGIN_CSP = "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'"


@dataclass
class AuthThrottle:
    """One app's throttle and who it trusts to say where a request came from."""

    throttle: Throttle
    trusted_proxies: tuple[IPNetwork, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthThrottle:
        """Built from ``SITREP_AUTH_THROTTLE_*`` and ``SITREP_TRUSTED_PROXIES``."""
        return cls(Throttle(settings.throttle_policy()), parse_networks(settings.trusted_proxies))

    def client(self, request: web.Request) -> str:
        """The client key of a request (see ``bot.security.clients``)."""
        forwarded = request.headers.getall("X-Forwarded-For", []) if self.trusted_proxies else []
        return client_key(request.remote, forwarded, self.trusted_proxies)


AUTH_THROTTLE = web.AppKey("auth_throttle", AuthThrottle)


def install(app: web.Application, settings: Settings) -> None:
    """Give the app its throttle (the middleware itself is listed in ``create_app``)."""
    app[AUTH_THROTTLE] = AuthThrottle.from_settings(settings)


def record_auth(request: web.Request, ok: bool) -> None:
    """Tell the throttle that this request's credential was right (True) or wrong (False)."""
    request[_RESULT] = ok


def _realm(request: web.Request) -> str | None:
    path = request.path
    if path.startswith("/api/"):
        return None if path == "/api/messages" else TOKEN_REALM
    if path == "/login" and request.method == "POST":
        return TOKEN_REALM
    if path.startswith("/webhooks/"):
        # One realm per source: each has its own secret.
        return "webhook:" + request.match_info.get("source", "")
    return None


@web.middleware
async def auth_throttle_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse locked-out clients with 429; count wrong credentials; forget them on success."""
    realm = _realm(request)
    guard = request.app.get(AUTH_THROTTLE)
    if realm is None or guard is None or not guard.throttle.policy.enabled:
        return await handler(request)
    throttle, clock = guard.throttle, request.app[RUNTIME].clock
    key: tuple[str, str] | None = None
    # The common case, nobody failing anywhere, costs one length check per request.
    if len(throttle):
        key = (realm, guard.client(request))
        wait = throttle.retry_after(key, clock.now().timestamp())
        if wait > 0:
            return _refusal(request, wait)
    try:
        return await handler(request)
    finally:
        result = request.get(_RESULT)
        if result is not None:
            key = key or (realm, guard.client(request))
            if result:
                throttle.success(key)
            else:
                lockout = throttle.failure(key, clock.now().timestamp())
                if lockout:
                    log.warning(
                        "too many wrong credentials; client locked out",
                        extra={"realm": realm, "client": key[1], "seconds": math.ceil(lockout)},
                    )


def _refusal(request: web.Request, wait: float) -> web.Response:
    seconds = math.ceil(wait)
    message = f"Too many wrong credentials from your address; try again in {seconds} s."
    resp: web.Response
    if request.path == "/login":
        page = message_page("Too many attempts", message, link='<a href="/login">Sign in</a>')
        resp = web.Response(text=page, status=429, content_type="text/html", charset="utf-8")
        resp.headers["Content-Security-Policy"] = _LOGIN_CSP
        resp.headers["Cache-Control"] = "no-store"
    else:
        resp = json_error(429, message, retry_after=seconds)
    resp.headers["Retry-After"] = str(seconds)
    return resp
