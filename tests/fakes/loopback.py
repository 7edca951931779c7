"""A fake outside service's HTTP server on loopback that can go down and come back.

``stop()`` closes the listening socket (clients then get *connection refused*, like a service
that is down); ``start()`` again serves on the same port, so the bot's configured URL keeps
working once the service is back. State survives a restart.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web


class LoopbackService:
    """Subclasses add their routes in ``routes``."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port = 0

    def routes(self, app: web.Application) -> None:
        """Add the service's routes."""
        raise NotImplementedError

    async def start(self) -> None:
        """Serve on the port used before, or a fresh ephemeral one the first time."""
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=True)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening (connections are refused); state stays."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``; stable across restarts."""
        if not self._port:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._port}"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
