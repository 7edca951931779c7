"""What the dashboard figures need from storage (``storage.stats_repo.StatsRepo``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain.policy import Policy

# Storage numbers ISO weeks from Monday 1970-01-05 00:00 UTC, 4 days after the Unix epoch:
# week = (seconds since the epoch - EPOCH_MONDAY_SECONDS) // WEEK_SECONDS.
EPOCH_MONDAY_SECONDS = 4 * 86400
WEEK_SECONDS = 7 * 86400


@dataclass(frozen=True, slots=True)
class Bucket:
    """Sums over one (week, severity, service) group of incidents, as storage returns them."""

    week: int
    severity: str
    service: str
    count: int
    acked: int = 0
    ack_seconds: float = 0.0
    resolved: int = 0
    resolve_seconds: float = 0.0
    ack_met: int = 0
    ack_missed: int = 0
    resolve_met: int = 0
    resolve_missed: int = 0


@dataclass(frozen=True, slots=True)
class OverdueItem:
    """An undone action item past its due date, with its incident's public number."""

    incident_number: int
    incident_title: str
    text: str
    owner: str | None
    due: datetime


@dataclass(frozen=True, slots=True)
class Targets:
    """Severity name → (ack target, resolve target) in seconds (None: no target)."""

    by_severity: Mapping[str, tuple[float | None, float | None]]

    @classmethod
    def of(cls, policy: Policy) -> Targets:
        """The policy's SLA targets."""

        def secs(d: timedelta | None) -> float | None:
            return None if d is None else d.total_seconds()

        return cls(
            {s.name: (secs(s.ack_within), secs(s.resolve_within)) for s in policy.severities}
        )


class StatsStore(Protocol):
    """The aggregate queries (implemented by ``storage.stats_repo.StatsRepo``)."""

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
        """Sums per (ISO week, severity, service) of the workspace's incidents declared in
        [since, until); ``private_for`` None means every incident, else the membership rule."""
        ...

    def services(
        self, workspace: str, *, since: datetime, private_for: Collection[str] | None
    ) -> list[str]:
        """Distinct services of incidents declared since ``since`` (visible ones only)."""
        ...

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
        """How many undone items are past due, and the ``limit`` most overdue."""
        ...
