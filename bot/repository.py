"""What the core needs from storage. ``storage.repo.SqlRepo`` implements it.

Kept as a Protocol so the core imports no ORM, and tests can check the contract.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot.alerting.store import AlertStore
from bot.audit import AuditEntry, AuditQuery
from bot.domain.alert import StoredAlert
from bot.domain.model import (
    ActionItem,
    Event,
    EventKind,
    Incident,
    Status,
    StatusUpdate,
    TimelineEntry,
)
from bot.identity.sessions import NewSession, WebSession
from bot.identity.tokens import ApiToken, NewToken
from bot.outbox_types import OutboxIntent, OutboxRecord, OutboxState
from bot.scheduling.store import ScheduleStore
from bot.search.store import SearchStore
from bot.security.access import Access
from bot.similar.store import SimilarStore
from bot.stats_store import StatsStore

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PersonEntry:
    """A cached name (``display`` is "" when the owning platform said it knows no such id)."""

    display: str
    source: str
    updated_at: datetime


class Repo(Protocol):
    """Repository over one transaction."""

    @property
    def alerts(self) -> AlertStore: ...
    @property
    def schedules(self) -> ScheduleStore: ...
    @property
    def search(self) -> SearchStore: ...
    @property
    def stats(self) -> StatsStore: ...
    @property
    def similar(self) -> SimilarStore: ...

    def next_incident_number(self, workspace: str) -> int: ...
    def add_incident(self, incident: Incident) -> Incident: ...
    def save_incident(self, incident: Incident) -> None: ...
    def get_incident(
        self, workspace: str, number: int, *, for_update: bool = False
    ) -> Incident | None: ...
    def get_incident_by_id(self, incident_id: int) -> Incident | None: ...
    def list_incidents(
        self,
        workspace: str,
        *,
        statuses: Sequence[Status] | None = None,
        severity: str | None = None,
        limit: int = 100,
        offset: int = 0,
        private_for: Collection[str] | None = None,
    ) -> list[Incident]: ...
    def acted_on(self, incident_id: int, actor_ids: Collection[str]) -> bool: ...
    def append_events(self, incident_id: int, events: Sequence[Event]) -> list[TimelineEntry]: ...
    def timeline(
        self,
        incident_id: int,
        *,
        batch: int = 2000,
        kinds: Collection[EventKind] | None = None,
    ) -> Iterator[TimelineEntry]: ...
    def timeline_by_external_ref(self, incident_id: int, ref: str) -> TimelineEntry | None: ...
    def update_captured_message(
        self, entry_id: int, *, text: str | None, deleted: bool
    ) -> None: ...
    def add_status_update(
        self, incident: Incident, *, at: datetime, author: str, text: str
    ) -> StatusUpdate: ...
    def status_updates(self, incident_id: int) -> list[StatusUpdate]: ...
    def add_action_item(
        self,
        incident_id: int,
        *,
        text: str,
        owner: str | None,
        due: datetime | None,
        at: datetime,
        by: str,
    ) -> ActionItem: ...
    def get_action_item(self, incident_id: int, item_id: int) -> ActionItem | None: ...
    def set_action_item_done(
        self, item_id: int, *, done: bool, at: datetime, by: str
    ) -> ActionItem: ...
    def action_items(self, incident_id: int) -> list[ActionItem]: ...
    def alerts_for_incident(self, incident_id: int) -> list[StoredAlert]: ...
    def enqueue(self, intents: Sequence[OutboxIntent], now: datetime) -> None: ...
    def claim_outbox(
        self,
        platforms: Sequence[str],
        now: datetime,
        *,
        limit: int,
        lease: timedelta,
        workspaces: Collection[str],
        max_bulk: int | None = None,
    ) -> list[OutboxRecord]: ...
    def finish_outbox(
        self,
        message_id: int,
        *,
        state: OutboxState,
        now: datetime,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None: ...
    def release_outbox(self, message_id: int, now: datetime) -> None: ...
    def reserve_send_slot(
        self, platform: str, room: str, now: float, interval: float, burst: int
    ) -> float: ...
    def try_send_slot(
        self, platform: str, room: str, now: float, interval: float, burst: int
    ) -> float: ...
    def supersede_outbox(
        self, message_id: int, *, workspace: str, platform: str, action: str, target: str
    ) -> bool: ...
    def outbox_depth(self, workspace: str | None = None) -> list[tuple[str, str, int]]: ...
    def list_outbox(
        self,
        *,
        states: Sequence[OutboxState] | None = None,
        limit: int = 100,
        workspace: str | None = None,
    ) -> list[OutboxRecord]: ...
    def retry_parked(
        self, now: datetime, message_id: int | None = None, *, workspace: str | None = None
    ) -> int: ...
    def incident_counts(self, workspace: str | None = None) -> list[tuple[str, str, str, int]]: ...
    def open_action_items_due(
        self, workspace: str, now: datetime
    ) -> list[tuple[ActionItem, int]]: ...
    def get_chat_ref(self, workspace: str, platform: str, key: str) -> dict[str, Any] | None: ...
    def put_chat_ref(
        self,
        workspace: str,
        platform: str,
        key: str,
        ref: dict[str, Any],
        *,
        now: datetime,
        incident_id: int | None = None,
    ) -> None: ...
    def incident_for_room(self, workspace: str, platform: str, room_id: str) -> Incident | None: ...
    def first_sighting(self, key: str, now: datetime) -> bool: ...
    def intake_result(self, key: str) -> str | None: ...
    def set_intake_result(self, key: str, result: str) -> None: ...
    def forget_intake_keys(self, before: datetime) -> int: ...
    def audit(
        self,
        workspace: str,
        *,
        at: datetime,
        actor: str,
        action: str,
        target: str = "",
        detail: dict[str, Any] | None = None,
        surface: str = "",
        incident: str = "",
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditEntry: ...
    def audit_entries(
        self, workspace: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[AuditEntry]: ...
    def audit_search(self, workspace: str, query: AuditQuery) -> list[AuditEntry]: ...
    def add_token(
        self, new: NewToken, *, secret_hash: str, shown: str, now: datetime, by: str
    ) -> ApiToken: ...
    def token_by_hash(self, secret_hash: str) -> ApiToken | None: ...
    def list_tokens(self, workspace: str) -> list[ApiToken]: ...
    def revoke_token(
        self, workspace: str, token_id: int, now: datetime
    ) -> tuple[ApiToken, bool] | None: ...
    def touch_token(self, token_id: int, now: datetime) -> None: ...
    def person_names(self, workspace: str, actors: Collection[str]) -> dict[str, str]: ...
    def person_entries(self, workspace: str, actors: Collection[str]) -> dict[str, PersonEntry]: ...
    def put_person(
        self,
        workspace: str,
        actor: str,
        display: str,
        source: str,
        now: datetime,
        *,
        touch: bool = False,
    ) -> None: ...
    def put_person_alias(
        self, workspace: str, alias: str, actor: str, source: str, now: datetime
    ) -> None: ...
    def person_for_alias(self, workspace: str, alias: str) -> str | None: ...
    def timeline_actors(self, incident_id: int) -> list[str]: ...
    def add_web_session(self, new: NewSession, secret_hash: str) -> WebSession: ...
    def web_session_by_hash(self, secret_hash: str) -> WebSession | None: ...
    def touch_web_session(self, session_id: int, now: datetime) -> None: ...
    def list_web_sessions(
        self, workspace: str, now: datetime, *, person: str | None = None, ended: bool = False
    ) -> list[WebSession]: ...
    def revoke_web_sessions(
        self,
        workspace: str,
        now: datetime,
        *,
        ids: Collection[int] | None = None,
        person: str | None = None,
        keep: int | None = None,
    ) -> list[WebSession]: ...
    def demote_web_sessions(
        self, workspace: str, person: str, role: Access, now: datetime
    ) -> int: ...
    def prune_web_sessions(self, workspace: str, now: datetime) -> int: ...


class UnitOfWork(Protocol):
    """Runs a function in one transaction and returns its result."""

    async def run(self, fn: Callable[[Repo], T]) -> T: ...


class Database(UnitOfWork, Protocol):
    """A unit of work the process owns: it can be probed and must be closed at shutdown.

    ``storage.db.Database`` implements it; the composition root (handlers.compose) builds one
    and hands it to the core, which never names the storage class.
    """

    @property
    def dialect(self) -> str: ...
    async def ping(self) -> bool: ...
    def close(self) -> None: ...
