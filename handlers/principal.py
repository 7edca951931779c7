"""Who an authenticated API request acts as."""

from __future__ import annotations

from aiohttp import web

from bot.domain.decide import Actor
from bot.identity.tokens import ApiToken

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
