"""A fake outside service's HTTP server on loopback that can go down and come back.

``stop()`` closes the listening socket (clients then get *connection refused*, like a service
that is down); ``start()`` again serves on the same port, so the bot's configured URL keeps
working once the service is back. State survives a restart.

Every request first passes the service's ``gate`` — its authentication, scripted throttling
and scripted faults, in the real API's order and answer shapes — unless its route is marked
``@ungated``. A gate or route refuses by returning its answer or raising ``Answer``;
``json_value``/``json_body`` read a body and refuse one the service could not take with the
service's own ``body_refusal``. A route marked ``@answer_may_be_lost`` has its success
replaced by the service's ``lost_answer`` when a dropped connection is scripted: the service
acted, the client never heard. ``ScriptedFaults`` holds the ``rate_limit_next``/``fail_next``
knobs a gate spends. Every request, to a path the service serves or not, meets the gate
first, as at a real API's front door.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

Route = TypeVar("Route", bound=Callable[..., Awaitable[web.StreamResponse]])

_UNGATED = "_loopback_ungated"
_LOSABLE = "_loopback_answer_may_be_lost"


class Answer(Exception):
    """Raised in a gate or a route: answer with ``response`` now."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__(response.status)
        self.response = response


class BodyProblem(enum.Enum):
    """Why a request body was refused, for the service to word in its own shape."""

    MEDIA_TYPE = "not application/json"
    NOT_JSON = "not JSON"
    NOT_OBJECT = "not a JSON object"


def ungated(route: Route) -> Route:
    """Mark a route the service answers without its gate (no credentials, no faults)."""
    setattr(route, _UNGATED, True)
    return route


def answer_may_be_lost(route: Route) -> Route:
    """Mark a create whose success ``lost_answer`` may replace (the answer lost in transit)."""
    setattr(route, _LOSABLE, True)
    return route


class ScriptedFaults:
    """The knobs ``rate_limit_next`` and ``fail_next``, which a gate spends with
    ``take_throttle`` and ``take_failure`` (in the order the real service checks)."""

    #: ``Retry-After`` sent when ``rate_limit_next`` names none; None sends no header.
    default_retry_after: str | None = "1"

    def __init__(self) -> None:
        super().__init__()
        self._rate_limited = 0
        self._retry_after = self.default_retry_after
        self._failing: list[int] = []

    def rate_limit_next(self, count: int = 1, *, retry_after: str | None = None) -> None:
        """Answer the next ``count`` requests with 429 (and ``Retry-After``)."""
        self._rate_limited += count
        self._retry_after = retry_after if retry_after is not None else self.default_retry_after

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status`` (an outage)."""
        self._failing += [status] * count

    def clear_faults(self) -> None:
        """Answer normally again (the outage is over)."""
        self._failing.clear()
        self._rate_limited = 0

    def take_throttle(self) -> dict[str, str] | None:
        """The headers of a scripted 429 if one is due (spending it), else None."""
        if not self._rate_limited:
            return None
        self._rate_limited -= 1
        return {"Retry-After": self._retry_after} if self._retry_after else {}

    def take_failure(self) -> int | None:
        """The status of a scripted failure if one is due (spending it), else None."""
        return self._failing.pop(0) if self._failing else None


class LoopbackService:
    """Subclasses add their routes in ``routes`` and their checks in ``gate``."""

    #: Must a body be sent as ``application/json`` (else ``BodyProblem.MEDIA_TYPE``)?
    json_media_type = False
    #: What an empty body reads as; ``b""`` is not JSON.
    empty_body = b""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port = 0

    def routes(self, app: web.Application) -> None:
        """Add the service's routes."""
        raise NotImplementedError

    async def gate(self, request: web.Request) -> web.StreamResponse | None:
        """Authentication, throttling and scripted faults; None lets the request through."""
        raise NotImplementedError

    def body_refusal(self, problem: BodyProblem) -> web.StreamResponse:
        """The service's own answer to a body it cannot take."""
        raise NotImplementedError

    def lost_answer(self) -> web.StreamResponse | None:
        """The answer instead of a create's success when a lost answer is scripted, else None."""
        return None

    async def json_value(self, request: web.Request) -> Any:
        """The request body as JSON of any kind; ``Answer`` with ``body_refusal`` if it is not."""
        if self.json_media_type and request.content_type != "application/json":
            raise Answer(self.body_refusal(BodyProblem.MEDIA_TYPE))
        try:
            return json.loads(await request.read() or self.empty_body)
        except ValueError:
            raise Answer(self.body_refusal(BodyProblem.NOT_JSON)) from None

    async def json_body(self, request: web.Request) -> dict[str, Any]:
        """The request body as a JSON object; ``Answer`` with ``body_refusal`` if it is not."""
        body = await self.json_value(request)
        if not isinstance(body, dict):
            raise Answer(self.body_refusal(BodyProblem.NOT_OBJECT))
        return body

    @web.middleware
    async def _gatekeeper(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        # The route as registered: aiohttp hands middlewares a wrapped handler.
        route = request.match_info.route.handler
        try:
            if not getattr(route, _UNGATED, False):
                refused = await self.gate(request)
                if refused is not None:
                    return refused
            response = await handler(request)
        except Answer as answer:
            return answer.response
        if getattr(route, _LOSABLE, False) and response.status < 300:
            lost = self.lost_answer()
            if lost is not None:
                return lost
        return response

    async def start(self) -> None:
        """Serve on the port used before, or a fresh ephemeral one the first time."""
        app = web.Application(middlewares=[self._gatekeeper])
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
