"""What alert intake needs from storage (implemented by ``storage.alert_repo.AlertRepo``)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.alerting.grouping import GroupRef
from bot.alerting.model import AlertQuery, MaintenanceWindow
from bot.domain.alert import StoredAlert
from bot.domain.labels import LabelMatcher
from bot.outbox_types import OutboxIntent


@dataclass(frozen=True, slots=True)
class NoticeBacklog:
    """The bound on alert-channel notices waiting for delivery, per workspace and platform.

    A channel takes about one message a second, so 20,000 groups would be hours of backlog.
    Past ``limit`` waiting notices, a group with no notice waiting yet is not queued; instead
    one summary notice (built by ``overflow(workspace, platform, more, since)``, its ordering
    key ``OVERFLOW_KEY``) counts the held-back updates. A held-back group is posted when it
    next changes with room in the backlog; ``sitrep alerts list`` shows every group meanwhile.
    """

    limit: int
    overflow: Callable[[str, str, int, datetime], OutboxIntent]


@dataclass(slots=True)
class AlertWrite:
    """An alert row to insert (``id`` None) or overwrite (``id`` set)."""

    id: int | None
    workspace: str
    source: str
    fingerprint: str
    group_key: str
    status: str
    severity: str
    title: str
    description: str
    labels: dict[str, str]
    annotations: dict[str, str]
    links: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    incident_id: int | None = None
    suppressed_by: int | None = None
    route: str = ""
    rule: str = ""
    note_due: bool = False  # its change still has to be summarized on the incident timeline


@dataclass(frozen=True, slots=True)
class GroupIncident:
    """A group's most recent incident."""

    id: int
    number: int
    open: bool

    @property
    def ref(self) -> str:
        """``INC-<number>``."""
        return f"INC-{self.number}"


@dataclass(frozen=True, slots=True)
class PendingNote:
    """An alert change not yet summarized on its incident's timeline."""

    id: int
    incident_id: int | None  # None: it left its incident since (cleared, never summarized)
    source: str
    group_key: str
    status: str
    title: str
    rule: str


@dataclass(frozen=True, slots=True)
class SampleRow:
    """A firing alert as a group message previews it."""

    id: int
    title: str
    severity: str
    labels: dict[str, str]
    links: dict[str, str]


class AlertStore(Protocol):
    """Alert storage over one transaction."""

    def lock_group(self, group: GroupRef) -> None:
        """Serialize routing of one group across replicas (no-op where one writer exists)."""
        ...

    def find(
        self, workspace: str, keys: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredAlert]:
        """Stored alerts by (source, fingerprint); route and rule are in ``extra``."""
        ...

    def write(self, rows: Sequence[AlertWrite]) -> None:
        """Insert new rows and overwrite changed ones."""
        ...

    def touch(self, ids: Sequence[int], now: datetime) -> None:
        """Set ``last_seen_at`` for re-sent, unchanged alerts."""
        ...

    def group_incidents(self, groups: Collection[GroupRef]) -> dict[GroupRef, GroupIncident]:
        """Each group's most recent incident (open or not), for groups that have one."""
        ...

    def group_counts(self, groups: Collection[GroupRef]) -> dict[GroupRef, tuple[int, int]]:
        """(firing, resolved) per group, counting only announced alerts."""
        ...

    def group_sample(self, group: GroupRef, limit: int) -> list[SampleRow]:
        """A few announced firing alerts of a group (any few: this feeds a preview)."""
        ...

    def group_firing(self, group: GroupRef, limit: int) -> list[StoredAlert]:
        """The group's announced firing alerts, oldest first."""
        ...

    def attach_group(self, group: GroupRef, incident_id: int) -> int:
        """Attach the group's announced, unattached firing alerts to an incident (their
        timeline note due); the count."""
        ...

    def pending_notes(self, groups: Collection[GroupRef]) -> list[PendingNote]:
        """The groups' alert changes waiting for a timeline summary, oldest first (locked)."""
        ...

    def clear_notes(self, ids: Sequence[int]) -> None:
        """Mark alert changes as summarized."""
        ...

    def groups_with_pending_notes(self, workspace: str) -> list[GroupRef]:
        """Every group of ``workspace`` with a summary still due (after a restart)."""
        ...

    def firing_count(self, incident_id: int) -> int:
        """How many of an incident's alerts still fire."""
        ...

    def upsert_messages(
        self,
        intents: Sequence[OutboxIntent],
        now: datetime,
        *,
        backlog: NoticeBacklog | None = None,
    ) -> None:
        """Enqueue in-place message updates, each folded into a still-pending one; with a
        ``backlog``, new notices past its limit become one summary notice instead."""
        ...

    def list_alerts(self, workspace: str, query: AlertQuery) -> list[StoredAlert]:
        """Alerts, most recently seen first."""
        ...

    def add_window(
        self,
        workspace: str,
        *,
        starts_at: datetime,
        ends_at: datetime,
        matchers: Sequence[LabelMatcher],
        reason: str,
        created_by: str,
        now: datetime,
    ) -> MaintenanceWindow:
        """Store a maintenance window."""
        ...

    def windows(
        self, workspace: str, now: datetime, *, include_past: bool = False
    ) -> list[MaintenanceWindow]:
        """Windows that are active or scheduled (or all, newest first, with include_past)."""
        ...

    def get_window(self, workspace: str, window_id: int) -> MaintenanceWindow | None:
        """One window."""
        ...

    def cancel_window(
        self, workspace: str, window_id: int, *, now: datetime, by: str
    ) -> MaintenanceWindow | None:
        """End a window now; None when there is no such window."""
        ...

    def suppressed_firing(self, workspace: str, window_id: int) -> list[StoredAlert]:
        """Alerts a window silenced that are still firing."""
        ...
