"""Request middlewares: latency metrics, and errors as JSON with a message that says why."""

from __future__ import annotations

import logging
import time

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler

from bot.domain.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from handlers.appkeys import RUNTIME
from handlers.openapi_models import error_json

log = logging.getLogger(__name__)


def json_error(status: int, message: str, **extra: object) -> web.Response:
    """A JSON error body: ``{"error": message, ...}`` (an ``ErrorBody``, as documented)."""
    return web.json_response(error_json(message, **extra), status=status)


def status_for(exc: Exception) -> int:
    """The HTTP status for a refusal of the core's: 404, 403, 409, else 400."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, InvalidTransition | Conflict):
        return 409
    return 400


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map core errors to 4xx; never leak a traceback to the client."""
    # Postgres stores no NUL character, and no URL needs one: refuse it before any lookup.
    if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.query.items()):
        return json_error(400, "the URL must not contain NUL (%00) characters")
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            return json_error(exc.status, exc.reason if not exc.text else exc.text)
        raise
    except DomainError as exc:
        return json_error(status_for(exc), str(exc), **exc.details())
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return json_error(500, "internal error; see the server log")


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record latency per route template (not per URL, to keep label cardinality bounded)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        request.app[RUNTIME].telemetry.request_served(
            request.method, route, status, time.perf_counter() - started
        )


class _MalformedRequestFilter(logging.Filter):
    """aiohttp logs a request it cannot even parse (a control character in a header, a bad
    chunk size) at ERROR with a traceback, before any handler or credential check runs: anyone
    could fill the log with them. Keep one short INFO line instead; the client got its 400."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            reason = str(exc.message).strip().splitlines()[0][:120] if exc.message else ""
            record.msg = "malformed HTTP request refused (%s): %s"
            record.args = (exc.code, reason)
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


_MALFORMED = _MalformedRequestFilter()


def quiet_malformed_requests() -> None:
    """Install the filter on aiohttp's server logger (idempotent)."""
    logger = logging.getLogger("aiohttp.server")
    if _MALFORMED not in logger.filters:
        logger.addFilter(_MALFORMED)
