"""Commands: what a person (or an alert rule) asks the incident core to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.model import Role, Status


@dataclass(frozen=True, slots=True)
class Declare:
    title: str
    severity: str | None = None
    summary: str = ""
    private: bool = False
    commander: str | None = None
    origin: str = "api"
    runbook_url: str = ""
    service: str = ""


@dataclass(frozen=True, slots=True)
class Acknowledge:
    pass


@dataclass(frozen=True, slots=True)
class ChangeStatus:
    status: Status
    text: str = ""


@dataclass(frozen=True, slots=True)
class ChangeSeverity:
    severity: str


@dataclass(frozen=True, slots=True)
class AssignRole:
    role: Role
    user: str


@dataclass(frozen=True, slots=True)
class PostUpdate:
    """A stakeholder status update."""

    text: str


@dataclass(frozen=True, slots=True)
class PublishUpdate:
    """A stakeholder update, confirmed after its preview, that also goes to the status page."""

    text: str


@dataclass(frozen=True, slots=True)
class AddNote:
    text: str


@dataclass(frozen=True, slots=True)
class AddActionItem:
    text: str
    owner: str | None = None
    due: datetime | None = None


@dataclass(frozen=True, slots=True)
class SetActionItemDone:
    item_id: int
    done: bool = True


@dataclass(frozen=True, slots=True)
class EditField:
    """Set a text field. ``base``, when given, is the ``text_version`` of the text the edit
    started from: if the field has changed since, the edit is refused (EditConflict)."""

    field: str
    value: str
    base: str | None = None


@dataclass(frozen=True, slots=True)
class MarkPostmortemReviewed:
    """Record that the postmortem was reviewed (by the actor, now)."""


@dataclass(frozen=True, slots=True)
class SetReminders:
    """Snooze reminders until ``until``, or turn them off (``enabled=False``)."""

    enabled: bool
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class CaptureMessage:
    """Put a chat message on the timeline (pin reaction, message shortcut)."""

    external_ref: str
    author: str
    text: str
    link: str = ""
    posted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EditCapturedMessage:
    external_ref: str
    text: str


@dataclass(frozen=True, slots=True)
class DeleteCapturedMessage:
    external_ref: str


@dataclass(frozen=True, slots=True)
class RecordAlerts:
    """Alerts of this incident changed state; one timeline entry per direction, not per alert."""

    source: str
    group_key: str
    firing: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    """Page on-call through a configured target (a PagerDuty service, an Opsgenie team)."""

    target: str


@dataclass(frozen=True, slots=True)
class RecordPageAck:
    """The paging service reports that ``by`` acknowledged the page to ``target``.

    ``external_ref`` identifies the report (the webhook event), so a replay records nothing.
    """

    target: str
    service: str
    by: str
    external_ref: str


@dataclass(frozen=True, slots=True)
class RequestTicket:
    """Open a ticket for the incident in every configured ticket service, or in ``service``."""

    service: str | None = None


@dataclass(frozen=True, slots=True)
class RecordTicketLink:
    """A ticket service created a ticket for the incident (or for its action item ``item_id``).

    ``key`` is what people read (``OPS-12``, ``INC0010001``), ``id`` what later calls target
    (the Jira key, the ServiceNow ``sys_id``); ``label`` names the kind (``Jira issue``).
    """

    service: str
    label: str
    key: str
    id: str
    url: str
    item_id: int | None = None


@dataclass(frozen=True, slots=True)
class RequestPublish:
    """Publish the postmortem to ``service`` (``confluence``, ``notion``), or update its page."""

    service: str


@dataclass(frozen=True, slots=True)
class RecordPublished:
    """A publishing service holds the postmortem as page ``id`` at ``url``, ``version`` n."""

    service: str
    label: str
    id: str
    url: str
    version: int


Command = (
    Acknowledge
    | ChangeStatus
    | ChangeSeverity
    | AssignRole
    | PostUpdate
    | PublishUpdate
    | AddNote
    | AddActionItem
    | SetActionItemDone
    | EditField
    | MarkPostmortemReviewed
    | SetReminders
    | CaptureMessage
    | EditCapturedMessage
    | DeleteCapturedMessage
    | RecordAlerts
    | Page
    | RecordPageAck
    | RequestTicket
    | RecordTicketLink
    | RequestPublish
    | RecordPublished
)
