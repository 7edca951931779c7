"""A chat platform as the app wires it: routes mounted at build time, a context that runs it.

Every platform is wired the same way: ``mount`` adds its routes and state holder when the app
is built; ``context`` (an aiohttp cleanup context) starts its client and listeners, puts its
port in the runtime while it runs, and stops them again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Platform:
    """One chat platform's wiring."""

    name: str
    mount: Callable[[web.Application], None]
    context: Callable[[web.Application], AsyncIterator[None]]
