"""Security headers on every response, whichever handler (or library) produced it.

Set in ``on_response_prepare``, so errors raised as exceptions, Slack Bolt's and the Teams SDK's
answers and streamed exports carry them too.
"""

from __future__ import annotations

from aiohttp import web

from handlers.appkeys import RUNTIME

# A year, the usual minimum for HSTS preload lists. Subdomains are left alone: sitrep often
# lives under a company domain whose other hosts it has no say over.
HSTS = "max-age=31536000"


def install(app: web.Application) -> None:
    """Add the security headers to every response of ``app``."""
    app.on_response_prepare.append(_add_headers)


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    # Browsers must not guess a type other than the one declared: a JSON error that echoes
    # input must never be sniffed into HTML.
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Browsers ignore HSTS over plain http; sending it only when the public URL is https keeps
    # a local http deployment reachable.
    if request.app[RUNTIME].settings.public_url.lower().startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
