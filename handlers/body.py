"""Reading request bodies safely: bounded in size, JSON bounded in depth, forms that parse.

Every handler that reads a body goes through here, so a body that is too big (413), not JSON,
nested too deeply, not valid multipart or not in its declared charset (400) is answered with a
message that says so, and never reaches a handler as an exception it did not expect.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.domain.errors import InvalidCommand
from bot.domain.limits import MAX_OFFSET, parse_bounded_int
from integrations import jsonbody

log = logging.getLogger(__name__)

MAX_JSON_BODY = 256 * 1024
MAX_FORM_BODY = 256 * 1024
_JSON_TYPES = ("application/json", "")


def _json_failure(status: int, message: str, **extra: object) -> web.HTTPException:
    text = json.dumps({"error": message, **extra})
    if status == 413:
        return web.HTTPRequestEntityTooLarge(
            max_size=0, actual_size=0, text=text, content_type="application/json"
        )
    return web.HTTPBadRequest(text=text, content_type="application/json")


async def read_bytes(request: web.Request, limit: int) -> bytes:
    """The raw body; a JSON 413 when it is over ``limit`` bytes (declared or actual)."""
    too_big = f"body is over the {_size(limit)} limit"
    if request.content_length is not None and request.content_length > limit:
        raise _json_failure(413, too_big)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _json_failure(413, too_big) from None
    if len(body) > limit:
        raise _json_failure(413, too_big)
    return body


async def read_json(request: web.Request, limit: int = MAX_JSON_BODY) -> Any:
    """The body as JSON (an empty body is ``null``): 415 for another content type, 413 when
    too big, 400 when it is not JSON or nests too deeply."""
    if request.content_type not in _JSON_TYPES:
        raise web.HTTPUnsupportedMediaType(
            text=json.dumps({"error": f"expected application/json, got {request.content_type}"}),
            content_type="application/json",
        )
    raw = await read_bytes(request, limit)
    if not raw:
        return None
    try:
        return jsonbody.decode(raw)
    except jsonbody.JSONBodyError as exc:
        raise _json_failure(400, f"body is not valid JSON: {exc.message}") from None


class UnreadableForm(Exception):
    """A form body that cannot be read; ``message`` is safe to show to the sender."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


async def read_form(request: web.Request, limit: int = MAX_FORM_BODY) -> MultiDictProxy[Any]:
    """The body as a form (urlencoded or multipart); `UnreadableForm` when it cannot be parsed."""
    if request.content_length is not None and request.content_length > limit:
        raise UnreadableForm(f"the form is over the {_size(limit)} limit", 413)
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise UnreadableForm(f"the form is over the {_size(limit)} limit", 413) from None
    except (ValueError, LookupError, AssertionError, UnicodeError) as exc:
        # aiohttp raises these for a bad multipart boundary or part, bytes not in the declared
        # charset (UnicodeDecodeError), or a charset Python does not know (LookupError).
        log.info("form refused: %s", type(exc).__name__, extra={"path": request.path})
        raise UnreadableForm("the form could not be read; send it again from the page") from None
    # Postgres stores no NUL character; a browser never sends one in a form field.
    if any("\x00" in k or (isinstance(v, str) and "\x00" in v) for k, v in form.items()):
        raise UnreadableForm("the form contains a NUL character; remove it and send it again")
    return form


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"


def page_params(request: web.Request, max_limit: int) -> tuple[int, int]:
    """``limit`` (1..max_limit, default 100) and ``offset`` (0..MAX_OFFSET) from the query;
    a 400 naming the parameter when either is not an integer in range."""
    q = request.query
    try:
        limit = parse_bounded_int(q.get("limit", "100"), "limit", low=1, high=max_limit)
        offset = parse_bounded_int(q.get("offset", "0"), "offset", low=0, high=MAX_OFFSET)
    except InvalidCommand as exc:
        field = str(exc).partition(":")[0]
        raise _json_failure(400, str(exc), field=field) from None
    return limit, offset
