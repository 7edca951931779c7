"""Repository functions: the only code that reads and writes the tables.

One ``SqlRepo`` wraps one session, i.e. one transaction. It speaks domain dataclasses in and
out, so the core never sees a row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.audit import GENESIS, AuditDraft, AuditEntry, AuditQuery, seal
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
from bot.identity.tokens import ApiToken, NewToken, Scope, TokenKind
from bot.outbox_types import OutboxIntent, OutboxRecord, OutboxState, is_bulk
from bot.repository import PersonEntry
from bot.security.access import Access
from storage.alert_repo import AlertRepo, alert_from_row
from storage.schedule_repo import ScheduleRepo
from storage.search_repo import SearchIndex, SearchRepo
from storage.similar_repo import SimilarRepo
from storage.stats_repo import StatsRepo
from storage.tables import (
    ActionItemRow,
    AlertRow,
    ApiTokenRow,
    AuditEntryRow,
    ChatRefRow,
    IncidentRow,
    IntakeKeyRow,
    OutboxMessageRow,
    PersonAliasRow,
    PersonRow,
    StatusUpdateRow,
    TimelineEventRow,
    WebSessionRow,
)
from storage.visibility import visible_to

_INCIDENT_FIELDS = [f.name for f in dataclasses.fields(Incident) if f.name != "status"]
_INCIDENT_TABLE = IncidentRow.__table__  # type: ignore[attr-defined]
_SAVED_FIELDS = [name for name in _INCIDENT_FIELDS if name != "id"] + ["status"]
# Every command on an incident saves it: one statement built once, so each save only binds
# values (building an ORM UPDATE of every column per call cost milliseconds).
_SAVE_INCIDENT = (
    update(_INCIDENT_TABLE)
    .where(
        _INCIDENT_TABLE.c.id == bindparam("row_id"),
        _INCIDENT_TABLE.c.version == bindparam("expected_version"),
    )
    .values(
        {name: bindparam(f"v_{name}", type_=_INCIDENT_TABLE.c[name].type) for name in _SAVED_FIELDS}
    )
)


_AUDIT_TABLE = AuditEntryRow.__table__  # type: ignore[attr-defined]
_AUDIT_HEAD = (
    sa_select(_AUDIT_TABLE.c.seq, _AUDIT_TABLE.c.hash)
    .where(_AUDIT_TABLE.c.workspace == bindparam("ws"))
    .order_by(_AUDIT_TABLE.c.seq.desc())
    .limit(1)
)
_AUDIT_INSERT = _AUDIT_TABLE.insert()


def _to_incident(row: IncidentRow) -> Incident:
    values = {name: getattr(row, name) for name in _INCIDENT_FIELDS}
    return Incident(status=Status(row.status), **values)


def _to_entry(row: TimelineEventRow) -> TimelineEntry:
    assert row.id is not None
    return TimelineEntry(
        id=row.id,
        incident_id=row.incident_id,
        at=row.at,
        kind=EventKind(row.kind),
        actor=row.actor,
        text=row.text,
        data=dict(row.data or {}),
        source=row.source,
        external_ref=row.external_ref,
        pinned=row.pinned,
    )


def _to_action_item(row: ActionItemRow) -> ActionItem:
    assert row.id is not None
    return ActionItem(
        id=row.id,
        incident_id=row.incident_id,
        text=row.text,
        owner=row.owner,
        due=row.due,
        created_at=row.created_at,
        created_by=row.created_by,
        done_at=row.done_at,
        done_by=row.done_by,
    )


def _to_outbox(row: OutboxMessageRow) -> OutboxRecord:
    assert row.id is not None
    return OutboxRecord(
        id=row.id,
        workspace=row.workspace,
        platform=row.platform,
        ordering_key=row.ordering_key,
        action=row.action,
        payload=dict(row.payload or {}),
        idempotency_key=row.idempotency_key,
        state=OutboxState(row.state),
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
        result=dict(row.result or {}),
        priority=row.priority,
    )


class SqlRepo:
    """Repository over one session (one transaction)."""

    def __init__(self, session: Session, dialect: str) -> None:
        self.session = session
        self.dialect = dialect
        self.alerts = AlertRepo(session, dialect)
        self.schedules = ScheduleRepo(session, dialect)
        self.search = SearchRepo(session, dialect)
        # Keeps the search index in step with every write below, in the same transaction.
        self.index = SearchIndex(session, dialect)
        self.stats = StatsRepo(session, dialect)
        self.similar = SimilarRepo(session, dialect)

    # -- incidents -------------------------------------------------------------------------

    def next_incident_number(self, workspace: str) -> int:
        """The next INC number for a workspace; concurrent declares take turns."""
        if self.dialect == "postgresql":
            # Without this, concurrent declares (threads, replicas) read the same max and all
            # but one lose on the unique constraint. The lock is held until commit.
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"sitrep:incident-number:{workspace}"},
            )
        current = self.session.exec(
            select(func.max(IncidentRow.number)).where(IncidentRow.workspace == workspace)
        ).one()
        return int(current or 0) + 1

    def add_incident(self, incident: Incident) -> Incident:
        """Insert a new incident; returns it with its id."""
        values = {name: getattr(incident, name) for name in _INCIDENT_FIELDS if name != "id"}
        row = IncidentRow(status=incident.status.value, **values)
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise NumberTaken(incident.workspace, incident.number) from exc
        added = dataclasses.replace(incident, id=row.id)
        self.index.incident(added, new=True)
        return added

    def save_incident(self, incident: Incident) -> None:
        """Write the incident's state back (optimistic on ``version``)."""
        assert incident.id is not None
        params = {f"v_{name}": getattr(incident, name) for name in _SAVED_FIELDS}
        params["v_status"] = incident.status.value
        params["row_id"] = incident.id
        params["expected_version"] = incident.version - 1
        result = self.session.connection().execute(_SAVE_INCIDENT, params)
        if result.rowcount != 1:
            raise StaleIncident(incident.ref)
        self.index.incident(incident)
        # The statement went past the ORM: a copy of the row this session loaded is stale now.
        loaded = self.session.identity_map.get(self.session.identity_key(IncidentRow, incident.id))
        if loaded is not None:
            self.session.expire(loaded)

    def get_incident(
        self, workspace: str, number: int, *, for_update: bool = False
    ) -> Incident | None:
        """One incident by its public number, optionally row-locked."""
        stmt = select(IncidentRow).where(
            IncidentRow.workspace == workspace, IncidentRow.number == number
        )
        if for_update:
            stmt = stmt.with_for_update()
        row = self.session.exec(stmt).first()
        return _to_incident(row) if row else None

    def get_incident_by_id(self, incident_id: int) -> Incident | None:
        """One incident by primary key."""
        row = self.session.get(IncidentRow, incident_id)
        return _to_incident(row) if row else None

    def list_incidents(
        self,
        workspace: str,
        *,
        statuses: Sequence[Status] | None = None,
        severity: str | None = None,
        limit: int = 100,
        offset: int = 0,
        private_for: Collection[str] | None = None,
    ) -> list[Incident]:
        """Newest first, filtered. With ``private_for``, a private incident is listed only if
        one of those ids is a member (bot.security.membership's rule, as SQL, so paging stays
        exact)."""
        stmt = select(IncidentRow).where(IncidentRow.workspace == workspace)
        if private_for is not None:
            stmt = stmt.where(visible_to(list(private_for)))
        if statuses:
            stmt = stmt.where(col(IncidentRow.status).in_([s.value for s in statuses]))
        if severity:
            stmt = stmt.where(IncidentRow.severity == severity)
        stmt = stmt.order_by(col(IncidentRow.number).desc()).offset(offset).limit(limit)
        return [_to_incident(r) for r in self.session.exec(stmt)]

    def incident_counts(self, workspace: str | None = None) -> list[tuple[str, str, str, int]]:
        """(workspace, status, severity, count) for the metrics endpoint (one workspace's
        when ``workspace`` is given)."""
        stmt = select(
            IncidentRow.workspace, IncidentRow.status, IncidentRow.severity, func.count()
        ).group_by(IncidentRow.workspace, IncidentRow.status, IncidentRow.severity)
        if workspace is not None:
            stmt = stmt.where(IncidentRow.workspace == workspace)
        return [(w, s, v, int(n)) for w, s, v, n in self.session.exec(stmt)]

    # -- timeline ----------------------------------------------------------------------------

    def append_events(self, incident_id: int, events: Sequence[Event]) -> list[TimelineEntry]:
        """Write events to the timeline."""
        rows = [
            TimelineEventRow(
                incident_id=incident_id,
                at=ev.at,
                kind=ev.kind.value,
                actor=ev.actor,
                text=ev.text,
                data=_jsonable(ev.data),
                source=ev.source,
                external_ref=ev.external_ref,
                pinned=ev.kind is EventKind.MESSAGE_CAPTURED,
            )
            for ev in events
        ]
        self.session.add_all(rows)
        self.session.flush()
        entries = [_to_entry(r) for r in rows]
        self.index.timeline(entries)
        return entries

    def timeline(
        self,
        incident_id: int,
        *,
        batch: int = 2000,
        kinds: Collection[EventKind] | None = None,
    ) -> Iterator[TimelineEntry]:
        """Timeline in time order, streamed in batches (keyset pagination keeps memory flat)."""
        # Plain column tuples, not ORM objects: a 50,000-entry postmortem is read in a fraction
        # of the time, and nothing accumulates in the session's identity map.
        t = TimelineEventRow.__table__  # type: ignore[attr-defined]
        columns = [
            t.c.id,
            t.c.incident_id,
            t.c.at,
            t.c.kind,
            t.c.actor,
            t.c.text,
            t.c.data,
            t.c.source,
            t.c.external_ref,
            t.c.pinned,
        ]
        last_at: datetime | None = None
        last_id = 0
        while True:
            stmt = sa_select(*columns).where(t.c.incident_id == incident_id)
            if kinds is not None:
                stmt = stmt.where(t.c.kind.in_([k.value for k in kinds]))
            if last_at is not None:
                stmt = stmt.where(or_(t.c.at > last_at, and_(t.c.at == last_at, t.c.id > last_id)))
            stmt = stmt.order_by(t.c.at, t.c.id).limit(batch)
            rows = self.session.execute(stmt).all()
            for r in rows:
                yield TimelineEntry(
                    id=r[0],
                    incident_id=r[1],
                    at=r[2],
                    kind=EventKind(r[3]),
                    actor=r[4],
                    text=r[5],
                    data=dict(r[6] or {}),
                    source=r[7],
                    external_ref=r[8],
                    pinned=bool(r[9]),
                )
            if len(rows) < batch:
                return
            last_at, last_id = rows[-1][2], rows[-1][0]

    def acted_on(self, incident_id: int, actor_ids: Collection[str]) -> bool:
        """Whether any of these ids appears as an actor on the incident's timeline."""
        if not actor_ids:
            return False
        stmt = (
            select(TimelineEventRow.id)
            .where(
                TimelineEventRow.incident_id == incident_id,
                col(TimelineEventRow.actor).in_(list(actor_ids)),
            )
            .limit(1)
        )
        return self.session.exec(stmt).first() is not None

    def timeline_by_external_ref(self, incident_id: int, ref: str) -> TimelineEntry | None:
        """The captured message with this chat ref, if any."""
        row = self.session.exec(
            select(TimelineEventRow).where(
                TimelineEventRow.incident_id == incident_id,
                TimelineEventRow.external_ref == ref,
                TimelineEventRow.kind == EventKind.MESSAGE_CAPTURED.value,
            )
        ).first()
        return _to_entry(row) if row else None

    def update_captured_message(self, entry_id: int, *, text: str | None, deleted: bool) -> None:
        """Keep a captured chat message in step with edits and deletions."""
        row = self.session.get(TimelineEventRow, entry_id)
        if row is None:
            return
        data = dict(row.data or {})
        if text is not None:
            data.setdefault("original_text", row.text)
            data["edited"] = True
            row.text = text
        if deleted:
            data["deleted"] = True
        row.data = data
        self.session.add(row)
        self.index.timeline_text(row.incident_id, entry_id, None if deleted else row.text)

    # -- status updates and action items -----------------------------------------------------

    def add_status_update(
        self, incident: Incident, *, at: datetime, author: str, text: str
    ) -> StatusUpdate:
        """Record a stakeholder update as posted."""
        assert incident.id is not None
        row = StatusUpdateRow(
            incident_id=incident.id,
            at=at,
            author=author,
            text=text,
            status=incident.status.value,
            severity=incident.severity,
        )
        self.session.add(row)
        self.session.flush()
        assert row.id is not None
        update = StatusUpdate(
            row.id, row.incident_id, at, author, text, incident.status, row.severity
        )
        self.index.status_update(update)
        return update

    def status_updates(self, incident_id: int) -> list[StatusUpdate]:
        """All stakeholder updates, oldest first."""
        rows = self.session.exec(
            select(StatusUpdateRow)
            .where(StatusUpdateRow.incident_id == incident_id)
            .order_by(col(StatusUpdateRow.at), col(StatusUpdateRow.id))
        )
        return [
            StatusUpdate(
                r.id or 0, r.incident_id, r.at, r.author, r.text, Status(r.status), r.severity
            )
            for r in rows
        ]

    def add_action_item(
        self,
        incident_id: int,
        *,
        text: str,
        owner: str | None,
        due: datetime | None,
        at: datetime,
        by: str,
    ) -> ActionItem:
        """Create an action item."""
        row = ActionItemRow(
            incident_id=incident_id, text=text, owner=owner, due=due, created_at=at, created_by=by
        )
        self.session.add(row)
        self.session.flush()
        item = _to_action_item(row)
        self.index.action_item(item)
        return item

    def get_action_item(self, incident_id: int, item_id: int) -> ActionItem | None:
        """One action item of an incident."""
        row = self.session.get(ActionItemRow, item_id)
        if row is None or row.incident_id != incident_id:
            return None
        return _to_action_item(row)

    def set_action_item_done(
        self, item_id: int, *, done: bool, at: datetime, by: str
    ) -> ActionItem:
        """Mark an action item done (or not)."""
        row = self.session.get(ActionItemRow, item_id)
        assert row is not None
        row.done_at = at if done else None
        row.done_by = by if done else None
        self.session.add(row)
        self.session.flush()
        return _to_action_item(row)

    def action_items(self, incident_id: int) -> list[ActionItem]:
        """An incident's action items, oldest first."""
        rows = self.session.exec(
            select(ActionItemRow)
            .where(ActionItemRow.incident_id == incident_id)
            .order_by(col(ActionItemRow.id))
        )
        return [_to_action_item(r) for r in rows]

    def open_action_items_due(self, workspace: str, now: datetime) -> list[tuple[ActionItem, int]]:
        """Undone action items past their due date, with the incident number."""
        stmt = (
            select(ActionItemRow, IncidentRow.number)
            .join(IncidentRow, col(IncidentRow.id) == col(ActionItemRow.incident_id))
            .where(
                IncidentRow.workspace == workspace,
                col(ActionItemRow.done_at).is_(None),
                col(ActionItemRow.due).is_not(None),
                col(ActionItemRow.due) < now,
            )
            .order_by(col(ActionItemRow.due))
        )
        return [(_to_action_item(r), int(n)) for r, n in self.session.exec(stmt)]

    def alerts_for_incident(self, incident_id: int) -> list[StoredAlert]:
        """Alerts attached to an incident, oldest first."""
        rows = self.session.exec(
            select(AlertRow)
            .where(AlertRow.incident_id == incident_id)
            .order_by(col(AlertRow.first_seen_at), col(AlertRow.id))
        )
        return [alert_from_row(r) for r in rows]

    # -- outbox -----------------------------------------------------------------------------

    def enqueue(self, intents: Sequence[OutboxIntent], now: datetime) -> None:
        """Add deliveries in the current transaction (commit first, talk second)."""
        self.session.add_all(
            OutboxMessageRow(
                workspace=i.workspace,
                platform=i.platform,
                ordering_key=i.ordering_key,
                action=i.action,
                payload=_jsonable(i.payload),
                idempotency_key=i.idempotency_key,
                priority=i.priority,
                created_at=now,
                next_attempt_at=now,
            )
            for i in intents
        )
        self.session.flush()

    def claim_outbox(
        self,
        platforms: Sequence[str],
        now: datetime,
        *,
        limit: int,
        lease: timedelta,
        workspaces: Collection[str],
        max_bulk: int | None = None,
    ) -> list[OutboxRecord]:
        """Claim due messages of ``workspaces`` that are first in line for their ordering key.

        A message waits while an older undelivered one with the same key exists, so a room is
        created before anything is posted in it. Among the keys, the most urgent priority goes
        first, then the oldest; ``max_bulk`` caps how many bulk (alert-notice) lanes one claim
        takes, so a storm's notices cannot fill a worker's hands. Claimed rows get a lease; a
        worker that dies lets the lease lapse and another worker picks the row up. Only the
        workspaces this process holds the chat credentials of are claimed: another workspace's
        rows sent with our token would land in our Slack.
        """
        if not platforms or not workspaces:
            return []
        older_alias = OutboxMessageRow.__table__.alias("older")  # type: ignore[attr-defined]
        blocked = (
            select(older_alias.c.id)
            .where(
                # Lanes are per workspace: keys like ``reply:<user>`` repeat across workspaces.
                older_alias.c.workspace == OutboxMessageRow.workspace,
                older_alias.c.platform == OutboxMessageRow.platform,
                older_alias.c.ordering_key == OutboxMessageRow.ordering_key,
                older_alias.c.id < OutboxMessageRow.id,
                older_alias.c.state.in_([OutboxState.PENDING.value, OutboxState.CLAIMED.value]),
            )
            .exists()
        )
        stmt = (
            select(OutboxMessageRow)
            .where(
                col(OutboxMessageRow.workspace).in_(sorted(workspaces)),
                col(OutboxMessageRow.platform).in_(list(platforms)),
                or_(
                    and_(
                        col(OutboxMessageRow.state) == OutboxState.PENDING.value,
                        col(OutboxMessageRow.next_attempt_at) <= now,
                    ),
                    and_(
                        col(OutboxMessageRow.state) == OutboxState.CLAIMED.value,
                        col(OutboxMessageRow.claimed_until) < now,
                    ),
                ),
                ~blocked,
            )
            .order_by(col(OutboxMessageRow.priority), col(OutboxMessageRow.id))
            .limit(limit)
        )
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        heads = _cap_bulk(list(self.session.exec(stmt)), max_bulk)
        rows: list[OutboxMessageRow] = []
        for head in heads:
            rows.append(head)
            rows.extend(self._followers(head, now, limit))
        for row in rows:
            row.state = OutboxState.CLAIMED.value
            row.claimed_until = now + lease
            row.attempts += 1
        self.session.add_all(rows)
        self.session.flush()
        return [_to_outbox(r) for r in rows]

    def _followers(
        self, head: OutboxMessageRow, now: datetime, limit: int
    ) -> list[OutboxMessageRow]:
        """The due rows queued right behind a claimed head, in order.

        Holding the head's lock makes this safe across replicas: no one else can claim the
        head, and every other row of the key is blocked by it, so the lane is ours alone.
        """
        stmt = (
            select(OutboxMessageRow)
            .where(
                col(OutboxMessageRow.workspace) == head.workspace,
                col(OutboxMessageRow.platform) == head.platform,
                col(OutboxMessageRow.ordering_key) == head.ordering_key,
                col(OutboxMessageRow.id) > (head.id or 0),
                col(OutboxMessageRow.state) == OutboxState.PENDING.value,
            )
            .order_by(col(OutboxMessageRow.id))
            .limit(limit)
        )
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        out: list[OutboxMessageRow] = []
        for row in self.session.exec(stmt):
            if row.next_attempt_at > now:
                break  # keep order: nothing may overtake a row that is waiting to retry
            out.append(row)
        return out

    def finish_outbox(
        self,
        message_id: int,
        *,
        state: OutboxState,
        now: datetime,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record a delivery outcome."""
        values: dict[str, Any] = {"state": state.value, "claimed_until": None}
        if state is OutboxState.DELIVERED:
            values |= {"delivered_at": now, "result": _jsonable(result or {}), "last_error": None}
        if error is not None:
            values["last_error"] = error[:1000]
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        self.session.execute(
            update(OutboxMessageRow).where(col(OutboxMessageRow.id) == message_id).values(**values)
        )

    def release_outbox(self, message_id: int, now: datetime) -> None:
        """Give back a claimed row that was never tried (its lane stopped before it)."""
        self.session.execute(
            update(OutboxMessageRow)
            .where(col(OutboxMessageRow.id) == message_id)
            .values(
                state=OutboxState.PENDING.value,
                claimed_until=None,
                next_attempt_at=now,
                # The claim counted an attempt that never happened; without this, rows behind
                # a message that keeps failing would be parked without ever being sent.
                attempts=func.max(col(OutboxMessageRow.attempts) - 1, 0)
                if self.dialect == "sqlite"
                else func.greatest(col(OutboxMessageRow.attempts) - 1, 0),
            )
        )

    def reserve_send_slot(
        self, platform: str, room: str, now: float, interval: float, burst: int
    ) -> float:
        """Take the channel's next send slot; returns how many seconds to wait for it.

        One row per channel, shared by every replica: a slot every ``interval`` seconds,
        with up to ``burst`` slots available at once after a quiet spell. ``now`` is wall-clock
        epoch seconds, which replicas share.
        """
        floor = now - max(burst - 1, 0) * interval
        greatest = "max" if self.dialect == "sqlite" else "GREATEST"
        stmt = text(
            "INSERT INTO channel_pace (platform, room, next_at) VALUES (:p, :r, :first) "
            "ON CONFLICT (platform, room) DO UPDATE SET "
            f"next_at = {greatest}(channel_pace.next_at, :floor) + :interval "
            "RETURNING next_at"
        )
        params = {"p": platform, "r": room[:200], "first": floor + interval}
        next_at = float(
            self.session.execute(
                stmt, {**params, "floor": floor, "interval": interval}
            ).scalar_one()
        )
        return max(next_at - interval - now, 0.0)

    def try_send_slot(
        self, platform: str, room: str, now: float, interval: float, burst: int
    ) -> float:
        """Take the channel's send slot only if one is spare; else how many seconds until one is.

        For bulk senders (alert notices): they never book a slot ahead, and leave one slot of
        the burst unused, so a person's message arriving next takes that slot at once instead of
        waiting behind a queue of notices. 0.0 means the slot is taken and the caller may send.
        """
        floor = now - max(burst - 1, 0) * interval
        latest = now - min(1, max(burst - 1, 0)) * interval
        greatest = "max" if self.dialect == "sqlite" else "GREATEST"
        slot = f"{greatest}(channel_pace.next_at, :floor)"
        stmt = text(
            "INSERT INTO channel_pace (platform, room, next_at) VALUES (:p, :r, :first) "
            f"ON CONFLICT (platform, room) DO UPDATE SET next_at = {slot} + :interval "
            f"WHERE {slot} <= :latest RETURNING next_at"
        )
        params = {"p": platform, "r": room[:200], "floor": floor, "interval": interval}
        taken = self.session.execute(
            stmt, {**params, "first": floor + interval, "latest": latest}
        ).first()
        if taken is not None:
            return 0.0
        next_at = self.session.execute(
            text("SELECT next_at FROM channel_pace WHERE platform = :p AND room = :r"),
            {"p": platform, "r": room[:200]},
        ).scalar_one()
        return max(max(float(next_at), floor) - latest, 0.001)

    def supersede_outbox(
        self, message_id: int, *, workspace: str, platform: str, action: str, target: str
    ) -> bool:
        """True (and the row marked superseded) when a newer pending upsert of the same target
        exists, so a storm of edits to one message costs one API call, not hundreds."""
        newer = self.session.exec(
            select(OutboxMessageRow.id, OutboxMessageRow.payload).where(
                OutboxMessageRow.workspace == workspace,
                OutboxMessageRow.platform == platform,
                OutboxMessageRow.action == action,
                col(OutboxMessageRow.state).in_(
                    [OutboxState.PENDING.value, OutboxState.CLAIMED.value]
                ),
                col(OutboxMessageRow.id) > message_id,
            )
        ).all()
        if not any((p or {}).get("key") == target for _, p in newer):
            return False
        self.session.execute(
            update(OutboxMessageRow)
            .where(col(OutboxMessageRow.id) == message_id)
            .values(state=OutboxState.SUPERSEDED.value, claimed_until=None)
        )
        return True

    def outbox_depth(self, workspace: str | None = None) -> list[tuple[str, str, int]]:
        """(platform, state, count) of undelivered messages (of one workspace when given)."""
        stmt = (
            select(OutboxMessageRow.platform, OutboxMessageRow.state, func.count())
            .where(
                col(OutboxMessageRow.state).in_(
                    [OutboxState.PENDING.value, OutboxState.CLAIMED.value, OutboxState.PARKED.value]
                )
            )
            .group_by(OutboxMessageRow.platform, OutboxMessageRow.state)
        )
        if workspace is not None:
            stmt = stmt.where(OutboxMessageRow.workspace == workspace)
        return [(p, s, int(n)) for p, s, n in self.session.exec(stmt)]

    def list_outbox(
        self,
        *,
        states: Sequence[OutboxState] | None = None,
        limit: int = 100,
        workspace: str | None = None,
    ) -> list[OutboxRecord]:
        """Outbox rows, newest first (of one workspace when given)."""
        stmt = select(OutboxMessageRow)
        if workspace is not None:
            stmt = stmt.where(OutboxMessageRow.workspace == workspace)
        if states:
            stmt = stmt.where(col(OutboxMessageRow.state).in_([s.value for s in states]))
        stmt = stmt.order_by(col(OutboxMessageRow.id).desc()).limit(limit)
        return [_to_outbox(r) for r in self.session.exec(stmt)]

    def retry_parked(
        self, now: datetime, message_id: int | None = None, *, workspace: str | None = None
    ) -> int:
        """Put parked messages back in line (only one workspace's when given)."""
        stmt = update(OutboxMessageRow).where(
            col(OutboxMessageRow.state) == OutboxState.PARKED.value
        )
        if workspace is not None:
            stmt = stmt.where(col(OutboxMessageRow.workspace) == workspace)
        if message_id is not None:
            stmt = stmt.where(col(OutboxMessageRow.id) == message_id)
        result = self.session.execute(
            stmt.values(state=OutboxState.PENDING.value, next_attempt_at=now, attempts=0)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # -- chat refs ---------------------------------------------------------------------------

    def get_chat_ref(self, workspace: str, platform: str, key: str) -> dict[str, Any] | None:
        """Where a logical thing lives on a platform."""
        row = self.session.exec(
            select(ChatRefRow).where(
                ChatRefRow.workspace == workspace,
                ChatRefRow.platform == platform,
                ChatRefRow.key == key,
            )
        ).first()
        return dict(row.ref) if row else None

    def put_chat_ref(
        self,
        workspace: str,
        platform: str,
        key: str,
        ref: dict[str, Any],
        *,
        now: datetime,
        incident_id: int | None = None,
    ) -> None:
        """Remember (or move) a logical thing's platform reference.

        One statement (an upsert), not read-then-insert: two lanes of the same incident may
        store the same key at once, and the loser of that race must update, not crash its lane.
        """
        external = ref.get("id")
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = insert(ChatRefRow).values(
            workspace=workspace,
            platform=platform,
            key=key,
            incident_id=incident_id,
            ref=ref,
            updated_at=now,
            external_id=str(external) if external else None,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["workspace", "platform", "key"],
            set_={
                "ref": stmt.excluded.ref,
                "updated_at": stmt.excluded.updated_at,
                "external_id": stmt.excluded.external_id,
            },
        )
        self.session.execute(stmt)
        # Later reads in this transaction go through the ORM: drop any stale copy it holds.
        for obj in list(self.session.identity_map.values()):
            if isinstance(obj, ChatRefRow):
                self.session.expire(obj)

    def incident_for_room(self, workspace: str, platform: str, room_id: str) -> Incident | None:
        """The incident whose room is this channel/conversation, if any."""
        row = self.session.exec(
            select(ChatRefRow).where(
                ChatRefRow.workspace == workspace,
                ChatRefRow.platform == platform,
                ChatRefRow.external_id == room_id,
                col(ChatRefRow.key).like("inc:%:room"),
            )
        ).first()
        if row is None or row.incident_id is None:
            return None
        return self.get_incident_by_id(row.incident_id)

    # -- idempotent intake -------------------------------------------------------------------

    def first_sighting(self, key: str, now: datetime) -> bool:
        """Record an intake key; False when it was seen before (a replay)."""
        if self.session.get(IntakeKeyRow, key) is not None:
            return False
        try:
            # A savepoint, so losing a race with another replica leaves the caller's
            # transaction usable.
            with self.session.begin_nested():
                self.session.add(IntakeKeyRow(key=key, seen_at=now))
        except IntegrityError:
            return False
        return True

    def intake_result(self, key: str) -> str | None:
        """What the first delivery with this key produced (e.g. an incident id)."""
        row = self.session.get(IntakeKeyRow, key)
        return row.result if row else None

    def set_intake_result(self, key: str, result: str) -> None:
        """Remember what a first delivery produced, for replays to answer with."""
        row = self.session.get(IntakeKeyRow, key)
        if row is not None:
            row.result = result
            self.session.add(row)

    def forget_intake_keys(self, before: datetime) -> int:
        """Drop dedup keys older than any sender's retry window."""
        result = self.session.execute(
            delete(IntakeKeyRow).where(col(IntakeKeyRow.seen_at) < before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # -- audit -------------------------------------------------------------------------------

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
    ) -> AuditEntry:
        """Append to the workspace's audit chain.

        Appends serialize on the chain head: on Postgres a transaction-scoped advisory lock per
        workspace (held to commit, so the next writer reads this entry as its head); on SQLite
        the transaction already holds the one write lock. The unique (workspace, seq) index
        refuses a fork should anything get past both.
        """
        if self.dialect == "postgresql":
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"sitrep:audit:{workspace}"},
            )
        head = self.session.execute(_AUDIT_HEAD, {"ws": workspace}).first()
        draft = AuditDraft(
            workspace=workspace,
            at=at,
            actor=actor,
            action=action,
            surface=surface,
            target=target,
            incident=incident,
            detail=detail or {},
            before=before,
            after=after,
        )
        entry = seal(
            draft,
            seq=(head[0] + 1) if head else 1,
            prev_hash=head[1] if head else GENESIS,
        )
        # Core insert: every command appends one, and the ORM's unit of work costs more than
        # the statement (bench: about half of a command's time on SQLite).
        self.session.execute(_AUDIT_INSERT, dataclasses.asdict(entry))
        return entry

    def audit_entries(
        self, workspace: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[AuditEntry]:
        """The workspace's audit log in chain order, from just after ``after_seq``."""
        query = AuditQuery(after_seq=after_seq, newest_first=False, limit=limit)
        return self.audit_search(workspace, query)

    def audit_search(self, workspace: str, query: AuditQuery) -> list[AuditEntry]:
        """One page of the workspace's log matching ``query``, by keyset on seq.

        Each filter is an equality on an indexed column that ends in seq, so a page costs an
        index range scan however long the log is, never a read of the whole of it. Core rows,
        not ORM objects: verifying a long log reads every entry, and the ORM's per-row cost
        was most of it (bench/audit.py).
        """
        t = _AUDIT_TABLE
        stmt = sa_select(t).where(t.c.workspace == workspace)
        if query.actor:
            stmt = stmt.where(t.c.actor == query.actor)
        if query.incident:
            stmt = stmt.where(t.c.incident == query.incident)
        if query.surface:
            stmt = stmt.where(t.c.surface == query.surface)
        if query.since is not None:
            stmt = stmt.where(t.c.at >= query.since)
        if query.until is not None:
            stmt = stmt.where(t.c.at < query.until)
        if query.after_seq:
            stmt = stmt.where(t.c.seq > query.after_seq)
        if query.before_seq is not None:
            stmt = stmt.where(t.c.seq < query.before_seq)
        stmt = stmt.order_by(t.c.seq.desc() if query.newest_first else t.c.seq).limit(query.limit)
        return [_audit_from_row(r._mapping) for r in self.session.execute(stmt)]

    # -- API tokens ---------------------------------------------------------------------------

    def add_token(
        self, new: NewToken, *, secret_hash: str, shown: str, now: datetime, by: str
    ) -> ApiToken:
        """Store a token by the hash of its secret."""
        row = ApiTokenRow(
            workspace=new.workspace,
            owner=new.owner,
            owner_name=new.owner_name,
            kind=new.kind.value,
            name=new.name,
            scopes=sorted(s.value for s in new.scopes),
            token_hash=secret_hash,
            shown=shown,
            created_at=now,
            created_by=by,
            expires_at=new.expires_at,
        )
        self.session.add(row)
        self.session.flush()
        return _to_token(row)

    def token_by_hash(self, secret_hash: str) -> ApiToken | None:
        """The token whose secret hashes to ``secret_hash``, in any state."""
        row = self.session.exec(
            select(ApiTokenRow).where(ApiTokenRow.token_hash == secret_hash)
        ).first()
        return _to_token(row) if row else None

    def list_tokens(self, workspace: str) -> list[ApiToken]:
        """Every token of the workspace, revoked and expired ones included, newest first."""
        rows = self.session.exec(
            select(ApiTokenRow)
            .where(ApiTokenRow.workspace == workspace)
            .order_by(col(ApiTokenRow.id).desc())
        ).all()
        return [_to_token(r) for r in rows]

    def revoke_token(
        self, workspace: str, token_id: int, now: datetime
    ) -> tuple[ApiToken, bool] | None:
        """Revoke a token, and whether this call did it (a second revoke keeps the first
        time); None if the workspace has no such token."""
        row = self.session.get(ApiTokenRow, token_id)
        if row is None or row.workspace != workspace:
            return None
        if row.revoked_at is not None:
            return _to_token(row), False
        row.revoked_at = now
        self.session.add(row)
        self.session.flush()
        return _to_token(row), True

    def touch_token(self, token_id: int, now: datetime) -> None:
        """Record a use of the token."""
        self.session.execute(
            update(ApiTokenRow).where(col(ApiTokenRow.id) == token_id).values(last_used_at=now)
        )

    def person_names(self, workspace: str, actors: Collection[str]) -> dict[str, str]:
        """Cached display names of ``actors`` (those with none are left out)."""
        return {
            a: e.display for a, e in self.person_entries(workspace, actors).items() if e.display
        }

    def person_entries(self, workspace: str, actors: Collection[str]) -> dict[str, PersonEntry]:
        """Every cached row of ``actors``, the negative ones (no name) included."""
        if not actors:
            return {}
        rows = self.session.execute(
            sa_select(  # type: ignore[call-overload]
                PersonRow.actor, PersonRow.display, PersonRow.source, PersonRow.updated_at
            ).where(col(PersonRow.workspace) == workspace, col(PersonRow.actor).in_(list(actors)))
        ).all()
        return {actor: PersonEntry(display, source, at) for actor, display, source, at in rows}

    def put_person(
        self,
        workspace: str,
        actor: str,
        display: str,
        source: str,
        now: datetime,
        *,
        touch: bool = False,
    ) -> None:
        """Remember (or rename) a person; an unchanged name is not rewritten unless ``touch``
        (a platform confirmed it: the check time moves on)."""
        table = PersonRow.__table__  # type: ignore[attr-defined]
        values = {
            "workspace": workspace,
            "actor": actor,
            "display": display,
            "source": source,
            "updated_at": now,
        }
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = insert(table).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["workspace", "actor"],
            set_={"display": display, "source": source, "updated_at": now},
            where=None if touch else table.c.display != display,
        )
        self.session.execute(stmt)

    def put_person_alias(
        self, workspace: str, alias: str, actor: str, source: str, now: datetime
    ) -> None:
        """Link ``alias`` to ``actor`` (the newest link wins; an unchanged one is not rewritten)."""
        table = PersonAliasRow.__table__  # type: ignore[attr-defined]
        values = {
            "workspace": workspace,
            "alias": alias,
            "actor": actor,
            "source": source,
            "updated_at": now,
        }
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = insert(table).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["workspace", "alias"],
            set_={"actor": actor, "source": source, "updated_at": now},
            where=table.c.actor != actor,
        )
        self.session.execute(stmt)

    def person_for_alias(self, workspace: str, alias: str) -> str | None:
        """The actor id ``alias`` is linked to, if any."""
        return self.session.execute(
            sa_select(PersonAliasRow.actor).where(  # type: ignore[call-overload]
                col(PersonAliasRow.workspace) == workspace, col(PersonAliasRow.alias) == alias
            )
        ).scalar_one_or_none()

    def timeline_actors(self, incident_id: int) -> list[str]:
        """Every distinct actor on an incident's timeline."""
        rows = self.session.execute(
            sa_select(TimelineEventRow.actor)  # type: ignore[call-overload]
            .where(col(TimelineEventRow.incident_id) == incident_id)
            .distinct()
        ).all()
        return [r[0] for r in rows]

    # -- web sessions -------------------------------------------------------------------------

    def add_web_session(self, new: NewSession, secret_hash: str) -> WebSession:
        """Store a session by the hash of its secret."""
        row = WebSessionRow(
            workspace=new.workspace,
            session_hash=secret_hash,
            person=new.person,
            name=new.name,
            role=new.role.label,
            user_agent=new.user_agent,
            created_at=new.created_at,
            last_seen_at=new.created_at,
            expires_at=new.expires_at,
        )
        self.session.add(row)
        self.session.flush()
        return _to_web_session(row)

    def web_session_by_hash(self, secret_hash: str) -> WebSession | None:
        """The session whose secret hashes to ``secret_hash``, in any state."""
        row = self.session.exec(
            select(WebSessionRow).where(WebSessionRow.session_hash == secret_hash)
        ).first()
        return _to_web_session(row) if row else None

    def touch_web_session(self, session_id: int, now: datetime) -> None:
        """Record that the session was used."""
        self.session.execute(
            update(WebSessionRow)
            .where(col(WebSessionRow.id) == session_id)
            .values(last_seen_at=now)
        )

    def _live_sessions(self, workspace: str, now: datetime) -> Any:
        return select(WebSessionRow).where(
            WebSessionRow.workspace == workspace,
            col(WebSessionRow.revoked_at).is_(None),
            col(WebSessionRow.expires_at) > now,
        )

    def list_web_sessions(
        self, workspace: str, now: datetime, *, person: str | None = None, ended: bool = False
    ) -> list[WebSession]:
        """Live sessions of the workspace (of ``person`` when given), newest first; with
        ``ended``, the revoked and expired ones not yet pruned as well."""
        stmt = (
            select(WebSessionRow).where(WebSessionRow.workspace == workspace)
            if ended
            else self._live_sessions(workspace, now)
        )
        if person is not None:
            stmt = stmt.where(WebSessionRow.person == person)
        rows = self.session.exec(stmt.order_by(col(WebSessionRow.id).desc())).all()
        return [_to_web_session(r) for r in rows]

    def revoke_web_sessions(
        self,
        workspace: str,
        now: datetime,
        *,
        ids: Collection[int] | None = None,
        person: str | None = None,
        keep: int | None = None,
    ) -> list[WebSession]:
        """Revoke the live sessions matching every filter given; the ones this call revoked."""
        stmt = self._live_sessions(workspace, now)
        if ids is not None:
            stmt = stmt.where(col(WebSessionRow.id).in_(list(ids)))
        if person is not None:
            stmt = stmt.where(WebSessionRow.person == person)
        if keep is not None:
            stmt = stmt.where(col(WebSessionRow.id) != keep)
        # Locked, so two admins revoking at once each report only what they revoked.
        rows = self.session.exec(stmt.with_for_update()).all()
        for row in rows:
            row.revoked_at = now
            self.session.add(row)
        self.session.flush()
        return [_to_web_session(r) for r in rows]

    def demote_web_sessions(self, workspace: str, person: str, role: Access, now: datetime) -> int:
        """Lower the live sessions of ``person`` that hold more than ``role``; how many."""
        higher = [a.label for a in Access if a > role]
        if not higher:
            return 0
        result = self.session.execute(
            update(WebSessionRow)
            .where(
                col(WebSessionRow.workspace) == workspace,
                col(WebSessionRow.person) == person,
                col(WebSessionRow.revoked_at).is_(None),
                col(WebSessionRow.expires_at) > now,
                col(WebSessionRow.role).in_(higher),
            )
            .values(role=role.label)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def prune_web_sessions(self, workspace: str, now: datetime) -> int:
        """Delete the workspace's sessions past their expiry (revoked ones included)."""
        result = self.session.execute(
            delete(WebSessionRow).where(
                col(WebSessionRow.workspace) == workspace, col(WebSessionRow.expires_at) <= now
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _to_web_session(row: WebSessionRow) -> WebSession:
    assert row.id is not None
    return WebSession(
        id=row.id,
        workspace=row.workspace,
        person=row.person,
        name=row.name,
        role=Access.parse(row.role),
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        user_agent=row.user_agent,
        revoked_at=row.revoked_at,
    )


def _audit_from_row(row: Any) -> AuditEntry:
    return AuditEntry(
        workspace=row["workspace"],
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        surface=row["surface"],
        target=row["target"],
        incident=row["incident"],
        detail=dict(row["detail"] or {}),
        before=row["before"],
        after=row["after"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _to_token(row: ApiTokenRow) -> ApiToken:
    assert row.id is not None
    return ApiToken(
        id=row.id,
        workspace=row.workspace,
        owner=row.owner,
        owner_name=row.owner_name,
        kind=TokenKind(row.kind),
        name=row.name,
        scopes=frozenset(Scope(s) for s in row.scopes if s in Scope.__members__.values()),
        shown=row.shown,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _cap_bulk(heads: list[OutboxMessageRow], max_bulk: int | None) -> list[OutboxMessageRow]:
    """The heads with at most ``max_bulk`` bulk ones (they come last: ordered by priority)."""
    if max_bulk is None:
        return heads
    urgent = [h for h in heads if not is_bulk(h.priority)]
    bulk = [h for h in heads if is_bulk(h.priority)]
    return urgent + bulk[: max(max_bulk, 0)]


class NumberTaken(Exception):
    """Two declarations raced for the same INC number; the caller retries."""

    def __init__(self, workspace: str, number: int) -> None:
        super().__init__(f"INC-{number} already exists in {workspace}")


class StaleIncident(Exception):
    """The incident changed since it was read; the caller retries."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
