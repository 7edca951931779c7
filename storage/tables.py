"""SQLModel tables. Only storage/ imports these; the core sees domain dataclasses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, TypeDecorator, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on SQLite (which has no time zones) and Postgres alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; sitrep stores aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_col(*, nullable: bool = True, index: bool = False) -> Any:
    """A UTC timestamp column."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def json_col() -> Any:
    """A JSON column defaulting to an empty object."""
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class IncidentRow(SQLModel, table=True):
    __tablename__ = "incident"
    __table_args__ = (
        UniqueConstraint("workspace", "number", name="uq_incident_workspace_number"),
        Index("ix_incident_workspace_status", "workspace", "status"),
        # Dashboards read a workspace's incidents by declaration time; the other columns make
        # it covering, so the figures scan the index in order instead of visiting every row.
        Index(
            "ix_incident_workspace_declared",
            "workspace",
            "declared_at",
            "severity",
            "service",
            "acknowledged_at",
            "resolved_at",
            "private",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=64)
    number: int
    title: str = Field(max_length=200)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    impact: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    root_cause: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    contributing_factors: str = Field(
        default="", sa_column=Column(Text, nullable=False, default="")
    )
    what_went_well: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    what_went_wrong: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    lessons: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    runbook_url: str = Field(default="", max_length=2000)
    service: str = Field(default="", max_length=100)
    severity: str = Field(max_length=32)
    status: str = Field(max_length=32)
    private: bool = False
    commander: str | None = Field(default=None, max_length=200)
    comms_lead: str | None = Field(default=None, max_length=200)
    scribe: str | None = Field(default=None, max_length=200)
    declared_by: str = Field(max_length=200)
    origin: str = Field(default="api", max_length=32)
    declared_at: datetime = utc_col(nullable=False)
    acknowledged_at: datetime | None = utc_col()
    mitigated_at: datetime | None = utc_col()
    resolved_at: datetime | None = utc_col()
    closed_at: datetime | None = utc_col()
    last_update_at: datetime | None = utc_col()
    next_update_due_at: datetime | None = utc_col(index=True)
    reminders_enabled: bool = True
    postmortem_reviewed_at: datetime | None = utc_col()
    postmortem_reviewed_by: str | None = Field(default=None, max_length=200)
    postmortem_edited_at: datetime | None = utc_col()
    version: int = 0


class TimelineEventRow(SQLModel, table=True):
    __tablename__ = "timeline_event"
    __table_args__ = (
        Index("ix_timeline_incident_at", "incident_id", "at"),
        Index("ix_timeline_external_ref", "incident_id", "external_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    at: datetime = utc_col(nullable=False)
    kind: str = Field(max_length=40)
    actor: str = Field(max_length=200)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    data: dict[str, Any] = json_col()
    source: str = Field(default="sitrep", max_length=40)
    external_ref: str | None = Field(default=None, max_length=300)
    pinned: bool = False


class StatusUpdateRow(SQLModel, table=True):
    __tablename__ = "status_update"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    at: datetime = utc_col(nullable=False)
    author: str = Field(max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=32)
    severity: str = Field(max_length=32)


class ActionItemRow(SQLModel, table=True):
    __tablename__ = "action_item"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    owner: str | None = Field(default=None, max_length=200)
    due: datetime | None = utc_col()
    created_at: datetime = utc_col(nullable=False)
    created_by: str = Field(max_length=200)
    done_at: datetime | None = utc_col()
    done_by: str | None = Field(default=None, max_length=200)


class AlertRow(SQLModel, table=True):
    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("workspace", "source", "fingerprint", name="uq_alert_fingerprint"),
        # Per group: its latest incident (max incident_id) and the counts the alerts-channel
        # message shows, both answered from the index alone, even for a 10,000-alert group.
        Index(
            "ix_alert_group", "workspace", "source", "group_key", "incident_id", "status", "route"
        ),
        # "Has every alert of this incident resolved?" without reading the rows.
        Index("ix_alert_incident", "incident_id", "status"),
        # Only alerts whose change is not yet summarized on their incident's timeline: small.
        Index(
            "ix_alert_note_due",
            "workspace",
            "source",
            "group_key",
            sqlite_where=text("note_due"),
            postgresql_where=text("note_due"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=64)
    source: str = Field(max_length=32)
    fingerprint: str = Field(max_length=200)
    group_key: str = Field(max_length=500)
    status: str = Field(max_length=16)
    severity: str = Field(default="", max_length=32)
    title: str = Field(default="", max_length=500)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    labels: dict[str, Any] = json_col()
    annotations: dict[str, Any] = json_col()
    links: dict[str, Any] = json_col()
    starts_at: datetime | None = utc_col()
    ends_at: datetime | None = utc_col()
    first_seen_at: datetime = utc_col(nullable=False)
    last_seen_at: datetime = utc_col(nullable=False)
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    suppressed_by: int | None = Field(default=None)
    # How routing treated the alert when it last fired: declare, attach, notify, ignore,
    # suppressed (a maintenance window), or "" (only ever seen resolved).
    route: str = Field(default="", max_length=16)
    rule: str = Field(default="", max_length=100)
    # True while this alert's last change waits to be summarized on its incident's timeline
    # (summaries are rate-limited per group; this marker makes a deferred one survive a crash).
    note_due: bool = Field(default=False)


class OutboxMessageRow(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        # Claims and lanes are per workspace (a process claims only the workspaces it holds
        # credentials for), so workspace leads: another workspace's backlog is never scanned.
        Index("ix_outbox_ws_due", "workspace", "state", "platform", "next_attempt_at"),
        Index("ix_outbox_ws_order", "workspace", "platform", "ordering_key", "id"),
        # Claims read due rows most urgent first (bot.outbox_types.Priority), then oldest.
        Index("ix_outbox_claim", "state", "platform", "priority", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=64)
    platform: str = Field(max_length=16)
    ordering_key: str = Field(max_length=200)
    action: str = Field(max_length=32)
    payload: dict[str, Any] = json_col()
    idempotency_key: str = Field(max_length=300, unique=True)
    state: str = Field(default="pending", max_length=16)
    # Lower is claimed first; see bot.outbox_types.Priority.
    priority: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    attempts: int = 0
    created_at: datetime = utc_col(nullable=False)
    next_attempt_at: datetime = utc_col(nullable=False)
    claimed_until: datetime | None = utc_col()
    delivered_at: datetime | None = utc_col()
    last_error: str | None = Field(default=None, max_length=1000)
    result: dict[str, Any] = json_col()


class ChatRefRow(SQLModel, table=True):
    """Where a logical thing (an incident's room, its summary message) lives on a platform."""

    __tablename__ = "chat_ref"
    __table_args__ = (
        UniqueConstraint("workspace", "platform", "key", name="uq_chat_ref"),
        Index("ix_chat_ref_external", "platform", "external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=64)
    platform: str = Field(max_length=16)
    key: str = Field(max_length=300)
    ref: dict[str, Any] = json_col()
    # The platform's own id (channel id, conversation id), for "which incident is this room?"
    external_id: str | None = Field(default=None, max_length=300)
    incident_id: int | None = Field(default=None, index=True)
    updated_at: datetime = utc_col(nullable=False)


class IntakeKeyRow(SQLModel, table=True):
    """Seen delivery ids (Slack retries, webhook ids, button clicks): a replay changes nothing."""

    __tablename__ = "intake_key"

    key: str = Field(primary_key=True, max_length=300)
    seen_at: datetime = utc_col(nullable=False, index=True)
    result: str | None = Field(default=None, max_length=300)


class MaintenanceWindowRow(SQLModel, table=True):
    __tablename__ = "maintenance_window"
    __table_args__ = (Index("ix_maintenance_window_active", "workspace", "ends_at"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=64)
    starts_at: datetime = utc_col(nullable=False)
    ends_at: datetime = utc_col(nullable=False)
    matchers: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    reason: str = Field(default="", max_length=1000)
    created_by: str = Field(max_length=200)
    created_at: datetime = utc_col(nullable=False)
    cancelled_at: datetime | None = utc_col()
    cancelled_by: str | None = Field(default=None, max_length=200)


class DueJobRow(SQLModel, table=True):
    """Scheduled work with a due time; a tick claims it, so restarts and replicas agree.

    UNIQUE(kind, dedup_key) is the exactly-once primitive: whoever inserts the row does the
    work in the same transaction; a replica that loses the race inserts nothing.
    """

    __tablename__ = "due_job"
    __table_args__ = (
        UniqueConstraint("kind", "dedup_key", name="uq_due_job"),
        # A scheduler claims only its own workspace's jobs.
        Index("ix_due_job_ws_due", "workspace", "state", "due_at"),
        Index("ix_due_job_incident", "kind", "incident_id", "anchor_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=64)
    kind: str = Field(max_length=40)
    dedup_key: str = Field(max_length=300)
    due_at: datetime = utc_col(nullable=False)
    payload: dict[str, Any] = json_col()
    state: str = Field(default="pending", max_length=16)
    done_at: datetime | None = utc_col()
    # Per-incident jobs: which incident, and the deadline they are about (its
    # next_update_due_at), so "already reminded for this deadline?" is an indexed lookup.
    incident_id: int | None = Field(default=None)
    anchor_at: datetime | None = utc_col()
    created_at: datetime | None = utc_col()


class AuditEntryRow(SQLModel, table=True):
    """Append-only; each row is chained to the one before it (bot.audit)."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        # One successor per entry: two writers that read the same head cannot both append.
        Index("ux_audit_entry_chain", "workspace", "seq", unique=True),
        # The admin page filters in storage and pages by seq (keyset), so each filter needs an
        # index that ends in seq; a time range is found through at.
        Index("ix_audit_entry_ws_actor", "workspace", "actor", "seq"),
        Index("ix_audit_entry_ws_incident", "workspace", "incident", "seq"),
        Index("ix_audit_entry_ws_surface", "workspace", "surface", "seq"),
        Index("ix_audit_entry_ws_at", "workspace", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=64, index=True)
    seq: int = Field(default=0)
    at: datetime = utc_col(nullable=False)
    actor: str = Field(max_length=200)
    surface: str = Field(default="", max_length=16)
    action: str = Field(max_length=80)
    target: str = Field(default="", max_length=200)
    incident: str = Field(default="", max_length=40)
    detail: dict[str, Any] = json_col()
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64)


class ApiTokenRow(SQLModel, table=True):
    """A personal or service API token: only the SHA-256 of its secret is kept."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=64, index=True)
    owner: str = Field(max_length=200)
    owner_name: str = Field(default="", max_length=200)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=100)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    token_hash: str = Field(max_length=64, unique=True, index=True)
    shown: str = Field(max_length=16)
    created_at: datetime = utc_col(nullable=False)
    created_by: str = Field(max_length=200)
    expires_at: datetime | None = utc_col()
    revoked_at: datetime | None = utc_col()
    last_used_at: datetime | None = utc_col()


class ChannelPaceRow(SQLModel, table=True):
    """When a chat channel may next be written to: one shared pace for every replica."""

    __tablename__ = "channel_pace"

    platform: str = Field(primary_key=True, max_length=16)
    room: str = Field(primary_key=True, max_length=200)
    next_at: float = Field(default=0.0)  # seconds since the epoch


class PersonRow(SQLModel, table=True):
    """A person's display name by actor id, cached from whoever last told us (bot.people)."""

    __tablename__ = "person"

    workspace: str = Field(max_length=64, primary_key=True)
    actor: str = Field(max_length=200, primary_key=True)
    display: str = Field(max_length=200)
    # Who said so: "actor" (seen acting), "slack" (users.info), "teams" (roster).
    source: str = Field(max_length=16)
    updated_at: datetime = utc_col(nullable=False)


class PersonAliasRow(SQLModel, table=True):
    """Another id the same person is known by, pointing at their actor id (bot.people).

    E.g. ``entra:<tenant>/<object id>`` → their Teams ``29:…`` id, learnt from Teams activities,
    so an Entra ID sign-in on the web acts as that Teams user.
    """

    __tablename__ = "person_alias"

    workspace: str = Field(max_length=64, primary_key=True)
    alias: str = Field(max_length=200, primary_key=True)
    actor: str = Field(max_length=200)
    # Who vouched for the link: "teams" (an activity carrying both ids).
    source: str = Field(max_length=16)
    updated_at: datetime = utc_col(nullable=False)


class WebSessionRow(SQLModel, table=True):
    """A signed-in browser: only the SHA-256 of the cookie's secret is kept (bot.identity)."""

    __tablename__ = "web_session"
    __table_args__ = (
        Index("ix_web_session_ws_person", "workspace", "person"),
        Index("ix_web_session_ws_expires", "workspace", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=64)
    session_hash: str = Field(max_length=64, unique=True, index=True)
    person: str = Field(max_length=200)
    name: str = Field(default="", max_length=200)
    role: str = Field(max_length=16)
    user_agent: str = Field(default="", max_length=300)
    created_at: datetime = utc_col(nullable=False)
    last_seen_at: datetime = utc_col(nullable=False)
    expires_at: datetime = utc_col(nullable=False)
    revoked_at: datetime | None = utc_col()


class SearchDocRow(SQLModel, table=True):
    """One searchable piece of an incident (a field, a timeline entry, an update, an action
    item, its alerts' labels), kept in step with its source in the same transaction.

    The full-text index over ``body`` is per dialect and lives in migration 0007 only: an FTS5
    table ``search_fts`` (external content: this table) kept by triggers on SQLite, a
    generated ``tsv`` tsvector column with a GIN index on PostgreSQL. ``id`` grows with every
    new document, so "newest matches first" is an index order on both.
    """

    __tablename__ = "search_doc"
    __table_args__ = (UniqueConstraint("kind", "ref_id", name="uq_search_doc_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(index=True)
    kind: str = Field(max_length=24)
    # The source row's id: the incident's for its fields and alert labels.
    ref_id: int
    body: str = Field(sa_column=Column(Text, nullable=False))
