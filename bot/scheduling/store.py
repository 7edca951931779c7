"""What the scheduler needs from storage (implemented by ``storage.schedule_repo.ScheduleRepo``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from bot.domain.model import ActionItem, Incident


class JobKind(StrEnum):
    """What a due job is for."""

    REMINDER = "reminder"
    ESCALATION = "escalation"
    DIGEST = "digest"
    ACTION_ITEMS = "action_items"
    POSTMORTEM = "postmortem"
    SLA_ACK = "sla_ack"
    SLA_RESOLVE = "sla_resolve"
    SIMILAR = "similar"  # suggest similar past incidents in a new incident's room


class JobState(StrEnum):
    """A due job's lifecycle: pending until a tick claims and does it."""

    PENDING = "pending"
    DONE = "done"
    # Recorded so the schedule knows it was considered, but nothing was sent (first start,
    # or too stale to be useful after a long downtime).
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class DueJob:
    """A stored due job, as the scheduler sees it."""

    id: int
    workspace: str
    kind: str
    dedup_key: str
    due_at: datetime
    state: JobState
    payload: dict[str, Any] = field(default_factory=dict)
    incident_id: int | None = None
    anchor_at: datetime | None = None
    done_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewJob:
    """A due job to insert (if no job with the same kind and dedup key exists)."""

    workspace: str
    kind: str
    dedup_key: str
    due_at: datetime
    state: JobState = JobState.PENDING
    payload: dict[str, Any] = field(default_factory=dict)
    incident_id: int | None = None
    anchor_at: datetime | None = None


class ScheduleStore(Protocol):
    """Scheduled-work storage over one transaction."""

    def record_job(self, job: NewJob, now: datetime) -> bool:
        """Insert ``job`` unless its (kind, dedup_key) exists; True when this call inserted it."""
        ...

    def reminder_candidates(
        self,
        now: datetime,
        escalate_after: Mapping[str, timedelta],
        *,
        limit: int,
        workspace: str,
    ) -> list[Incident]:
        """A workspace's open incidents whose update is due and which still owe a reminder or
        an escalation.

        ``escalate_after`` maps severity name to its cadence (the second interval). Rows are
        locked (``SKIP LOCKED`` on Postgres), so concurrent ticks take disjoint incidents.
        """
        ...

    def postmortem_candidates(
        self, resolved_before: datetime, resolved_after: datetime, *, limit: int, workspace: str
    ) -> list[Incident]:
        """A workspace's resolved incidents in the window that have had no postmortem reminder
        (locked)."""
        ...

    def sla_candidates(
        self,
        now: datetime,
        target: str,
        windows: Mapping[str, tuple[timedelta, timedelta]],
        *,
        limit: int,
        workspace: str,
    ) -> list[Incident]:
        """A workspace's open incidents inside an SLA warning window with no warning yet.

        ``target`` is "ack" (only unacknowledged incidents) or "resolve"; ``windows`` maps
        severity name to (warn after, target), both from declaration. Locked like reminders.
        """
        ...

    def open_incidents(self, *, limit: int, workspace: str) -> list[Incident]:
        """A workspace's open incidents, oldest first."""
        ...

    def overdue_action_items(
        self, now: datetime, *, workspace: str
    ) -> list[tuple[ActionItem, Incident]]:
        """A workspace's undone action items with an owner, past their due date, with their
        incident."""
        ...

    def last_job_due(self, kind: str, *, workspace: str) -> datetime | None:
        """The latest ``due_at`` recorded for ``kind`` in ``workspace`` (a cron's cursor)."""
        ...

    def claim_jobs(
        self, kinds: Sequence[str], now: datetime, *, limit: int, workspace: str
    ) -> list[DueJob]:
        """A workspace's pending jobs due by ``now``, locked for this transaction
        (``SKIP LOCKED``)."""
        ...

    def finish_job(
        self, job_id: int, now: datetime, *, state: JobState, payload: dict[str, Any] | None = None
    ) -> None:
        """Mark a claimed job done (or skipped), optionally recording what it did."""
        ...

    def list_jobs(
        self,
        *,
        kind: str | None = None,
        incident_id: int | None = None,
        limit: int = 100,
        workspace: str | None = None,
    ) -> list[DueJob]:
        """Jobs newest first, for the CLI and tests (of one workspace when given)."""
        ...
