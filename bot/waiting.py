"""How the background workers idle between rounds."""

from __future__ import annotations

import asyncio


async def until_stop_or_wake(stop: asyncio.Event, wake: asyncio.Event, poll: float) -> None:
    """Return when ``stop`` or ``wake`` is set, or after ``poll`` seconds, whichever is first."""
    stop_wait = asyncio.ensure_future(stop.wait())
    wake_wait = asyncio.ensure_future(wake.wait())
    _, pending = await asyncio.wait(
        {stop_wait, wake_wait}, timeout=poll, return_when=asyncio.FIRST_COMPLETED
    )
    # The waits left pending would otherwise linger until their event is set.
    for task in pending:
        task.cancel()
