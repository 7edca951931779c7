"""Authentication throttling over HTTP: a cheap early refusal, and the check at the credential.

The middleware answers 429 with ``Retry-After`` to a locked-out client before its body is even
read. Handlers that check a credential pass the outcome to ``auth_throttled`` in the same step,
with no ``await`` in between: it counts the outcome, or refuses the request if the client got
locked out meanwhile, so a burst of concurrent guesses gets no more tries than sequential ones,
and a right credential is refused while locked out. Outcomes are keyed by realm (which secret
was guessed) and client. The rules live in the pure ``bot.security.throttle``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.config import Settings
from bot.security.clients import IPNetwork, client_key, parse_networks
from bot.security.throttle import Throttle
from handlers.appkeys import RUNTIME
from handlers.middleware import json_error
from integrations.web.layout import message_page

log = logging.getLogger(__name__)

# The web login and the API check the same token, so guesses at either count together.
TOKEN_REALM = "api-token"
# Refused sign-in answers from the identity provider (bad state, nonce, code or token): a flood
# of forged callbacks is locked out like wrong tokens, before it can flood the audit log.
OIDC_REALM = "oidc-callback"
OIDC_CALLBACK = "/login/oidc/callback"
WEBHOOK_REALM = "webhook:"
REASONS = {OIDC_REALM: "too many refused sign-in answers"}
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
# (realm, client, seconds) of a lockout this request started.
_LOCKOUT = web.RequestKey("sitrep_auth_lockout", tuple[str, str, int])


def install(app: web.Application, settings: Settings) -> None:
    """Give the app its throttle (the middleware itself is listed in ``create_app``)."""
    app[AUTH_THROTTLE] = AuthThrottle.from_settings(settings)


def auth_throttled(request: web.Request, ok: bool) -> web.Response | None:
    """Count a credential check (right when ``ok``); a 429 to send instead if locked out.

    Call it right after comparing the credential. Only wrong credentials should be reported as
    failures: a request without any is not a guess.
    """
    realm = _realm(request)
    guard = request.app.get(AUTH_THROTTLE)
    if realm is None or guard is None:
        return None
    throttle = guard.throttle
    # A right credential while nobody is failing anywhere costs one length check.
    if ok and not len(throttle):
        return None
    key = (realm, guard.client(request))
    now = request.app[RUNTIME].clock.now().timestamp()
    wait = throttle.retry_after(key, now)
    if wait > 0:
        return _refusal(request, wait)
    if ok:
        throttle.success(key)
        return None
    lockout = throttle.failure(key, now)
    if lockout:
        request[_LOCKOUT] = (realm, key[1], math.ceil(lockout))
        log.warning(
            "too many wrong credentials; client locked out",
            extra={"realm": realm, "client": key[1], "seconds": math.ceil(lockout)},
        )
    return None


async def audit_lockout(request: web.Request) -> None:
    """Append one audit entry if this request's wrong credential started a lockout.

    Once per lockout, not per refused request: a guesser's thousands of 401s and 429s would
    otherwise flood the chain, while the lockout alone says who was guessing, and when.
    """
    started = request.get(_LOCKOUT)
    if started is None:
        return
    realm, client, seconds = started
    runtime = request.app[RUNTIME]
    # Nobody is known yet; a webhook's source at least names whose secret was guessed.
    actor, surface, target = "anonymous", "web", ""
    if realm.startswith(WEBHOOK_REALM):
        actor, surface, target = realm, "webhook", f"client:{client}"
    elif request.path.startswith("/api/"):
        surface = "api"
    await runtime.audit.record(
        at=runtime.clock.now(),
        actor=actor,
        action="auth_lockout",
        surface=surface,
        target=target,
        detail={
            "realm": realm,
            "client": client,
            "seconds": seconds,
            "reason": REASONS.get(realm, "too many wrong credentials"),
        },
    )


def _realm(request: web.Request) -> str | None:
    path = request.path
    if path.startswith("/api/"):
        return None if path == "/api/messages" else TOKEN_REALM
    if path == "/login" and request.method == "POST":
        return TOKEN_REALM
    if path == OIDC_CALLBACK:
        return OIDC_REALM
    if path.startswith("/webhooks/"):
        # One realm per source: each has its own secret.
        return WEBHOOK_REALM + request.match_info.get("source", "")
    return None


@web.middleware
async def auth_throttle_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a locked-out client with 429 before any credential or body is looked at."""
    guard = request.app.get(AUTH_THROTTLE)
    if guard is None or not len(guard.throttle):
        return await handler(request)
    realm = _realm(request)
    if realm is not None:
        now = request.app[RUNTIME].clock.now().timestamp()
        wait = guard.throttle.retry_after((realm, guard.client(request)), now)
        if wait > 0:
            return _refusal(request, wait)
    return await handler(request)


def _refusal(request: web.Request, wait: float) -> web.Response:
    seconds = math.ceil(wait)
    message = f"Too many wrong credentials from your address; try again in {seconds} s."
    resp: web.Response
    if request.path in ("/login", OIDC_CALLBACK):
        page = message_page("Too many attempts", message, link='<a href="/login">Sign in</a>')
        resp = web.Response(text=page, status=429, content_type="text/html", charset="utf-8")
        resp.headers["Content-Security-Policy"] = _LOGIN_CSP
        resp.headers["Cache-Control"] = "no-store"
    else:
        resp = json_error(429, message, retry_after=seconds)
    resp.headers["Retry-After"] = str(seconds)
    return resp
