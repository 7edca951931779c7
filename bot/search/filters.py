"""Search filters from what a person typed (query string, chat, CLI): status, severity, since."""

from __future__ import annotations

from datetime import datetime

from bot.domain.errors import InvalidCommand
from bot.domain.limits import parse_query_time
from bot.domain.model import Status
from bot.domain.policy import Policy
from bot.search.model import SearchFilters


def parse_filters(
    policy: Policy, *, status: str = "", severity: str = "", since: str = ""
) -> SearchFilters:
    """``status``: ``open`` or statuses, comma-separated; ``severity``: a name, number or alias;
    ``since``: a date (``2026-11-01``) or an ISO time. InvalidCommand names a bad value."""
    return SearchFilters(
        statuses=parse_statuses(status),
        severity=policy.severity(severity).name if severity.strip() else None,
        since=parse_since(since),
    )


def parse_statuses(text: str) -> tuple[Status, ...]:
    """Statuses from ``open``/``investigating,identified``; empty for none."""
    wanted: list[Status] = []
    for raw in (s.strip().lower() for s in text.split(",")):
        if not raw:
            continue
        if raw == "open":
            found = [s for s in Status if s.is_open]
        elif raw in {s.value for s in Status}:
            found = [Status(raw)]
        else:
            allowed = ", ".join(["open", *(s.value for s in Status)])
            raise InvalidCommand(f"status: unknown value {raw[:40]!r}; use one of {allowed}")
        wanted.extend(s for s in found if s not in wanted)
    return tuple(wanted)


def parse_since(text: str) -> datetime | None:
    """A date or ISO time as aware UTC (a time without a zone is UTC)."""
    at = parse_query_time(text, "since")
    if at is not None and at.year < 1971:
        raise InvalidCommand("since: use a date after 1970")
    return at
