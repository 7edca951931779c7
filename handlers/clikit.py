"""What every ``sitrep`` command shares: output consoles, the operator, and running the core.

It lives apart from ``handlers.cli`` so the sub-apps that ``handlers.cli`` mounts (alerts,
maintenance) can use it without importing the module that imports them. It is part of the
composition root: ``run`` builds the storage-backed runtime and migrates it.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import typer
from rich.console import Console

from bot.config import ConfigError, Settings, load_settings
from bot.domain.decide import Actor
from bot.domain.errors import DomainError
from bot.runtime import Runtime
from handlers.compose import build_runtime

T = TypeVar("T")

out = Console()
err = Console(stderr=True)


def fail(message: str) -> NoReturn:
    """One line to stderr, exit 2."""
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    raise typer.Exit(2)


def settings() -> Settings:
    """Load settings or fail with the one-line config error."""
    try:
        return load_settings()
    except ConfigError as exc:
        fail(str(exc))


def actor() -> Actor:
    """The local operator; trusted because they hold the database."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "operator"
    return Actor(id=f"cli:{user}", display=user, trusted=True)


def run(fn: Callable[[Runtime], Awaitable[T]]) -> T:
    """Build the runtime (migrating if needed), run ``fn``, report core errors cleanly."""
    # Imported here, not at the top: alembic is slow to load and most commands never need it.
    from storage.migrate import upgrade

    runtime = build_runtime(settings())

    async def main() -> T:
        try:
            return await fn(runtime)
        finally:
            runtime.db.close()

    try:
        upgrade(runtime.db.engine)
        return asyncio.run(main())
    except DomainError as exc:
        fail(str(exc))
    except Exception as exc:  # database unreachable and the like: one line, not a traceback
        if isinstance(exc, typer.Exit):
            raise
        fail(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
