"""Browsing the audit log: filters parsed from a query string, and keyset pages over storage.

The admin page and ``/api/audit`` share these, so both filter in the database and page by
``seq`` (no offset: a page deep in a long log costs what the first one does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.audit import AuditEntry, AuditQuery, Surface
from bot.audit_log import AuditLog
from bot.domain.errors import InvalidCommand
from bot.domain.limits import MAX_ID, parse_bounded_int, parse_query_time
from bot.service import parse_ref

MAX_FILTER = 200
# seq is a Postgres ``integer``: a larger bound would overflow the query.
MAX_SEQ = MAX_ID


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What to show: equality filters and a time range, as the query string gave them."""

    actor: str = ""
    incident: str = ""  # "INC-7", normalized
    surface: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def query(
        self, *, after_seq: int, before_seq: int | None, newest_first: bool, limit: int
    ) -> AuditQuery:
        """The storage query for these filters and one page's keyset bounds."""
        return AuditQuery(
            actor=self.actor,
            incident=self.incident,
            surface=self.surface,
            since=self.since,
            until=self.until,
            after_seq=after_seq,
            before_seq=before_seq,
            newest_first=newest_first,
            limit=limit,
        )

    def params(self, raw: Mapping[str, str]) -> dict[str, str]:
        """The filter parameters to keep in page links (as typed, so forms show them back)."""
        keys = ("actor", "incident", "surface", "since", "until")
        return {k: raw.get(k, "").strip() for k in keys if raw.get(k, "").strip()}


def parse_filters(raw: Mapping[str, str]) -> AuditFilters:
    """Filters from query parameters; InvalidCommand names the parameter that is wrong."""
    actor = raw.get("actor", "").strip()
    if len(actor) > MAX_FILTER:
        raise InvalidCommand(f"actor: at most {MAX_FILTER} characters")
    incident = raw.get("incident", "").strip()
    if incident:
        try:
            incident = f"INC-{parse_ref(incident)}"
        except InvalidCommand:
            raise InvalidCommand(f"incident: {incident!r} is not an incident reference") from None
    surface = raw.get("surface", "").strip()
    if surface and surface not in {s.value for s in Surface}:
        raise InvalidCommand(f"surface: use one of {', '.join(s.value for s in Surface)}")
    since = parse_query_time(raw.get("since", ""), "since")
    until = parse_query_time(raw.get("until", ""), "until", end_of_day=True)
    if since and until and since >= until:
        raise InvalidCommand("until: must be after since")
    return AuditFilters(actor, incident, surface, since, until)


def parse_cursor(raw: Mapping[str, str], name: str) -> int | None:
    """A keyset bound (``before``/``after``, an entry's seq), or None when not given."""
    value = raw.get(name, "").strip()
    return parse_bounded_int(value, name, low=0, high=MAX_SEQ) if value else None


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page in display order, and the bounds of the pages beside it (None: no such page)."""

    entries: list[AuditEntry]
    older: int | None  # ``before`` of the page of older entries
    newer: int | None  # ``after`` of the page of newer entries


async def browse(
    log: AuditLog,
    filters: AuditFilters,
    *,
    newest_first: bool = True,
    before: int | None = None,
    after: int | None = None,
    per_page: int = 50,
) -> AuditPage:
    """The page of entries just below ``before``, just above ``after``, or at the start.

    One query of ``per_page + 1`` rows: the extra row says whether the far side has more; the
    near side has more exactly when a cursor brought us here.
    """
    # after=0 is the start of the log, the same as no cursor.
    after = after or None
    if before is not None:
        upward = False
    elif after is not None:
        upward = True
    else:
        upward = not newest_first
    query = filters.query(
        after_seq=after or 0,
        before_seq=before,
        newest_first=not upward,
        limit=per_page + 1,
    )
    found = await log.search(query)
    more = len(found) > per_page
    found = found[:per_page]
    ascending = found if upward else found[::-1]
    low, high = (ascending[0].seq, ascending[-1].seq) if found else (None, None)
    if upward:
        older = low if (after is not None and low is not None) else None
        newer = high if more else None
        if not found and after is not None:
            older = after + 1
    else:
        newer = high if (before is not None and high is not None) else None
        older = low if more else None
        if not found and before is not None:
            newer = before - 1
    shown = ascending[::-1] if newest_first else ascending
    return AuditPage(shown, older, newer)
