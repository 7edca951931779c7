"""Decoding untrusted JSON bodies: strict, and bounded in nesting depth.

Every inbound JSON body (the API, alert webhooks) is decoded here. Nesting is bounded because
the code that walks a decoded body (pydantic, the parsers, ``json.dumps`` when a payload is
stored) recurses, so a body of a few thousand ``[`` would otherwise end in a RecursionError
deep inside a handler: a 500 with a traceback instead of a 400 that says what is wrong.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["MAX_DEPTH", "NUL_MESSAGE", "JSONBodyError", "decode", "has_nul", "too_deep"]

# Real payloads nest a handful of levels (Alertmanager: body → alerts → alert → labels).
MAX_DEPTH = 32
_CONTAINERS = (dict, list)


class JSONBodyError(ValueError):
    """A body that is not acceptable JSON; the message says why, for a 400 answer."""

    def __init__(self, message: str, *, encoding: bool = False) -> None:
        super().__init__(message)
        self.message = message
        # True when the bytes are not JSON text at all (not UTF-8): some callers answer 415.
        self.encoding = encoding


def decode(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode ``body``; raise `JSONBodyError` when it is not JSON or nests too deeply."""
    try:
        # orjson: several times faster than json on webhook bodies, and strict (no NaN).
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        value = _decode_slow(body)
    if too_deep(value, max_depth):
        raise JSONBodyError(_too_deep_message(max_depth))
    # Postgres stores no NUL character in text or JSON; refuse it here, with a message,
    # rather than as a database error. The byte search is exact but for a body that spells
    # a literal backslash before "u0000", which the walk then clears.
    if b"\\u0000" in body and has_nul(value):
        raise JSONBodyError(NUL_MESSAGE)
    return value


NUL_MESSAGE = "text must not contain NUL (\\u0000) characters"


def has_nul(value: Any) -> bool:
    """Whether any string (or object key) in ``value`` contains a NUL character."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _decode_slow(body: bytes) -> Any:
    # The standard parser says where a bad body goes wrong, and takes the rare valid body
    # orjson refuses (integers beyond 64 bits, nesting beyond orjson's own limit of 1024).
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise JSONBodyError("not UTF-8 text", encoding=True) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise JSONBodyError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise JSONBodyError(_too_deep_message(MAX_DEPTH)) from None
    except ValueError as exc:  # NaN/Infinity, or an integer beyond Python's digit limit
        raise JSONBodyError(f"invalid JSON: {exc}") from None


def _too_deep_message(max_depth: int) -> str:
    return f"arrays and objects nest more than {max_depth} levels deep; the limit is {max_depth}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def too_deep(value: Any, max_depth: int) -> bool:
    """Whether ``value`` has arrays or objects nested more than ``max_depth`` levels."""
    # Level by level and without recursion, so the check cannot hit the limit it guards
    # against; list comprehensions keep it near the cost of decoding (a 1 MiB body: ~5 ms).
    level: list[Any] = [value] if type(value) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        below: list[Any] = []
        for node in level:
            items = node.values() if type(node) is dict else node
            below.extend([child for child in items if type(child) in _CONTAINERS])
        level = below
    return False
