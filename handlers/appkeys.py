"""The aiohttp app keys every handler reads: the runtime the composition root stores."""

from __future__ import annotations

from aiohttp import web

from bot.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
