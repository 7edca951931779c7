"""Due-job storage for reminders and scheduled posts.

Exactly once rests on two things: UNIQUE(kind, dedup_key) with insert-or-skip (a replica that
loses the race inserts nothing and so sends nothing), and row locks with ``SKIP LOCKED`` on
Postgres so concurrent ticks work on disjoint incidents. On SQLite every transaction is a
single writer (``BEGIN IMMEDIATE``), which gives the same guarantee.

Every read of due work takes the workspace the calling process serves: several workspaces may
share one database, and one workspace's scheduler must never plan another's reminders or
digests with its own settings (and so its own chat credentials).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, false, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.domain.model import OPEN_STATUSES, ActionItem, Incident, Status
from bot.scheduling.store import DueJob, JobKind, JobState, NewJob
from storage.tables import ActionItemRow, DueJobRow, IncidentRow

# storage.repo imports this module, so the row converter is repeated here, not imported.
_INCIDENT_FIELDS = [f.name for f in dataclasses.fields(Incident) if f.name != "status"]


def _to_incident(row: IncidentRow) -> Incident:
    values = {name: getattr(row, name) for name in _INCIDENT_FIELDS}
    return Incident(status=Status(row.status), **values)


def _to_job(row: DueJobRow) -> DueJob:
    assert row.id is not None
    return DueJob(
        id=row.id,
        workspace=row.workspace,
        kind=row.kind,
        dedup_key=row.dedup_key,
        due_at=row.due_at,
        state=JobState(row.state),
        payload=dict(row.payload or {}),
        incident_id=row.incident_id,
        anchor_at=row.anchor_at,
        done_at=row.done_at,
    )


class ScheduleRepo:
    """Scheduled-work storage over one session."""

    def __init__(self, session: Session, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    def record_job(self, job: NewJob, now: datetime) -> bool:
        """Insert ``job`` unless its (kind, dedup_key) exists; True when this call inserted it."""
        values: dict[str, Any] = {
            "workspace": job.workspace,
            "kind": job.kind,
            "dedup_key": job.dedup_key,
            "due_at": job.due_at,
            "payload": job.payload,
            "state": job.state.value,
            "done_at": now if job.state is not JobState.PENDING else None,
            "incident_id": job.incident_id,
            "anchor_at": job.anchor_at,
            "created_at": now,
        }
        table = DueJobRow.__table__  # type: ignore[attr-defined]
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        # ON CONFLICT DO NOTHING rather than catching IntegrityError: on Postgres a loser
        # waits for the winner's commit and then skips, and the transaction stays usable.
        stmt = (
            insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["kind", "dedup_key"])
            .returning(table.c.id)
        )
        # RETURNING, not rowcount: psycopg reports no reliable rowcount for this statement.
        return self.session.execute(stmt).scalar_one_or_none() is not None

    def reminder_candidates(
        self,
        now: datetime,
        escalate_after: Mapping[str, timedelta],
        *,
        limit: int,
        workspace: str,
    ) -> list[Incident]:
        """Open incidents whose update is due and which still owe a reminder or an escalation."""
        due = col(IncidentRow.next_update_due_at)
        escalation_time = or_(
            false(),
            *(
                and_(col(IncidentRow.severity) == name, due <= now - cadence)
                for name, cadence in escalate_after.items()
            ),
        )
        stmt = (
            select(IncidentRow)
            .where(
                IncidentRow.workspace == workspace,
                col(IncidentRow.status).in_([s.value for s in OPEN_STATUSES]),
                col(IncidentRow.reminders_enabled).is_(True),
                due.is_not(None),
                due <= now,
                ~self._job_exists(JobKind.ESCALATION),
                or_(~self._job_exists(JobKind.REMINDER), escalation_time),
            )
            .order_by(due, col(IncidentRow.id))
            .limit(limit)
        )
        return [_to_incident(r) for r in self.session.exec(self._locked(stmt, IncidentRow))]

    def postmortem_candidates(
        self, resolved_before: datetime, resolved_after: datetime, *, limit: int, workspace: str
    ) -> list[Incident]:
        """Resolved incidents in the window that have had no postmortem reminder (locked)."""
        resolved = col(IncidentRow.resolved_at)
        other = DueJobRow.__table__.alias("pm")  # type: ignore[attr-defined]
        reminded = (
            select(other.c.id)
            .where(other.c.kind == JobKind.POSTMORTEM.value, other.c.incident_id == IncidentRow.id)
            .exists()
        )
        stmt = (
            select(IncidentRow)
            .where(
                IncidentRow.workspace == workspace,
                IncidentRow.status == Status.RESOLVED.value,
                resolved.is_not(None),
                resolved <= resolved_before,
                resolved > resolved_after,
                ~reminded,
            )
            .order_by(resolved, col(IncidentRow.id))
            .limit(limit)
        )
        return [_to_incident(r) for r in self.session.exec(self._locked(stmt, IncidentRow))]

    def sla_candidates(
        self,
        now: datetime,
        target: str,
        windows: Mapping[str, tuple[timedelta, timedelta]],
        *,
        limit: int,
        workspace: str,
    ) -> list[Incident]:
        """Open incidents inside an SLA warning window that have had no warning for it yet."""
        if not windows:
            return []
        kind = JobKind.SLA_ACK if target == "ack" else JobKind.SLA_RESOLVE
        declared = col(IncidentRow.declared_at)
        job = DueJobRow.__table__.alias(f"j_{kind.value}")  # type: ignore[attr-defined]

        def warned(severity: str) -> Any:
            # The dedup key ends in the severity: a severity change opens a new warning.
            return (
                select(job.c.id)
                .where(
                    job.c.kind == kind.value,
                    job.c.incident_id == IncidentRow.id,
                    job.c.dedup_key.endswith(f":{severity}", autoescape=True),
                )
                .exists()
            )

        in_window = or_(
            false(),
            *(
                and_(
                    col(IncidentRow.severity) == name,
                    declared <= now - warn_after,
                    declared > now - within,
                    ~warned(name),
                )
                for name, (warn_after, within) in windows.items()
            ),
        )
        stmt = select(IncidentRow).where(
            IncidentRow.workspace == workspace,
            col(IncidentRow.status).in_([s.value for s in OPEN_STATUSES]),
            in_window,
        )
        if kind is JobKind.SLA_ACK:
            stmt = stmt.where(col(IncidentRow.acknowledged_at).is_(None))
        stmt = stmt.order_by(declared, col(IncidentRow.id)).limit(limit)
        return [_to_incident(r) for r in self.session.exec(self._locked(stmt, IncidentRow))]

    def open_incidents(self, *, limit: int, workspace: str) -> list[Incident]:
        """A workspace's open incidents, oldest first (the digest sorts by severity)."""
        stmt = (
            select(IncidentRow)
            .where(
                IncidentRow.workspace == workspace,
                col(IncidentRow.status).in_([s.value for s in OPEN_STATUSES]),
            )
            .order_by(col(IncidentRow.declared_at), col(IncidentRow.id))
            .limit(limit)
        )
        return [_to_incident(r) for r in self.session.exec(stmt)]

    def overdue_action_items(
        self, now: datetime, *, workspace: str
    ) -> list[tuple[ActionItem, Incident]]:
        """A workspace's undone action items with an owner, past their due date, with their
        incident."""
        stmt = (
            select(ActionItemRow, IncidentRow)
            .join(IncidentRow, col(IncidentRow.id) == col(ActionItemRow.incident_id))
            .where(
                IncidentRow.workspace == workspace,
                col(ActionItemRow.done_at).is_(None),
                col(ActionItemRow.owner).is_not(None),
                col(ActionItemRow.due).is_not(None),
                col(ActionItemRow.due) < now,
            )
            .order_by(col(ActionItemRow.due), col(ActionItemRow.id))
        )
        out: list[tuple[ActionItem, Incident]] = []
        for item, incident in self.session.exec(stmt):
            assert item.id is not None
            out.append(
                (
                    ActionItem(
                        id=item.id,
                        incident_id=item.incident_id,
                        text=item.text,
                        created_at=item.created_at,
                        created_by=item.created_by,
                        owner=item.owner,
                        due=item.due,
                        done_at=item.done_at,
                        done_by=item.done_by,
                    ),
                    _to_incident(incident),
                )
            )
        return out

    def last_job_due(self, kind: str, *, workspace: str) -> datetime | None:
        """The latest ``due_at`` recorded for ``kind`` in ``workspace`` (a cron's cursor)."""
        stmt = (
            select(DueJobRow.due_at)
            .where(DueJobRow.kind == kind, DueJobRow.workspace == workspace)
            .order_by(col(DueJobRow.due_at).desc())
            .limit(1)
        )
        return self.session.exec(stmt).first()

    def claim_jobs(
        self, kinds: Sequence[str], now: datetime, *, limit: int, workspace: str
    ) -> list[DueJob]:
        """A workspace's pending jobs due by ``now``, locked for this transaction."""
        if not kinds:
            return []
        stmt = (
            select(DueJobRow)
            .where(
                DueJobRow.workspace == workspace,
                DueJobRow.state == JobState.PENDING.value,
                col(DueJobRow.kind).in_(list(kinds)),
                col(DueJobRow.due_at) <= now,
            )
            .order_by(col(DueJobRow.due_at), col(DueJobRow.id))
            .limit(limit)
        )
        return [_to_job(r) for r in self.session.exec(self._locked(stmt, DueJobRow))]

    def finish_job(
        self, job_id: int, now: datetime, *, state: JobState, payload: dict[str, Any] | None = None
    ) -> None:
        """Mark a claimed job done (or skipped), optionally recording what it did."""
        values: dict[str, Any] = {"state": state.value, "done_at": now}
        if payload is not None:
            values["payload"] = payload
        self.session.execute(update(DueJobRow).where(col(DueJobRow.id) == job_id).values(**values))

    def list_jobs(
        self,
        *,
        kind: str | None = None,
        incident_id: int | None = None,
        limit: int = 100,
        workspace: str | None = None,
    ) -> list[DueJob]:
        """Jobs newest first, for the CLI and tests (of one workspace when given)."""
        stmt = select(DueJobRow)
        if workspace is not None:
            stmt = stmt.where(DueJobRow.workspace == workspace)
        if kind is not None:
            stmt = stmt.where(DueJobRow.kind == kind)
        if incident_id is not None:
            stmt = stmt.where(DueJobRow.incident_id == incident_id)
        stmt = stmt.order_by(col(DueJobRow.id).desc()).limit(limit)
        return [_to_job(r) for r in self.session.exec(stmt)]

    # -- helpers -----------------------------------------------------------------------------

    def _job_exists(self, kind: JobKind) -> Any:
        """EXISTS a job of ``kind`` for the incident's current deadline."""
        job = DueJobRow.__table__.alias(f"j_{kind.value}")  # type: ignore[attr-defined]
        return (
            select(job.c.id)
            .where(
                job.c.kind == kind.value,
                job.c.incident_id == IncidentRow.id,
                job.c.anchor_at == IncidentRow.next_update_due_at,
            )
            .exists()
        )

    def _locked(self, stmt: SelectOfScalar[Any], of: Any) -> SelectOfScalar[Any]:
        # SQLite has no row locks; its BEGIN IMMEDIATE transaction already excludes writers.
        if self.dialect == "postgresql":
            return stmt.with_for_update(skip_locked=True, of=of)
        return stmt
