"""The two failures of alert intake, and the one place payload validation errors are made.

`PayloadError` means the body is not what the source sends (answer 400); `AuthError` means the
request did not prove who sent it (answer 401). Parsers validate with pydantic models derived
from `PayloadModel` through `validate`, which turns pydantic's error into a `PayloadError`
that names the JSON field path (`alerts[2].labels: expected an object`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

__all__ = [
    "AuthError",
    "PayloadError",
    "PayloadModel",
    "Text",
    "field_path",
    "validate",
]

ROOT = "payload"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# pydantic error types whose default wording ("Input should be a valid dictionary") reads oddly
# to someone looking at a JSON body; the rest fall back to pydantic's own message.
_MESSAGES = {
    "missing": "required",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "list_type": "expected an array",
    "tuple_type": "expected an array",
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected a boolean",
    "bool_parsing": "expected a boolean",
    "datetime_type": "expected an RFC 3339 timestamp",
    "datetime_parsing": "expected an RFC 3339 timestamp",
    "datetime_from_date_parsing": "expected an RFC 3339 timestamp",
    "datetime_object_invalid": "expected an RFC 3339 timestamp",
}


class PayloadError(ValueError):
    """A webhook body that does not match its source's format; `field` is the JSON path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AuthError(Exception):
    """A request whose credentials or signature do not check out; never carries a secret."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PayloadModel(BaseModel):
    """Base of the parsers' validation models: unknown fields are ignored, never rejected."""

    # Senders add fields over time (Alertmanager's notification_reason, routeLabels); a new
    # field must never turn a working integration into a stream of 400s.
    model_config = ConfigDict(extra="ignore", frozen=True)


def _scalar_to_str(value: Any) -> Any:
    # Templated senders (Datadog) and loose ones (Opsgenie details) put numbers where strings
    # belong; bool first because it is an int subclass and should read "true", not "True".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_scalar_to_str)]
"""A string field that also accepts a JSON number or boolean (converted to its text)."""


def field_path(loc: Sequence[str | int], prefix: str = "") -> str:
    """Render a pydantic location as a JSON path such as `alerts[2].labels`."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            path += " (key)"
        elif _IDENTIFIER.match(part):
            path += f".{part}" if path else part
        else:
            quoted = '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'
            path += f"[{quoted}]"
    return path or ROOT


def _message(error: Any) -> str:
    kind = str(error.get("type", ""))
    if kind == "enum" or kind == "literal_error":
        expected = error.get("ctx", {}).get("expected")
        if expected:
            return f"expected {expected}"
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    message = str(error.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if message.startswith("Input should be "):
        message = "expected " + message.removeprefix("Input should be ")
    return message


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Any, *, prefix: str = "") -> M:
    """Validate `data` as `model`, raising `PayloadError` for the first problem found."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        first = errors[0]
        message = _message(first)
        if len(errors) > 1:
            more = len(errors) - 1
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise PayloadError(field_path(first["loc"], prefix), message) from None
