"""Audit log at scale: the time of one admin page (filtered, keyset-paged) over a long log.

    .venv/bin/python bench/audit.py [--entries 200000] [--database-url postgresql+psycopg://…]
        [--explain]

Fills a fresh database (a temporary SQLite file unless ``--database-url`` names one) with a
valid chain of ``--entries`` entries spread over 500 actors, 2,000 incidents and every
surface, one second apart; then times, as the median of ``--runs`` runs, the page queries
``/admin/audit`` and ``/api/audit`` make (``bot.audit_filters.browse``, 50 per page), the old
way of reading the whole log to filter it, and verifying the whole chain.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bot.audit import GENESIS, AuditDraft, Surface, seal
from bot.audit_filters import AuditFilters, browse
from bot.audit_log import AuditLog
from storage.db import Database
from storage.migrate import upgrade
from storage.tables import AuditEntryRow

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WS = "bench"
SURFACES = [s.value for s in Surface]


def fill(db: Database, n: int) -> None:
    """``n`` chained entries, inserted in batches (sealed exactly as the repository does)."""
    table = AuditEntryRow.__table__  # type: ignore[attr-defined]
    prev, batch = GENESIS, []
    for i in range(n):
        entry = seal(
            AuditDraft(
                workspace=WS,
                at=T0 + timedelta(seconds=i),
                actor=f"oidc:idp#person{i % 500}",
                action="change_status",
                surface=SURFACES[i % len(SURFACES)],
                incident=f"INC-{i % 2000 + 1}",
                detail={"command": {"text": f"note {i}"}},
            ),
            seq=i + 1,
            prev_hash=prev,
        )
        prev = entry.hash
        batch.append(
            {
                "workspace": entry.workspace,
                "seq": entry.seq,
                "at": entry.at,
                "actor": entry.actor,
                "surface": entry.surface,
                "action": entry.action,
                "target": entry.target,
                "incident": entry.incident,
                "detail": entry.detail,
                "before": None,
                "after": None,
                "prev_hash": entry.prev_hash,
                "hash": entry.hash,
            }
        )
        if len(batch) == 10_000 or i == n - 1:
            with db.engine.begin() as conn:
                conn.execute(table.insert(), batch)
            batch = []
    if db.dialect == "postgresql":
        # What autovacuum does to a table that grew this much; without statistics the planner
        # guesses a handful of rows and sorts 50,000 of them for a page deep in the log.
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE audit_entry"))


async def timed(label: str, runs: int, fn: Callable[[], Awaitable[int]]) -> None:
    """Print the median and worst wall time of ``fn`` over ``runs`` runs."""
    times, rows = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        rows = await fn()
        times.append(time.perf_counter() - started)
    print(
        f"{label:<52} {statistics.median(times) * 1e3:8.1f} ms median "
        f"{max(times) * 1e3:8.1f} ms max  ({rows} rows)"
    )


async def run(url: str, n: int, runs: int, explain: bool = False) -> None:
    db = Database(url)
    upgrade(db.engine)
    started = time.perf_counter()
    fill(db, n)
    print(f"filled {n:,} entries in {time.perf_counter() - started:.1f} s ({db.dialect})")
    log = AuditLog(db, WS)

    def page(filters: AuditFilters, before: int | None = None) -> Callable[[], Awaitable[int]]:
        async def go() -> int:
            return len((await browse(log, filters, per_page=50, before=before)).entries)

        return go

    mid = T0 + timedelta(seconds=n // 2)
    await timed("first page, newest first", runs, page(AuditFilters()))
    await timed("page deep in the log (before=seq n/4)", runs, page(AuditFilters(), before=n // 4))
    await timed(
        "actor filter (1 of 500 actors)", runs, page(AuditFilters(actor="oidc:idp#person7"))
    )
    await timed("incident filter (1 of 2,000)", runs, page(AuditFilters(incident="INC-42")))
    await timed("surface filter", runs, page(AuditFilters(surface="webhook")))
    await timed(
        "time range (one hour mid-log)",
        runs,
        page(AuditFilters(since=mid, until=mid + timedelta(hours=1))),
    )
    # On Postgres a time range costs what lies between it and the log's end (see _explain):
    # the last hour, or a range around the whole log, costs about what a first page does.
    end = T0 + timedelta(seconds=n)
    await timed(
        "time range (the last hour)",
        runs,
        page(AuditFilters(since=end - timedelta(hours=1), until=end)),
    )
    await timed(
        "time range (covering the whole log)",
        runs,
        page(AuditFilters(since=T0 - timedelta(days=365), until=end + timedelta(days=365))),
    )
    await timed(
        "actor + time range (one day mid-log)",
        runs,
        page(AuditFilters(actor="oidc:idp#person7", since=mid, until=mid + timedelta(days=1))),
    )

    async def whole() -> int:
        entries = await log.all()
        return len([e for e in entries if e.actor == "oidc:idp#person7"][-50:])

    await timed("before: read the whole log, filter in Python", max(1, runs // 10), whole)

    async def verify() -> int:
        return (await log.verify()).entries

    await timed("verify the whole chain (paged)", 1, verify)
    if explain and db.dialect == "postgresql":
        _explain(db, mid, mid + timedelta(hours=1))
    db.close()


def _explain(db: Database, since: datetime, until: datetime) -> None:
    """Print Postgres's plan for the mid-log time-range page.

    It walks the chain index (workspace, seq) backwards and filters on ``at``: the planner
    takes the matching rows to be spread evenly over seq, but ``at`` grows with seq, so the
    walk reads every entry newer than ``until`` before it finds the first match.
    """
    query = text(
        "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM audit_entry WHERE workspace = :ws"
        " AND at >= :since AND at < :until ORDER BY seq DESC LIMIT 50"
    )
    with db.engine.connect() as conn:
        for (line,) in conn.execute(query, {"ws": WS, "since": since, "until": until}):
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--explain", action="store_true", help="Postgres: print the time-range query's plan."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'audit.db'}"
        asyncio.run(run(url, args.entries, args.runs, args.explain))


if __name__ == "__main__":
    main()
