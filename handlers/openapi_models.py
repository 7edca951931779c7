"""What the JSON API answers, as pydantic models: the handlers serialize through these and the
OpenAPI document's response schemas are generated from them, so the two cannot drift.

Response models forbid extra keys: a key added to a representation without a field here fails
loudly (in the tests) instead of reaching clients undocumented.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.model import EventKind, Status
from bot.identity.tokens import Scope, TokenKind

# Times are written by ``bot.domain.snapshot.iso`` (``…Z``) or ``bot.audit.jsonable``
# (``…+00:00``); both are RFC 3339, which is what the schema promises.
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class Out(BaseModel):
    """A response model (every handler module's): an unknown key is a bug in the handler,
    not something to document."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(Out):
    """This module's short name for ``Out``."""


class ErrorBody(BaseModel):
    """Every 4xx (and the 5xx that must never happen): a message that says why, and sometimes
    the field at fault or what would be allowed."""

    model_config = ConfigDict(extra="allow", frozen=True)

    error: str = Field(description="what was wrong, safe to show a person")
    field: str | None = Field(default=None, description="the parameter or body field at fault")
    hint: str | None = Field(default=None, description="what to do instead")
    scope: Scope | None = Field(default=None, description="the token scope the route needs")
    allowed: list[str] | None = Field(default=None, description="the statuses allowed from here")
    retry_after: int | None = Field(default=None, description="seconds until a lockout ends")


def error_json(message: str, **extra: object) -> dict[str, Any]:
    """An error body as JSON: ``{"error": message, **extra}``, checked against `ErrorBody`."""
    return ErrorBody.model_validate({"error": message, **extra}).model_dump(
        mode="json", exclude_unset=True
    )


class IncidentOut(_Out):
    """An incident (``bot.domain.snapshot.incident_snapshot``)."""

    workspace: str
    id: int | None
    ref: str = Field(examples=["INC-42"])
    number: int = Field(ge=1)
    title: str
    summary: str
    impact: str
    severity: str = Field(examples=["SEV2"])
    severity_rank: int
    severity_description: str
    status: Status
    is_open: bool
    private: bool
    commander: str | None
    comms_lead: str | None
    scribe: str | None
    declared_by: str
    declared_at: Timestamp | None
    acknowledged_at: Timestamp | None
    mitigated_at: Timestamp | None
    resolved_at: Timestamp | None
    closed_at: Timestamp | None
    last_update_at: Timestamp | None
    next_update_due_at: Timestamp | None
    runbook_url: str
    url: str = Field(description="the incident's web page; empty without SITREP_PUBLIC_URL")
    origin: str
    service: str = Field(description="the affected service; empty when none was given")


class IncidentEnvelope(_Out):
    """One incident."""

    incident: IncidentOut


class IncidentList(_Out):
    """A page of incidents, newest first."""

    incidents: list[IncidentOut]


class TimelineEntryOut(_Out):
    """One timeline entry."""

    id: int
    at: Timestamp
    kind: EventKind
    actor: str
    actor_name: str = Field(description="who the actor is, for people (the id stays in actor)")
    text: str
    data: dict[str, Any]
    source: str
    external_ref: str | None
    pinned: bool


class Timeline(_Out):
    """An incident's timeline, oldest first."""

    timeline: list[TimelineEntryOut]


class StatusUpdateOut(_Out):
    """A stakeholder update as posted."""

    id: int
    at: Timestamp
    author: str
    author_name: str = Field(description="the author's display name")
    text: str
    status: Status
    severity: str


class ActionItemOut(_Out):
    """Follow-up work."""

    id: int
    text: str
    owner: str | None
    due: Timestamp | None
    done: bool
    done_at: Timestamp | None
    created_at: Timestamp | None
    created_by: str
    owner_name: str | None = Field(default=None, description="the owner's display name")
    created_by_name: str | None = Field(default=None, description="the creator's display name")


class Metrics(_Out):
    """Response times measured from the timeline (null until reached)."""

    time_to_acknowledge_seconds: float | None
    time_to_mitigate_seconds: float | None
    time_to_resolve_seconds: float | None


class IncidentDetailOut(IncidentOut):
    """An incident with its metrics, timeline, updates and action items."""

    # Display names of the role holders and the declarer (bot.people); the ids stay above.
    commander_name: str | None
    comms_lead_name: str | None
    scribe_name: str | None
    declared_by_name: str | None
    metrics: Metrics
    timeline: list[TimelineEntryOut]
    updates: list[StatusUpdateOut]
    action_items: list[ActionItemOut]


class StaleEdit(_Out):
    """A PATCH whose ``If-Match`` is no longer the incident's ``ETag``: nothing was changed.
    Merge with the current values and send again with the new ETag."""

    error: str
    etag: str = Field(description="the incident's ETag now")
    current: dict[str, str] = Field(description="the editable fields as they are now")


class EventOut(_Out):
    """What a command changed, one fact at a time."""

    kind: EventKind
    text: str
    at: Timestamp


class CommandResult(_Out):
    """The incident after a command, whether it changed, and the events it wrote."""

    incident: IncidentOut
    changed: bool
    events: list[EventOut]
    action_item: ActionItemOut | None = Field(
        default=None, description="the item an action-item command added or changed"
    )


class AlertOut(_Out):
    """One alert (source + fingerprint) and its latest state."""

    id: int
    source: str
    fingerprint: str
    group_key: str
    status: str = Field(examples=["firing", "resolved"])
    severity: str
    title: str
    description: str
    labels: dict[str, str]
    annotations: dict[str, str]
    links: dict[str, Any]
    starts_at: Timestamp | None
    ends_at: Timestamp | None
    first_seen_at: Timestamp | None
    last_seen_at: Timestamp | None
    incident: str | None = Field(description="the ref of the incident it feeds")
    suppressed_by: int | None = Field(description="the maintenance window silencing it")
    route: str
    rule: str


class AlertList(_Out):
    """A page of alerts."""

    alerts: list[AlertOut]


class GroupDeclared(_Out):
    """The incident an alert group feeds, and whether this call declared it."""

    incident: IncidentOut
    created: bool


class MatcherOut(_Out):
    """A label matcher: ``name op "value"``."""

    name: str
    op: str = Field(examples=["=", "!=", "=~", "!~"])
    value: str


class WindowOut(_Out):
    """A maintenance window."""

    id: int
    state: str = Field(examples=["scheduled", "active", "cancelled", "expired"])
    starts_at: Timestamp | None
    ends_at: Timestamp | None
    matchers: list[MatcherOut]
    matchers_text: str
    reason: str
    created_by: str
    created_at: Timestamp | None
    cancelled_at: Timestamp | None
    cancelled_by: str | None


class WindowList(_Out):
    """Maintenance windows."""

    maintenance: list[WindowOut]


class WindowEnvelope(_Out):
    """One maintenance window."""

    maintenance: WindowOut


class TokenOut(_Out):
    """An API token as listings show it: never its secret."""

    id: int
    owner: str
    owner_name: str
    kind: TokenKind
    name: str
    scopes: list[Scope]
    shown: str = Field(description="the first characters of the secret, to tell tokens apart")
    created_at: Timestamp
    created_by: str
    expires_at: Timestamp | None
    revoked_at: Timestamp | None
    last_used_at: Timestamp | None
    state: str = Field(examples=["active", "expired", "revoked"])


class TokenList(_Out):
    """Every token of the workspace."""

    tokens: list[TokenOut]


class TokenEnvelope(_Out):
    """One token."""

    token: TokenOut


class TokenCreated(_Out):
    """A new token and its secret, shown this once."""

    token: TokenOut
    secret: str
    note: str


class AuditEntryOut(_Out):
    """One entry of the hash-chained audit log."""

    seq: int
    at: Timestamp
    workspace: str
    actor: str
    surface: str
    action: str
    target: str
    incident: str
    detail: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


class AuditPage(_Out):
    """A page of the audit log, in chain order or newest first."""

    entries: list[AuditEntryOut]
    next: int | None = Field(
        description="``after`` (chain order) or ``before`` (newest first) of the next page; "
        "null on the last"
    )


class PublicPreviewOut(_Out):
    """What a public update would publish to the status page; nothing was sent yet."""

    published: Literal[False] = Field(description="always false: nothing was sent yet")
    name: str = Field(description="the page incident's name (used when it is created)")
    status: str = Field(description="investigating, identified, monitoring or resolved")
    body: str = Field(description="exactly the text that will be published")
    component_status: str
    components: list[str]
    impact: str
    creates: bool = Field(description="whether confirming creates the page incident")
