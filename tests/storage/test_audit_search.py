"""The audit log filtered and paged in the database: keyset pages cover every matching entry
exactly once in either direction, filters combine, and one workspace never sees another's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.audit import AuditEntry, AuditQuery
from bot.audit_filters import AuditFilters, browse, parse_filters
from bot.audit_log import AuditLog
from bot.domain.errors import InvalidCommand
from bot.ports import FixedClock
from bot.repository import Repo
from bot.runtime import Runtime
from storage.db import Database
from tests.conftest import T0

SURFACES = ("web", "api", "chat")


async def _fill(log: AuditLog, clock: FixedClock, n: int = 30) -> None:
    """Entry i: actor a<i%3>, surface SURFACES[i%3], incident INC-<i%2+1>, i minutes after T0."""
    for i in range(n):

        def write(repo: Repo, i: int = i) -> AuditEntry:
            return repo.audit(
                log.workspace,
                at=clock.now(),
                actor=f"a{i % 3}",
                action="note",
                surface=SURFACES[i % 3],
                incident=f"INC-{i % 2 + 1}",
            )

        await log.uow.run(write)
        clock.advance(minutes=1)


async def _walk(log: AuditLog, filters: AuditFilters, *, newest_first: bool) -> list[int]:
    """Every seq the pages show, following the page links to the end."""
    seen: list[int] = []
    page = await browse(log, filters, newest_first=newest_first, per_page=4)
    while True:
        seen += [e.seq for e in page.entries]
        if newest_first and page.older is not None:
            page = await browse(log, filters, newest_first=True, before=page.older, per_page=4)
        elif not newest_first and page.newer is not None:
            page = await browse(log, filters, newest_first=False, after=page.newer, per_page=4)
        else:
            return seen


async def test_pages_cover_the_log_once_in_either_order(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    await _fill(rt.audit, clock, 30)
    assert await _walk(rt.audit, AuditFilters(), newest_first=True) == list(range(30, 0, -1))
    assert await _walk(rt.audit, AuditFilters(), newest_first=False) == list(range(1, 31))


async def test_filters_are_applied_by_the_database_and_combine(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    await _fill(rt.audit, clock, 30)
    by_actor = await _walk(rt.audit, AuditFilters(actor="a1"), newest_first=True)
    assert by_actor == [s for s in range(30, 0, -1) if (s - 1) % 3 == 1]
    both = AuditFilters(actor="a1", incident="INC-2")
    assert await _walk(rt.audit, both, newest_first=False) == [
        s for s in range(1, 31) if (s - 1) % 3 == 1 and (s - 1) % 2 == 1
    ]
    api = await _walk(rt.audit, AuditFilters(surface="api"), newest_first=False)
    assert api == [s for s in range(1, 31) if (s - 1) % 3 == 1]
    # Entry i was written i minutes after T0: [T0+5m, T0+9m) holds entries 5..8, seq 6..9.
    window = AuditFilters(since=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=9))
    assert await _walk(rt.audit, window, newest_first=False) == [6, 7, 8, 9]


async def test_going_back_a_page_shows_the_page_before(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    await _fill(rt.audit, clock, 10)
    first = await browse(rt.audit, AuditFilters(), per_page=4)
    assert [e.seq for e in first.entries] == [10, 9, 8, 7] and first.newer is None
    assert first.older is not None
    second = await browse(rt.audit, AuditFilters(), before=first.older, per_page=4)
    assert [e.seq for e in second.entries] == [6, 5, 4, 3]
    assert second.newer is not None
    back = await browse(rt.audit, AuditFilters(), after=second.newer, per_page=4)
    assert [e.seq for e in back.entries] == [10, 9, 8, 7] and back.newer is None
    last = await browse(rt.audit, AuditFilters(), before=second.older, per_page=4)
    assert [e.seq for e in last.entries] == [2, 1] and last.older is None


async def test_a_workspace_pages_only_its_own_log(rt: Runtime[Database], clock: FixedClock) -> None:
    other = AuditLog(rt.db, "other")
    await _fill(other, clock, 5)
    await _fill(rt.audit, clock, 3)
    assert await _walk(rt.audit, AuditFilters(), newest_first=False) == [1, 2, 3]
    found = await rt.audit.search(AuditQuery(actor="a0", limit=100))
    assert {e.workspace for e in found} == {"default"}


def test_filters_parse_from_the_query_string_or_say_what_is_wrong() -> None:
    f = parse_filters(
        {"actor": " U1 ", "incident": "inc7", "surface": "web", "since": "2026-11-23"}
        | {"until": "2026-11-23"}
    )
    assert (f.actor, f.incident, f.surface) == ("U1", "INC-7", "web")
    assert f.since == T0.replace(hour=0) and f.until == T0.replace(hour=0) + timedelta(days=1)
    assert parse_filters({"since": "2026-11-23T09:30"}).since == T0 + timedelta(minutes=30)
    for bad, name in (
        ({"incident": "nonsense"}, "incident"),
        ({"surface": "fax"}, "surface"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-11-24", "until": "2026-11-22"}, "until"),
        ({"actor": "x" * 201}, "actor"),
    ):
        with pytest.raises(InvalidCommand, match=f"^{name}:"):
            parse_filters(bad)


def test_a_time_utc_cannot_hold_is_refused_naming_the_field() -> None:
    # 9999-12-31T23:00-05:00 is in year 10000 in UTC: datetime raised OverflowError (a 500).
    for bad, name in (
        ({"since": "9999-12-31T23:00-05:00"}, "since"),
        ({"until": "9999-12-31T23:00-05:00"}, "until"),
        ({"until": "9999-12-31"}, "until"),
    ):
        with pytest.raises(InvalidCommand, match=f"^{name}:"):
            parse_filters(bad)
