"""One JSON call to an outside service, its failures told the outbox's way (``DeliveryError``).

Shared by every outbound integration (PagerDuty, Opsgenie; Jira, Statuspage … next): a 2xx
answer is returned; 429 and 5xx are retried, after ``Retry-After`` when the service sends
one; other 4xx answers (a refused credential, a field the service rejects) are permanent and
park the delivery; a refused connection or a timeout is retried. Error texts carry the
service's own message, never a request header or body (where the credentials are).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import aiohttp
import orjson
from yarl import URL

from bot.ports import DeliveryError

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long a retry waits at most for a Retry-After; a bigger value is a service's mistake.
MAX_RETRY_AFTER = 3600.0


class NeverSent(DeliveryError):
    """A call that failed before it reached the service (no connection was made)."""


class Refused(DeliveryError):
    """The service answered, with the non-2xx HTTP ``status``."""

    def __init__(
        self,
        message: str,
        status: int,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, permanent=permanent, retry_after=retry_after)
        self.status = status


def status_of(exc: DeliveryError) -> int | None:
    """The HTTP status the service answered with, or None (it never answered)."""
    return exc.status if isinstance(exc, Refused) else None


def refusal(service: str, status: int, problem: str, wait: float | None) -> Refused:
    """The outbox's reading of a non-2xx answer: 420/429 and 5xx are retried (after ``wait``),
    a refused credential or any other 4xx parks the delivery."""
    # 420 is Statuspage's "slow down", as 429 is everyone else's.
    if status in (420, 429) or status >= 500:
        return Refused(f"{service}: HTTP {status}: {problem}", status, retry_after=wait)
    if status in (401, 403):
        return Refused(f"{service}: HTTP {status}: credentials refused", status, permanent=True)
    return Refused(f"{service}: HTTP {status}: {problem}", status, permanent=True)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _problem(data: Any, fallback: str) -> str:
    """The service's own words about what went wrong, short."""
    if isinstance(data, dict):
        parts = [str(data.get(k)) for k in ("message", "status") if data.get(k)]
        # Jira: {"errorMessages": [...], "errors": {field: text}}; ServiceNow: {"error":
        # {"message", "detail"}}.
        if isinstance(data.get("errorMessages"), list):
            parts.extend(str(e) for e in data["errorMessages"][:5])
        if isinstance(data.get("error"), str):  # Statuspage: {"error": "text"}
            parts.append(data["error"])
        if isinstance(data.get("error"), dict):
            parts.extend(str(v) for k, v in data["error"].items() if k in ("message", "detail"))
        errors = data.get("errors")
        if isinstance(errors, list):
            parts.extend(str(e) for e in errors[:5])
        elif isinstance(errors, dict):
            parts.extend(f"{k}: {v}" for k, v in list(errors.items())[:5])
        if parts:
            return "; ".join(parts)[:300]
    return fallback[:300]


async def post_json(
    session: aiohttp.ClientSession,
    url: URL,
    body: Mapping[str, Any],
    *,
    service: str,
    headers: Mapping[str, str] | None = None,
    seconds: float = 10.0,
) -> dict[str, Any]:
    """POST ``body`` as JSON; the JSON answer of a 2xx, else ``DeliveryError``."""
    return await request_json(
        session, "POST", url, body, service=service, headers=headers, seconds=seconds
    )


async def request_json(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    body: Mapping[str, Any] | None = None,
    *,
    service: str,
    headers: Mapping[str, str] | None = None,
    seconds: float = 10.0,
) -> dict[str, Any]:
    """Any method, ``body`` (if any) as JSON; the JSON object of a 2xx, else ``DeliveryError``."""
    data = await request_json_any(
        session, method, url, body, service=service, headers=headers, seconds=seconds
    )
    return data if isinstance(data, dict) else {}


async def request_json_any(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    body: Mapping[str, Any] | None = None,
    *,
    service: str,
    headers: Mapping[str, str] | None = None,
    seconds: float = 10.0,
) -> Any:
    """As ``request_json``, but the 2xx answer as parsed, whatever its JSON type (a list, say)."""
    sent = {"Accept": "application/json", **(headers or {})}
    if body is not None:
        sent["Content-Type"] = "application/json"
    try:
        async with session.request(
            method,
            url,
            data=orjson.dumps(dict(body)) if body is not None else None,
            headers=sent,
            timeout=aiohttp.ClientTimeout(total=seconds),
            allow_redirects=False,
        ) as resp:
            raw = await resp.read()
            status, wait = resp.status, retry_after(resp.headers.get("Retry-After"))
    except TimeoutError:
        raise DeliveryError(f"{service}: no answer within {seconds:g}s") from None
    except aiohttp.ClientConnectorError as exc:
        # No connection (refused, DNS, TLS handshake): the request never left.
        raise NeverSent(f"{service}: {type(exc).__name__}: {exc}"[:300]) from None
    except aiohttp.ClientError as exc:
        # The exception names the host, never the headers: safe to keep.
        raise DeliveryError(f"{service}: {type(exc).__name__}: {exc}"[:300]) from None
    try:
        data: Any = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        data = {}
    if 200 <= status < 300:
        return data
    raise refusal(service, status, _problem(data, raw.decode("utf-8", "replace")), wait)


def made_nothing(exc: DeliveryError) -> bool:
    """Whether a failed create certainly made nothing: never sent, refused or throttled.

    A timeout, a dropped connection or a 5xx may come after the service acted; a connection
    never made, a 4xx refusal and a 420/429 throttle say it did not.
    """
    return isinstance(exc, NeverSent) or exc.permanent or status_of(exc) in (420, 429)


async def journaled_create(
    sending: Callable[[], Awaitable[None]],
    unsent: Callable[[], Awaitable[None]],
    create: Callable[[], Awaitable[T]],
) -> T:
    """Note a create as sent (``bot.journal``), then make it; the note is taken back when the
    service surely made nothing, so a retry does not look for what cannot exist."""
    await sending()
    try:
        return await create()
    except DeliveryError as exc:
        if made_nothing(exc):
            await unsent()
        raise
