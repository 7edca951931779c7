"""Bounds on numbers and times that come from outside: ids, offsets, durations, timestamps.

Ids and offsets are bounded so a number no row can have is answered "not found" instead of
overflowing the database driver (SQLite takes 64-bit integers, Postgres ``integer`` 32-bit);
durations and times so date arithmetic cannot overflow ``datetime``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from bot.domain.errors import InvalidCommand, NotFound

# The largest value of a Postgres ``integer`` column (ids and incident numbers).
MAX_ID = 2**31 - 1
MAX_OFFSET = MAX_ID
# The longest maintenance window (chat, API and CLI alike).
MAX_MAINTENANCE = timedelta(days=30)
# Times before or after these cannot be meant (a due date, a maintenance window's start).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

_ASCII_DIGITS = re.compile(r"[0-9]+")
_PART = re.compile(r"([0-9]+)\s*([wdhms])")
_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Enough digits for any duration in seconds we accept; more is refused before int() runs.
_MAX_DIGITS = 12


def is_number(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts ``²`` and other digits ``int`` refuses."""
    return _ASCII_DIGITS.fullmatch(text) is not None


def parse_id(text: str, what: str) -> int:
    """A row id from a URL or a command: InvalidCommand when not a number, NotFound when it
    is one no row can have."""
    text = text.strip()
    if not is_number(text):
        raise InvalidCommand(f"{what} id must be a number, not {_short(text)!r}")
    return check_id(int(text) if len(text) <= _MAX_DIGITS else MAX_ID + 1, what, text)


def check_id(number: int, what: str, shown: str | None = None) -> int:
    """``number`` when it can be an id; NotFound when it is below 1 or beyond ``MAX_ID``."""
    if not 1 <= number <= MAX_ID:
        label = shown if shown is not None else str(number)
        raise NotFound(f"no {what} #{_short(label)}")
    return number


def parse_bounded_int(text: str, name: str, *, low: int, high: int) -> int:
    """A query parameter such as ``limit`` or ``offset``: an integer within ``low..high``."""
    raw = text.strip()
    sign = raw[:1] == "-"
    digits = raw[1:] if sign else raw
    if not is_number(digits):
        raise InvalidCommand(f"{name}: expected an integer from {low} to {high}")
    value = int(digits) if len(digits) <= _MAX_DIGITS else high + 1
    value = -value if sign else value
    if not low <= value <= high:
        raise InvalidCommand(f"{name}: {_short(raw)} is out of range; use {low} to {high}")
    return value


def parse_duration(text: str, *, maximum: timedelta, name: str = "duration") -> timedelta:
    """``90m``, ``2h``, ``1h30m``, ``1d``, ``1w`` → timedelta, a bare number meaning minutes;
    InvalidCommand (naming ``name``) when it is not a duration or longer than ``maximum``."""
    raw = text.strip().lower()
    example = "write e.g. 30m, 2h, 1h30m or 1d"
    if is_number(raw):
        return seconds_duration(_int(raw) * 60, maximum=maximum, name=name)
    pos, seconds = 0, 0
    for found in _PART.finditer(raw):
        if raw[pos : found.start()].strip():
            break
        seconds += _int(found.group(1)) * _UNIT_SECONDS[found.group(2)]
        pos = found.end()
    if not raw or pos == 0 or raw[pos:].strip():
        raise InvalidCommand(f"{name}: bad duration {_short(text)!r}; {example}")
    return seconds_duration(seconds, maximum=maximum, name=name)


def seconds_duration(seconds: int, *, maximum: timedelta, name: str = "duration") -> timedelta:
    """``seconds`` as a timedelta, refused when not positive or longer than ``maximum``."""
    if seconds <= 0:
        raise InvalidCommand(f"{name}: must be positive")
    if seconds > maximum.total_seconds():
        raise InvalidCommand(f"{name}: longer than the limit of {_describe(maximum)}")
    return timedelta(seconds=seconds)


def check_time(value: datetime, name: str) -> datetime:
    """An aware time between 2000 and 2200, else InvalidCommand naming the field."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidCommand(f"{name}: include a time zone (e.g. 2026-12-01T10:00:00Z)")
    try:
        inside = EARLIEST <= value < LATEST
    except OverflowError:  # at the very edge of datetime's range
        inside = False
    if not inside:
        raise InvalidCommand(f"{name}: {value.isoformat()} is out of range (years 2000 to 2199)")
    return value


def parse_query_time(raw: str, name: str, *, end_of_day: bool = False) -> datetime | None:
    """A filter's time as typed: ``2026-11-23`` (midnight UTC, or the next midnight for an
    ``until``) or an ISO date-time (UTC unless it names an offset), as aware UTC; empty → None.
    InvalidCommand names ``name`` for text that is no time, or a time UTC cannot hold (an
    offset pushing 9999-12-31 into year 10000 would otherwise raise OverflowError)."""
    raw = raw.strip()
    if not raw:
        return None
    refused = InvalidCommand(
        f"{name}: use a date like 2026-11-01 or an ISO time (2026-11-01T09:30)"
    )
    if len(raw) > 40:
        raise refused
    try:
        if len(raw) == 10:
            at = datetime.combine(date.fromisoformat(raw), time(), UTC)
            return at + timedelta(days=1) if end_of_day else at
        parsed = datetime.fromisoformat(raw)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise refused from None


def _int(digits: str) -> int:
    # Longer than any accepted duration: treat as "too big" without converting it.
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def _short(text: str) -> str:
    return text if len(text) <= 24 else text[:20] + "…"


def _describe(length: timedelta) -> str:
    days = length.days
    if days and length == timedelta(days=days):
        return f"{days} days" if days != 1 else "1 day"
    return f"{int(length.total_seconds() // 60)} minutes"
