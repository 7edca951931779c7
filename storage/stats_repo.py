"""Dashboard aggregates in SQL: one GROUP BY over a workspace's incidents in a date range.

Durations and ISO weeks are computed by the database (``julianday``/``strftime`` on SQLite,
``EXTRACT(EPOCH …)`` on Postgres), so 100,000 incidents come back as a few hundred rows of
sums. Every query is scoped to one workspace and applies the membership rule
(``storage.visibility``) unless the reader is an admin.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, literal, literal_column, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from bot.stats_store import EPOCH_MONDAY_SECONDS, WEEK_SECONDS, Bucket, OverdueItem, Targets
from storage.tables import ActionItemRow, IncidentRow
from storage.visibility import visible_for

# The incident timestamps' column type, so a bound ``now`` is stored-format UTC on both.
# date_part (a double) rather than EXTRACT (numeric since PostgreSQL 14): half the time.
_EPOCH: Any = literal_column("'epoch'")
_TIMESTAMP = IncidentRow.__table__.c.declared_at.type  # type: ignore[attr-defined]


class StatsRepo:
    """Aggregate reads over one session."""

    def __init__(self, session: Session, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    # -- dialect pieces ------------------------------------------------------------------------

    def _seconds_between(self, later: Any, earlier: Any) -> Any:
        """``later - earlier`` in seconds (to the millisecond), NULL when either is NULL."""
        if self.dialect == "postgresql":
            return func.date_part(_EPOCH, later - earlier)
        # julianday is a float of days; rounding to ms makes a 300 s wait compare as 300.
        return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)

    def _week(self, at: Any) -> Any:
        """The ISO week index of ``at``; constants are literal so GROUP BY repeats it exactly."""
        offset: Any = literal_column(str(EPOCH_MONDAY_SECONDS))
        span: Any = literal_column(str(WEEK_SECONDS))
        if self.dialect == "postgresql":
            return cast(func.floor((func.date_part(_EPOCH, at) - offset) / span), Integer)
        # strftime('%s') is whole seconds since the epoch; weeks after 1970 are positive, so
        # integer division is the floor.
        return (cast(func.strftime("%s", at), Integer) - offset).self_group().op("/")(span)

    # -- queries ---------------------------------------------------------------------------------

    def buckets(
        self,
        workspace: str,
        *,
        since: datetime,
        until: datetime,
        now: datetime,
        targets: Targets,
        severity: str | None,
        service: str | None,
        private_for: Collection[str] | None,
    ) -> list[Bucket]:
        """Sums per (ISO week, severity, service) of incidents declared in [since, until)."""
        inc = IncidentRow
        declared = col(inc.declared_at)
        acked_at, resolved_at = col(inc.acknowledged_at), col(inc.resolved_at)
        ack_secs = self._seconds_between(acked_at, declared)
        res_secs = self._seconds_between(resolved_at, declared)
        # resolved_at is the final resolution (a reopen clears it), so it is the time to resolve.
        age = self._seconds_between(literal(now, type_=_TIMESTAMP), declared)
        sev = col(inc.severity)

        def target(pick: int) -> Any:
            whens = [
                (sev == name, float(limit))
                for name, pair in targets.by_severity.items()
                if (limit := pair[pick]) is not None
            ]
            return case(*whens, else_=None) if whens else literal_column("NULL")

        where = [
            col(inc.workspace) == workspace,
            declared >= since,
            declared < until,
            visible_for(private_for),
        ]
        if severity:
            where.append(sev == severity)
        if service is not None:
            where.append(col(inc.service) == service)
        # Per incident first (each duration computed once), then summed per group.
        row = (
            sa_select(
                self._week(declared).label("week"),
                sev.label("severity"),
                col(inc.service).label("service"),
                ack_secs.label("ack"),
                res_secs.label("res"),
                age.label("age"),
                target(0).label("ack_limit"),
                target(1).label("res_limit"),
            )
            .where(*where)
            .subquery()
        )

        def met(took: Any, limit: Any) -> Any:
            # NULL (not done, or no target) compares as unknown: not counted.
            return func.sum(case((took <= limit, 1), else_=0))

        def missed(took: Any, limit: Any) -> Any:
            late = or_(took > limit, and_(took.is_(None), row.c.age > limit))
            return func.sum(case((late, 1), else_=0))

        stmt = sa_select(
            row.c.week,
            row.c.severity,
            row.c.service,
            func.count(),
            func.count(row.c.ack),
            func.coalesce(func.sum(row.c.ack), 0),
            func.count(row.c.res),
            func.coalesce(func.sum(row.c.res), 0),
            met(row.c.ack, row.c.ack_limit),
            missed(row.c.ack, row.c.ack_limit),
            met(row.c.res, row.c.res_limit),
            missed(row.c.res, row.c.res_limit),
        ).group_by(row.c.week, row.c.severity, row.c.service)
        return [
            Bucket(
                week=int(w),
                severity=str(s),
                service=str(svc or ""),
                count=int(n),
                acked=int(na),
                ack_seconds=float(sa or 0),
                resolved=int(nr),
                resolve_seconds=float(sr or 0),
                ack_met=int(am or 0),
                ack_missed=int(ax or 0),
                resolve_met=int(rm or 0),
                resolve_missed=int(rx or 0),
            )
            for w, s, svc, n, na, sa, nr, sr, am, ax, rm, rx in self.session.execute(stmt)
        ]

    def services(
        self, workspace: str, *, since: datetime, private_for: Collection[str] | None
    ) -> list[str]:
        """Distinct services of the visible incidents declared since ``since``."""
        stmt = (
            sa_select(col(IncidentRow.service))
            .where(
                col(IncidentRow.workspace) == workspace,
                col(IncidentRow.declared_at) >= since,
                visible_for(private_for),
            )
            .group_by(col(IncidentRow.service))
            .order_by(col(IncidentRow.service))
            .limit(1000)
        )
        return [str(s or "") for (s,) in self.session.execute(stmt)]

    def overdue_action_items(
        self,
        workspace: str,
        now: datetime,
        *,
        severity: str | None,
        service: str | None,
        private_for: Collection[str] | None,
        limit: int,
    ) -> tuple[int, list[OverdueItem]]:
        """How many undone items of visible incidents are past due, and the most overdue."""
        item = ActionItemRow
        where = [
            col(IncidentRow.workspace) == workspace,
            col(item.done_at).is_(None),
            col(item.due).is_not(None),
            col(item.due) < now,
            visible_for(private_for),
        ]
        if severity:
            where.append(col(IncidentRow.severity) == severity)
        if service is not None:
            where.append(col(IncidentRow.service) == service)
        joined = col(IncidentRow.id) == col(item.incident_id)
        total = self.session.execute(
            sa_select(func.count()).select_from(item).join(IncidentRow, joined).where(*where)
        ).scalar_one()
        rows = self.session.execute(
            sa_select(
                col(IncidentRow.number),
                col(IncidentRow.title),
                col(item.text),
                col(item.owner),
                col(item.due),
            )
            .select_from(item)
            .join(IncidentRow, joined)
            .where(*where)
            .order_by(col(item.due), col(item.id))
            .limit(limit)
        )
        items = [
            OverdueItem(int(n), str(title), str(text), owner, due)
            for n, title, text, owner, due in rows
        ]
        return int(total), items
