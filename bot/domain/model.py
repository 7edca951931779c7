"""The incident vocabulary: statuses, roles, timeline events and the incident itself.

Everything here is immutable and platform-free. Times are timezone-aware UTC.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        """Open means someone is still working on it."""
        return self not in (Status.RESOLVED, Status.CLOSED)


OPEN_STATUSES: frozenset[Status] = frozenset(s for s in Status if s.is_open)

# Moving back from resolved/closed to investigating is the "reopen" path.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.INVESTIGATING: frozenset({Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED}),
    Status.IDENTIFIED: frozenset({Status.INVESTIGATING, Status.MONITORING, Status.RESOLVED}),
    Status.MONITORING: frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.INVESTIGATING}),
    Status.CLOSED: frozenset({Status.INVESTIGATING}),
}

# Statuses that mean the impact has stopped; the first move into one is "mitigated".
MITIGATED_STATUSES: frozenset[Status] = frozenset(
    {Status.MONITORING, Status.RESOLVED, Status.CLOSED}
)


class Role(StrEnum):
    COMMANDER = "commander"
    COMMS_LEAD = "comms_lead"
    SCRIBE = "scribe"

    @property
    def label(self) -> str:
        """Human label for chat and exports."""
        return {"commander": "Commander", "comms_lead": "Comms lead", "scribe": "Scribe"}[
            self.value
        ]


class EventKind(StrEnum):
    DECLARED = "declared"
    ACKNOWLEDGED = "acknowledged"
    STATUS_CHANGED = "status_changed"
    SEVERITY_CHANGED = "severity_changed"
    ROLE_ASSIGNED = "role_assigned"
    STATUS_UPDATE = "status_update"
    NOTE = "note"
    ACTION_ITEM_ADDED = "action_item_added"
    ACTION_ITEM_DONE = "action_item_done"
    ACTION_ITEM_REOPENED = "action_item_reopened"
    FIELD_CHANGED = "field_changed"
    PRIVACY_CHANGED = "privacy_changed"
    REMINDERS_CHANGED = "reminders_changed"
    ALERT_FIRING = "alert_firing"
    ALERT_RESOLVED = "alert_resolved"
    MESSAGE_CAPTURED = "message_captured"
    MESSAGE_EDITED = "message_edited"
    MESSAGE_DELETED = "message_deleted"
    PAGED = "paged"
    PAGE_ACKNOWLEDGED = "page_acknowledged"
    POSTMORTEM_REVIEWED = "postmortem_reviewed"
    TICKET_REQUESTED = "ticket_requested"
    TICKET_LINKED = "ticket_linked"
    PUBLIC_UPDATE_CONFIRMED = "public_update_confirmed"
    PUBLISH_REQUESTED = "publish_requested"
    POSTMORTEM_PUBLISHED = "postmortem_published"


# The written sections of a postmortem, in the order the editor and the exports show them.
POSTMORTEM_SECTIONS: tuple[str, ...] = (
    "impact",
    "root_cause",
    "contributing_factors",
    "what_went_well",
    "what_went_wrong",
    "lessons",
)

# Free-text fields a responder may set; the postmortem renders them.
EDITABLE_FIELDS: tuple[str, ...] = ("title", "summary", *POSTMORTEM_SECTIONS, "runbook_url")


def text_version(text: str) -> str:
    """The version of a section's text an edit is based on: a fingerprint of the text itself.

    Per section and by content, so two people editing different sections (or anything else on
    the incident changing) never conflict, and a stale edit is caught whatever came between.
    """
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Event:
    """One fact about an incident; persisted as a timeline entry."""

    kind: EventKind
    at: datetime
    actor: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    source: str = "sitrep"
    external_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident's current state; derived by applying events."""

    workspace: str
    number: int
    title: str
    severity: str
    status: Status
    declared_at: datetime
    declared_by: str
    id: int | None = None
    summary: str = ""
    impact: str = ""
    root_cause: str = ""
    contributing_factors: str = ""
    what_went_well: str = ""
    what_went_wrong: str = ""
    lessons: str = ""
    runbook_url: str = ""
    # The affected service ("payments"), for dashboards; "" when nobody said.
    service: str = ""
    private: bool = False
    commander: str | None = None
    comms_lead: str | None = None
    scribe: str | None = None
    origin: str = "api"
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    last_update_at: datetime | None = None
    next_update_due_at: datetime | None = None
    reminders_enabled: bool = True
    # Who marked the postmortem reviewed and when; the review stands through later edits,
    # which ``postmortem_edited_at`` records so pages can say "edited since review".
    postmortem_reviewed_at: datetime | None = None
    postmortem_reviewed_by: str | None = None
    postmortem_edited_at: datetime | None = None
    version: int = 0

    @property
    def ref(self) -> str:
        """Public reference, e.g. ``INC-42``."""
        return f"INC-{self.number}"

    @property
    def is_open(self) -> bool:
        """True until resolved or closed."""
        return self.status.is_open

    @property
    def edited_since_review(self) -> bool:
        """True when a postmortem section changed after the last review."""
        reviewed, edited = self.postmortem_reviewed_at, self.postmortem_edited_at
        return reviewed is not None and edited is not None and edited > reviewed

    def role_holder(self, role: Role) -> str | None:
        """Who holds a role, if anyone."""
        return {
            Role.COMMANDER: self.commander,
            Role.COMMS_LEAD: self.comms_lead,
            Role.SCRIBE: self.scribe,
        }[role]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """A stored timeline event, as read back."""

    id: int
    incident_id: int
    at: datetime
    kind: EventKind
    actor: str
    text: str
    data: dict[str, Any]
    source: str
    external_ref: str | None = None
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A stakeholder update as posted."""

    id: int
    incident_id: int
    at: datetime
    author: str
    text: str
    status: Status
    severity: str


@dataclass(frozen=True, slots=True)
class ActionItem:
    """Follow-up work that outlives the incident."""

    id: int
    incident_id: int
    text: str
    created_at: datetime
    created_by: str
    owner: str | None = None
    due: datetime | None = None
    done_at: datetime | None = None
    done_by: str | None = None

    @property
    def done(self) -> bool:
        """True once completed."""
        return self.done_at is not None
