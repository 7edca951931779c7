"""Alert, grouping and maintenance-window storage.

Intake writes in bulk (one executemany INSERT per batch), reads with prebuilt Core selects (no
ORM identity map for thousands of rows), and leans on the indexes of ``alert``: the unique
(workspace, source, fingerprint); (workspace, source, group_key, incident_id, status, route),
which answers "the group's latest incident" and the group message's counts from the index
alone; (incident_id, status); and a partial index of the few alerts whose timeline note is due.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import chain
from typing import Any, TypeVar

import orjson
from sqlalchemy import bindparam, func, insert, literal_column, select, text, update
from sqlalchemy.engine import Connection, Dialect, Row
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlmodel import Session

from bot.alerting.grouping import OVERFLOW_KEY, GroupRef
from bot.alerting.model import AlertQuery, MaintenanceWindow, Route
from bot.alerting.store import AlertWrite, GroupIncident, NoticeBacklog, PendingNote, SampleRow
from bot.domain.alert import StoredAlert
from bot.domain.labels import LabelMatcher, all_match, matcher_from_json
from bot.domain.model import Status
from bot.outbox_types import Action, OutboxIntent, OutboxState, Priority
from storage.search_repo import SearchIndex
from storage.tables import (
    AlertRow,
    IncidentRow,
    MaintenanceWindowRow,
    OutboxMessageRow,
    UTCDateTime,
)

T = TypeVar("T")
_ALERT = AlertRow.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxMessageRow.__table__  # type: ignore[attr-defined]
_INCIDENT = IncidentRow.__table__  # type: ignore[attr-defined]
_WINDOW = MaintenanceWindowRow.__table__  # type: ignore[attr-defined]
_A = _ALERT.c
# Stay well under SQLite's and psycopg's bound-parameter limits.
_CHUNK = 500
# Alerts that were announced (shown in chat or on an incident), as opposed to ignored by a
# rule or silenced by a maintenance window.
_ANNOUNCED = (Route.DECLARE.value, Route.ATTACH.value, Route.NOTIFY.value)
# The same, written into the SQL text (they are fixed identifiers, never user input): a bound
# list would be re-rendered on every execution.
_ANNOUNCED_SQL: list[ColumnElement[str]] = [literal_column(f"'{route}'") for route in _ANNOUNCED]
_OPEN = tuple(s.value for s in Status if s.is_open)
_WRITE_FIELDS = (
    "workspace",
    "source",
    "fingerprint",
    "group_key",
    "status",
    "severity",
    "title",
    "description",
    "labels",
    "annotations",
    "links",
    "starts_at",
    "ends_at",
    "first_seen_at",
    "last_seen_at",
    "incident_id",
    "suppressed_by",
    "route",
    "rule",
    "note_due",
)
# The partial index ix_alert_note_due is used only when the query says exactly "note_due".
_NOTE_DUE: ColumnElement[bool] = literal_column("note_due")

# Intake runs these for every batch: built once, so each call only binds parameters (building
# a select costs more than SQLite takes to run it).
_WS: BindParameter[str] = bindparam("ws")
_SRC: BindParameter[str] = bindparam("src")
_KEYS: BindParameter[list[str]] = bindparam("keys", expanding=True)
# A list parameter: on Postgres an expanding IN; on SQLite one JSON array read by json_each,
# so the statement text never changes with the list's length and SQLAlchemy compiles it once
# (re-rendering an expanding IN per call cost more than SQLite took to run the query).
_InList = Callable[[ColumnElement[str], str], ColumnElement[bool]]


def _in_expanding(column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    return column.in_(bindparam(name, expanding=True))


def _in_json_each(column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    return column.in_(select(func.json_each(bindparam(name)).table_valued("value").c.value))


def _find(in_list: _InList) -> Select[Any]:
    return select(_ALERT).where(
        _A.workspace == _WS, _A.source == _SRC, in_list(_A.fingerprint, "fps")
    )


def _group_incidents(in_list: _InList) -> Select[Any]:
    latest = (
        select(_A.group_key, func.max(_A.incident_id).label("incident_id"))
        .where(
            _A.workspace == _WS,
            _A.source == _SRC,
            in_list(_A.group_key, "keys"),
            _A.incident_id.is_not(None),
        )
        .group_by(_A.group_key)
        .subquery()
    )
    return select(latest.c.group_key, _INCIDENT.c.id, _INCIDENT.c.number, _INCIDENT.c.status).join(
        _INCIDENT, _INCIDENT.c.id == latest.c.incident_id
    )


def _group_counts(in_list: _InList) -> Select[Any]:
    return (
        select(_A.group_key, _A.status, func.count())
        .where(
            _A.workspace == _WS,
            _A.source == _SRC,
            in_list(_A.group_key, "keys"),
            _A.route.in_(_ANNOUNCED_SQL),
        )
        .group_by(_A.group_key, _A.status)
    )


def _by_dialect(build: Callable[[_InList], Select[Any]]) -> dict[str, Select[Any]]:
    return {"sqlite": build(_in_json_each), "postgresql": build(_in_expanding)}


_FIND = _by_dialect(_find)
_GROUP_INCIDENTS = _by_dialect(_group_incidents)
_GROUP_COUNTS = _by_dialect(_group_counts)
# Any few firing alerts will do for the message's sample: no ORDER BY, so SQLite reads a
# handful of index entries instead of sorting the whole group.
_SAMPLE = (
    select(_A.id, _A.title, _A.severity, _A.labels, _A.links)
    .where(
        _A.workspace == _WS,
        _A.source == _SRC,
        _A.group_key == bindparam("key"),
        _A.status == "firing",
        _A.route.in_(_ANNOUNCED_SQL),
    )
    .limit(bindparam("limit"))
)
_PENDING = (
    select(_A.id, _A.incident_id, _A.source, _A.group_key, _A.status, _A.title, _A.rule)
    .where(_NOTE_DUE, _A.workspace == _WS, _A.source == _SRC, _A.group_key.in_(_KEYS))
    .order_by(_A.id)
)
_CLEAR = update(_ALERT).where(_A.id.in_(bindparam("ids", expanding=True))).values(note_due=False)
_TOUCH = (
    update(_ALERT)
    .where(_A.id.in_(bindparam("ids", expanding=True)))
    .values(last_seen_at=bindparam("now"))
)
_ACTIVE_WINDOWS = (
    select(_WINDOW)
    .where(
        _WINDOW.c.workspace == _WS,
        _WINDOW.c.ends_at > bindparam("now"),
        _WINDOW.c.cancelled_at.is_(None),
    )
    .order_by(_WINDOW.c.starts_at, _WINDOW.c.id)
)
# Group message keys repeat across workspaces: an edit folds only into its own workspace's row.
_PENDING_UPSERTS = select(
    _OUTBOX.c.id, _OUTBOX.c.workspace, _OUTBOX.c.platform, _OUTBOX.c.ordering_key
).where(
    _OUTBOX.c.state == OutboxState.PENDING.value,
    _OUTBOX.c.action == Action.UPSERT.value,
    _OUTBOX.c.workspace.in_(bindparam("workspaces", expanding=True)),
    _OUTBOX.c.ordering_key.in_(_KEYS),
)
_WAITING = (OutboxState.PENDING.value, OutboxState.CLAIMED.value)
_WAITING_NOTICES = select(func.count()).where(
    _OUTBOX.c.workspace == bindparam("ws"),
    _OUTBOX.c.platform == bindparam("platform"),
    _OUTBOX.c.state.in_(_WAITING),
    _OUTBOX.c.priority == int(Priority.ALERT_NOTICE),
)
_LATEST_OVERFLOW = (
    select(_OUTBOX.c.id, _OUTBOX.c.state, _OUTBOX.c.payload)
    .where(
        _OUTBOX.c.workspace == bindparam("ws"),
        _OUTBOX.c.platform == bindparam("platform"),
        _OUTBOX.c.ordering_key == OVERFLOW_KEY,
    )
    .order_by(_OUTBOX.c.id.desc())
    .limit(1)
)
# A transaction-scoped advisory lock keyed by a hash of the workspace and platform.
_OVERFLOW_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))")
# Overflows this close together are one episode: its summary message keeps counting.
_EPISODE_GAP = timedelta(minutes=2)
_FOLD_UPSERT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(payload=bindparam("payload", type_=_OUTBOX.c.payload.type))
)
_INSERT_SQLITE = f"INSERT INTO alert ({', '.join(_WRITE_FIELDS)}) VALUES "
_ROW_SQLITE = f"({', '.join('?' for _ in _WRITE_FIELDS)})"
# Rows per multi-row INSERT: 999 bound parameters a statement is within every SQLite's limit.
_INSERT_ROWS = 999 // len(_WRITE_FIELDS)


@lru_cache(maxsize=64)
def _insert_sqlite_sql(rows: int) -> str:
    return _INSERT_SQLITE + ", ".join([_ROW_SQLITE] * rows)


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def alert_from_row(row: Row[Any] | AlertRow) -> StoredAlert:
    """A stored alert from a Core row or an ``AlertRow``; route, rule and note_due in extra."""
    assert row.id is not None
    return StoredAlert(
        id=row.id,
        workspace=row.workspace,
        source=row.source,
        fingerprint=row.fingerprint,
        group_key=row.group_key,
        status=row.status,
        severity=row.severity,
        title=row.title,
        description=row.description,
        labels=dict(row.labels or {}),
        annotations=dict(row.annotations or {}),
        links=dict(row.links or {}),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
        incident_id=row.incident_id,
        suppressed_by=row.suppressed_by,
        extra={"route": row.route, "rule": row.rule, "note_due": bool(row.note_due)},
    )


def _to_window(row: Any) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=row.id,
        workspace=row.workspace,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        matchers=tuple(matcher_from_json(m) for m in row.matchers or []),
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
        cancelled_by=row.cancelled_by,
    )


def _by_source(groups: Collection[GroupRef]) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for g in groups:
        found[(g.workspace, g.source)].append(g.group_key)
    return found


_ROW_VALUES = operator.attrgetter(*_WRITE_FIELDS)
# Per dialect: (index, bind processor) of the written columns that need one, split into
# timestamps (a batch repeats the same few, so each is encoded once) and the rest (JSON).
_ENCODERS: dict[str, tuple[list[tuple[int, Any]], list[tuple[int, Any]]]] = {}


def _encoders(dialect: Dialect) -> tuple[list[tuple[int, Any]], list[tuple[int, Any]]]:
    """The written columns' bind processors (JSON encoding, UTC datetimes), computed once."""
    found = _ENCODERS.get(dialect.name)
    if found is None:
        times: list[tuple[int, Any]] = []
        others: list[tuple[int, Any]] = []
        for index, name in enumerate(_WRITE_FIELDS):
            column_type = _ALERT.c[name].type
            process = column_type._cached_bind_processor(dialect)
            if process is not None:
                is_time = isinstance(column_type, UTCDateTime)
                (times if is_time else others).append((index, process))
        found = _ENCODERS[dialect.name] = (times, others)
    return found


class AlertRepo:
    """Alert storage over one session."""

    def __init__(self, session: Session, dialect: str) -> None:
        self.session = session
        self.dialect = dialect
        self.index = SearchIndex(session, dialect)

    def _conn(self) -> Connection:
        return self.session.connection()

    def _list(self, values: Sequence[str]) -> Any:
        """A list parameter as the dialect's statements take it (see ``_by_dialect``)."""
        return orjson.dumps(list(values)).decode() if self.dialect == "sqlite" else list(values)

    # -- alerts ------------------------------------------------------------------------------

    def lock_group(self, group: GroupRef) -> None:
        """On Postgres, a transaction-scoped advisory lock per group: two replicas receiving
        the same group at once cannot both declare an incident for it. SQLite has one writer.
        """
        if self.dialect != "postgresql":
            return
        name = f"{group.workspace}\x00{group.source}\x00{group.group_key}".encode()
        key = int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)
        self._conn().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def find(
        self, workspace: str, keys: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredAlert]:
        """Stored alerts by (source, fingerprint); route, rule and note_due are in ``extra``."""
        by_source: dict[str, list[str]] = defaultdict(list)
        for source, fingerprint in keys:
            by_source[source].append(fingerprint)
        found: dict[tuple[str, str], StoredAlert] = {}
        conn = self._conn()
        for source, fingerprints in by_source.items():
            for chunk in _chunks(fingerprints):
                params = {"ws": workspace, "src": source, "fps": self._list(chunk)}
                rows = conn.execute(_FIND[self.dialect], params)
                for row in rows:
                    found[(source, row.fingerprint)] = alert_from_row(row)
        return found

    def write(self, rows: Sequence[AlertWrite]) -> None:
        """Insert new rows and overwrite changed ones."""
        new = [r for r in rows if r.id is None]
        old = [
            {"id": r.id, **{f: getattr(r, f) for f in _WRITE_FIELDS}}
            for r in rows
            if r.id is not None
        ]
        if new and self.dialect == "sqlite":
            self._insert_sqlite(new)
        elif new:
            values = [{f: getattr(r, f) for f in _WRITE_FIELDS} for r in new]
            for chunk in _chunks(values):
                self.session.execute(insert(AlertRow), list(chunk))
        if old:
            self.session.execute(update(AlertRow), old)
        # Alerts on an incident make it findable by their labels (same transaction).
        on_incident: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for r in rows:
            if r.incident_id is not None:
                on_incident[r.incident_id].append((r.title, dict(r.labels or {})))
        self.index.alerts(on_incident)

    def _insert_sqlite(self, rows: Sequence[AlertWrite]) -> None:
        # The hot path of intake: the same bind processing SQLAlchemy would do (JSON, UTC
        # datetimes), multi-row INSERTs, and none of the ORM's per-row bookkeeping, which cost
        # more than SQLite's own work. Equal timestamps are encoded once.
        conn = self._conn()
        times, others = _encoders(conn.dialect)
        encoded: dict[datetime, Any] = {}
        params: list[list[Any]] = []
        for row in rows:
            values = list(_ROW_VALUES(row))
            for index, process in others:
                value = values[index]
                if value is not None:
                    values[index] = process(value)
            for index, process in times:
                value = values[index]
                if value is not None:
                    found = encoded.get(value)
                    if found is None:
                        found = encoded[value] = process(value)
                    values[index] = found
            params.append(values)
        # One statement per chunk of rows, not executemany: the sqlite3 module lets go of the
        # GIL around every row it steps, and under load each of those hand-offs to the event
        # loop thread costs more than inserting the row (bench/ingest.py).
        for chunk in _chunks(params, _INSERT_ROWS):
            flat = tuple(chain.from_iterable(chunk))
            conn.exec_driver_sql(_insert_sqlite_sql(len(chunk)), flat)

    def touch(self, ids: Sequence[int], now: datetime) -> None:
        """Set ``last_seen_at`` for re-sent, unchanged alerts."""
        conn = self._conn()
        for chunk in _chunks(ids):
            conn.execute(_TOUCH, {"ids": list(chunk), "now": now})

    def group_incidents(self, groups: Collection[GroupRef]) -> dict[GroupRef, GroupIncident]:
        """Each group's most recent incident (open or not), for groups that have one."""
        found: dict[GroupRef, GroupIncident] = {}
        conn = self._conn()
        for (workspace, source), keys in _by_source(groups).items():
            for chunk in _chunks(keys):
                params = {"ws": workspace, "src": source, "keys": self._list(chunk)}
                rows = conn.execute(_GROUP_INCIDENTS[self.dialect], params)
                for key, incident_id, number, status in rows:
                    found[GroupRef(workspace, source, key)] = GroupIncident(
                        int(incident_id), int(number), status in _OPEN
                    )
        return found

    def group_counts(self, groups: Collection[GroupRef]) -> dict[GroupRef, tuple[int, int]]:
        """(firing, resolved) per group, counting only announced alerts."""
        counts: dict[GroupRef, list[int]] = {g: [0, 0] for g in groups}
        conn = self._conn()
        for (workspace, source), keys in _by_source(groups).items():
            for chunk in _chunks(keys):
                params = {"ws": workspace, "src": source, "keys": self._list(chunk)}
                rows = conn.execute(_GROUP_COUNTS[self.dialect], params)
                for key, status, n in rows:
                    slot = counts[GroupRef(workspace, source, key)]
                    slot[0 if status == "firing" else 1] += int(n)
        return {g: (c[0], c[1]) for g, c in counts.items()}

    def group_sample(self, group: GroupRef, limit: int) -> list[SampleRow]:
        """A few announced firing alerts of a group (any few: this feeds a preview)."""
        params = {
            "ws": group.workspace,
            "src": group.source,
            "key": group.group_key,
            "limit": limit,
        }
        return [
            SampleRow(r.id, r.title, r.severity, dict(r.labels or {}), dict(r.links or {}))
            for r in self._conn().execute(_SAMPLE, params)
        ]

    def group_firing(self, group: GroupRef, limit: int) -> list[StoredAlert]:
        """The group's announced firing alerts, oldest first."""
        stmt = (
            select(_ALERT)
            .where(
                _A.workspace == group.workspace,
                _A.source == group.source,
                _A.group_key == group.group_key,
                _A.status == "firing",
                _A.route.in_(_ANNOUNCED),
            )
            .order_by(_A.id)
            .limit(limit)
        )
        return [alert_from_row(r) for r in self._conn().execute(stmt)]

    def attach_group(self, group: GroupRef, incident_id: int) -> int:
        """Attach the group's announced, unattached firing alerts to an incident (their
        timeline note due); the count."""
        attaching = (
            _A.workspace == group.workspace,
            _A.source == group.source,
            _A.group_key == group.group_key,
            _A.status == "firing",
            _A.incident_id.is_(None),
            _A.route.in_(_ANNOUNCED),
        )
        found = self._conn().execute(select(_A.title, _A.labels).where(*attaching)).all()
        self.index.alerts({incident_id: [(t, dict(labels or {})) for t, labels in found]})
        result = self._conn().execute(
            update(_ALERT)
            .where(*attaching)
            .values(incident_id=incident_id, route=Route.ATTACH.value, note_due=True)
        )
        return int(result.rowcount)

    def pending_notes(self, groups: Collection[GroupRef]) -> list[PendingNote]:
        """The groups' alert changes waiting for a timeline summary, oldest first.

        On Postgres the rows are locked, so two transactions flushing the same group cannot
        both summarize them (the second finds them no longer due).
        """
        stmt = _PENDING.with_for_update() if self.dialect == "postgresql" else _PENDING
        notes: list[PendingNote] = []
        conn = self._conn()
        for (workspace, source), keys in _by_source(groups).items():
            for chunk in _chunks(keys):
                rows = conn.execute(stmt, {"ws": workspace, "src": source, "keys": list(chunk)})
                notes.extend(
                    PendingNote(
                        r.id, r.incident_id, r.source, r.group_key, r.status, r.title, r.rule
                    )
                    for r in rows
                )
        notes.sort(key=lambda n: n.id)
        return notes

    def clear_notes(self, ids: Sequence[int]) -> None:
        """Mark alert changes as summarized."""
        conn = self._conn()
        for chunk in _chunks(ids):
            conn.execute(_CLEAR, {"ids": list(chunk)})

    def groups_with_pending_notes(self, workspace: str) -> list[GroupRef]:
        """Every group of ``workspace`` with a summary still due (after a restart)."""
        stmt = (
            select(_A.workspace, _A.source, _A.group_key)
            .where(_NOTE_DUE, _A.workspace == workspace)
            .distinct()
        )
        return [GroupRef(w, s, g) for w, s, g in self._conn().execute(stmt)]

    def firing_count(self, incident_id: int) -> int:
        """How many of an incident's alerts still fire."""
        stmt = select(func.count()).where(_A.incident_id == incident_id, _A.status == "firing")
        return int(self._conn().execute(stmt).scalar_one())

    def upsert_messages(
        self,
        intents: Sequence[OutboxIntent],
        now: datetime,
        *,
        backlog: NoticeBacklog | None = None,
    ) -> None:
        """Fold each UPSERT into the pending UPSERT of the same message, else insert it.

        At most one undelivered edit per message ever waits, so the outbox stays bounded
        however many alerts a group receives. A row the worker already claimed is left alone
        (on Postgres the row lock makes the claim and this update take turns). With a
        ``backlog``, a new notice that would pass its limit is counted in the summary notice
        instead of queued, so the number of groups cannot grow the outbox without bound.
        """
        if not intents:
            return
        stmt = (
            _PENDING_UPSERTS.with_for_update() if self.dialect == "postgresql" else _PENDING_UPSERTS
        )
        keys = sorted({i.ordering_key for i in intents})
        workspaces = sorted({i.workspace for i in intents})
        params = {"keys": keys, "workspaces": workspaces}
        pending = {(w, p, k): i for i, w, p, k in self._conn().execute(stmt, params)}
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        room: dict[tuple[str, str], int] = {}
        held: dict[tuple[str, str], int] = defaultdict(int)
        for intent in intents:
            row_id = pending.get((intent.workspace, intent.platform, intent.ordering_key))
            if row_id is not None:
                updates.append({"row_id": row_id, "payload": intent.payload})
                continue
            if backlog is not None and intent.priority == Priority.ALERT_NOTICE:
                where = (intent.workspace, intent.platform)
                if where not in room:
                    where_params = {"ws": intent.workspace, "platform": intent.platform}
                    waiting = int(self._conn().execute(_WAITING_NOTICES, where_params).scalar_one())
                    room[where] = backlog.limit - waiting
                if room[where] <= 0:
                    held[where] += 1
                    continue
                room[where] -= 1
            inserts.append(_outbox_insert(intent, now))
        # Sorted: the per-workspace locks in _hold_back are always taken in one order.
        for (workspace, platform), more in sorted(held.items()):
            assert backlog is not None
            self._hold_back(backlog, workspace, platform, more, now, updates, inserts)
        if updates:
            self._conn().execute(_FOLD_UPSERT, updates)
        if inserts:
            self.session.execute(insert(OutboxMessageRow), inserts)

    def _hold_back(
        self,
        backlog: NoticeBacklog,
        workspace: str,
        platform: str,
        more: int,
        now: datetime,
        updates: list[dict[str, Any]],
        inserts: list[dict[str, Any]],
    ) -> None:
        """Count ``more`` held-back notices in the episode's summary notice.

        On Postgres, replicas overflowing at the same moment take turns here (a transaction
        lock per workspace and platform): without it each reads "no summary yet" and inserts
        its own, and two edits of one summary each overwrite the other's count. The second
        replica reads the summary after the first commits (read committed), so it counts on.
        SQLite's write transactions already exclude each other.
        """
        params = {"ws": workspace, "platform": platform}
        if self.dialect == "postgresql":
            self._conn().execute(
                _OVERFLOW_LOCK, {"lock": f"sitrep:overflow:{workspace}:{platform}"}
            )
        latest = self._conn().execute(_LATEST_OVERFLOW, params).first()
        since = now
        episode = False  # the latest summary is recent: keep counting in its message
        if latest is not None:
            payload = dict(latest.payload or {})
            at = _parse_time(payload.get("at"))
            episode = at is not None and now - at <= _EPISODE_GAP
            if episode:
                since = _parse_time(payload.get("since")) or now
                more += int(payload.get("more") or 0)
        intent = backlog.overflow(workspace, platform, more, since)
        payload = {**intent.payload, "at": now.isoformat()}
        if latest is not None and episode and latest.state == OutboxState.PENDING.value:
            updates.append({"row_id": latest.id, "payload": payload})
        else:
            inserts.append(_outbox_insert(dataclasses.replace(intent, payload=payload), now))

    def list_alerts(self, workspace: str, query: AlertQuery) -> list[StoredAlert]:
        """Alerts, most recently seen first."""
        stmt = select(_ALERT).where(_A.workspace == workspace)
        if query.status:
            stmt = stmt.where(_A.status == query.status)
        if query.source:
            stmt = stmt.where(_A.source == query.source)
        if query.group_key:
            stmt = stmt.where(_A.group_key == query.group_key)
        if query.incident_id is not None:
            stmt = stmt.where(_A.incident_id == query.incident_id)
        stmt = stmt.order_by(_A.last_seen_at.desc(), _A.id.desc())
        conn = self._conn()
        if not query.labels:
            stmt = stmt.offset(query.offset).limit(query.limit)
            return [alert_from_row(r) for r in conn.execute(stmt)]
        # Label filters run here rather than in SQL: JSON operators differ between SQLite
        # and Postgres, and the scan is bounded.
        wanted = query.offset + query.limit
        out: list[StoredAlert] = []
        for row in conn.execute(stmt.limit(50_000)):
            if all_match(query.labels, row.labels or {}):
                out.append(alert_from_row(row))
                if len(out) >= wanted:
                    break
        return out[query.offset :]

    # -- maintenance windows -----------------------------------------------------------------

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
        row = MaintenanceWindowRow(
            workspace=workspace,
            starts_at=starts_at,
            ends_at=ends_at,
            matchers=[m.as_json() for m in matchers],
            reason=reason,
            created_by=created_by,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return _to_window(row)

    def windows(
        self, workspace: str, now: datetime, *, include_past: bool = False
    ) -> list[MaintenanceWindow]:
        """Windows that are active or scheduled (or all, newest first, with include_past)."""
        if not include_past:
            rows = self._conn().execute(_ACTIVE_WINDOWS, {"ws": workspace, "now": now})
            return [_to_window(r) for r in rows]
        stmt = (
            select(_WINDOW)
            .where(_WINDOW.c.workspace == workspace)
            .order_by(_WINDOW.c.id.desc())
            .limit(500)
        )
        return [_to_window(r) for r in self._conn().execute(stmt)]

    def get_window(self, workspace: str, window_id: int) -> MaintenanceWindow | None:
        """One window."""
        row = self.session.get(MaintenanceWindowRow, window_id)
        if row is None or row.workspace != workspace:
            return None
        return _to_window(row)

    def cancel_window(
        self, workspace: str, window_id: int, *, now: datetime, by: str
    ) -> MaintenanceWindow | None:
        """End a window now; None when there is no such window."""
        row = self.session.get(MaintenanceWindowRow, window_id, with_for_update=True)
        if row is None or row.workspace != workspace:
            return None
        if row.cancelled_at is None and row.ends_at > now:
            row.cancelled_at = now
            row.cancelled_by = by
            self.session.add(row)
            self.session.flush()
        return _to_window(row)

    def suppressed_firing(self, workspace: str, window_id: int) -> list[StoredAlert]:
        """Alerts a window silenced that are still firing."""
        stmt = (
            select(_ALERT)
            .where(
                _A.workspace == workspace,
                _A.suppressed_by == window_id,
                _A.status == "firing",
            )
            .order_by(_A.id)
        )
        return [alert_from_row(r) for r in self._conn().execute(stmt)]


def _outbox_insert(intent: OutboxIntent, now: datetime) -> dict[str, Any]:
    return {
        "workspace": intent.workspace,
        "platform": intent.platform,
        "ordering_key": intent.ordering_key,
        "action": intent.action,
        "payload": intent.payload,
        "idempotency_key": intent.idempotency_key,
        "priority": int(intent.priority),
        "state": OutboxState.PENDING.value,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "result": {},
    }


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
