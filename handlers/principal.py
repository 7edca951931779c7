"""Who an authenticated API request acts as."""

from __future__ import annotations

from aiohttp import web

from bot.domain.decide import Actor
from bot.identity.tokens import ApiToken, Scope
from bot.security.membership import EVERYONE, Reader
from handlers.appkeys import RUNTIME

# The personal or service token a request authenticated with (absent for the shared token).
API_TOKEN = web.RequestKey("api_token", ApiToken)


def api_actor(request: web.Request) -> Actor:
    """A token's owner, or the name the shared-token holder gives in ``X-Sitrep-Actor``."""
    if API_TOKEN in request:
        return request[API_TOKEN].actor()
    name = request.headers.get("X-Sitrep-Actor", "").strip()[:100] or "api"
    return Actor(
        id=f"api:{name}" if not name.startswith("api") else name, trusted=True, surface="api"
    )


def api_reader(request: web.Request) -> Reader:
    """Whose eyes an API request reads with: the shared ``SITREP_API_TOKEN`` is the operator's
    (an admin); a token is its owner's — an admin if it carries the admin scope or the owner
    is in SITREP_ADMINS, otherwise a member only of the private incidents the owner is on."""
    if API_TOKEN not in request:
        return EVERYONE
    token = request[API_TOKEN]
    admins = request.app[RUNTIME].service.policy.admins
    return Reader.of(token.owner, admin=token.allows(Scope.ADMIN) or token.owner in admins)
