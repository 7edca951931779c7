"""Run the similar-incidents worker with the app (``bot.similar.worker``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from handlers.appkeys import RUNTIME


def install(app: web.Application) -> None:
    """Add the worker's cleanup context (nothing runs when the feature is off)."""
    app.cleanup_ctx.append(_similar_ctx)


async def _similar_ctx(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    similar = runtime.similar
    if similar is None:
        yield
        return
    stop = asyncio.Event()
    # Polls as often as the scheduler ticks: jobs a restart or the CLI left are found then.
    task = asyncio.create_task(similar.run_forever(stop, runtime.settings.scheduler_tick_seconds))
    yield
    stop.set()
    await task
