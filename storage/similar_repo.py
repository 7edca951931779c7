"""Reads for similar-incident suggestions (``bot.similar.store.SimilarStore``).

The candidate set is read in two steps so a worker can keep it between declarations: the
(id, version) keys of the workspace's most recent resolved or closed public incidents (walking
the primary key backwards, from the index), then the profiles of the keys it does not hold yet,
each incident joined to its first few alerts (a correlated ``LIMIT`` per incident, through the
index on ``alert.incident_id``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import false, func, select, update
from sqlalchemy.sql import Select
from sqlmodel import Session

from bot.domain.model import EventKind, Status
from bot.scheduling.store import JobState
from bot.similar.model import FixNotes, Profile
from bot.similar.store import ALERTS_PER_INCIDENT, MAX_CANDIDATES
from storage.tables import AlertRow, DueJobRow, IncidentRow, StatusUpdateRow, TimelineEventRow

_INCIDENT = IncidentRow.__table__  # type: ignore[attr-defined]
_ALERT = AlertRow.__table__  # type: ignore[attr-defined]
_JOB = DueJobRow.__table__  # type: ignore[attr-defined]
_TIMELINE = TimelineEventRow.__table__  # type: ignore[attr-defined]
_UPDATE = StatusUpdateRow.__table__  # type: ignore[attr-defined]
_I = _INCIDENT.c
_A = _ALERT.c
_DONE = (Status.RESOLVED.value, Status.CLOSED.value)
# Annotation keys whose text describes the failure (the rest are links, runbooks, ids).
_DESCRIBING = ("summary", "description", "message", "title")
_MAX_ANNOTATION = 1000
_CHUNK = 500  # ids per statement, well under SQLite's and psycopg's parameter limits


class SimilarRepo:
    """Similar-incident reads over one session (one transaction)."""

    def __init__(self, session: Session, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    def profile(self, incident_id: int, *, alerts: int = ALERTS_PER_INCIDENT) -> Profile | None:
        """An incident's words and the labels, titles and annotations of its first alerts."""
        row = self.session.execute(
            select(
                _I.id, _I.number, _I.title, _I.summary, _I.root_cause, _I.resolved_at, _I.service
            ).where(_I.id == incident_id)
        ).first()
        if row is None:
            return None
        found = self.session.execute(
            select(_A.labels, _A.title, _A.annotations)
            .where(_A.incident_id == incident_id)
            .order_by(_A.id)
            .limit(alerts)
        ).all()
        labels = _pairs(a.labels for a in found) | _declared_service(row.service)
        texts = [a.title for a in found if a.title]
        texts += [_describing(a.annotations) for a in found]
        return Profile(
            incident_id=row.id,
            number=row.number,
            title=row.title,
            summary=row.summary or "",
            root_cause=row.root_cause or "",
            labels=labels,
            alert_text="\n".join(dict.fromkeys(t for t in texts if t)),
            resolved_at=row.resolved_at,
        )

    def candidate_keys(
        self, workspace: str, *, exclude: int, limit: int = MAX_CANDIDATES
    ) -> list[tuple[int, int]]:
        """(id, version) of the workspace's most recent resolved or closed public incidents."""
        stmt = (
            select(_I.id, _I.version)
            .where(
                _I.workspace == workspace,
                _I.status.in_(_DONE),
                _I.private == false(),
                _I.id != exclude,
            )
            .order_by(_I.id.desc())
            .limit(limit)
        )
        return [(int(r[0]), int(r[1])) for r in self.session.execute(stmt)]

    def candidates(
        self,
        workspace: str,
        incident_ids: Collection[int],
        *,
        alerts: int = ALERTS_PER_INCIDENT,
    ) -> list[Profile]:
        """Those of ``incident_ids`` that are resolved or closed, public and of ``workspace``,
        with their first alerts' labels and titles (one statement per 500 ids)."""
        ids = sorted(set(incident_ids), reverse=True)
        out: list[Profile] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows = self.session.execute(_candidates_stmt(workspace, chunk, alerts)).all()
            # Rows come ordered by incident: one per alert (or one with NULL alert columns).
            for incident_id, grouped in groupby(rows, key=itemgetter(0)):
                group = list(grouped)
                head = group[0]
                number, title, summary, root_cause, resolved_at, closed_at, service = head[1:8]
                present = [g for g in group if g[8] is not None]
                out.append(
                    Profile(
                        incident_id=incident_id,
                        number=number,
                        title=title,
                        summary=summary or "",
                        root_cause=root_cause or "",
                        labels=_pairs(g[8] for g in present) | _declared_service(service),
                        alert_text="\n".join(dict.fromkeys(g[9] for g in present if g[9])),
                        resolved_at=resolved_at or closed_at,
                    )
                )
        return out

    def fix_notes(self, incident_ids: Collection[int]) -> dict[int, FixNotes]:
        """The latest resolve note, mitigation note and stakeholder update of each incident."""
        ids = sorted(set(incident_ids))
        if not ids:
            return {}
        resolved: dict[int, str] = {}
        mitigated: dict[int, str] = {}
        changes = self.session.execute(
            select(_TIMELINE.c.incident_id, _TIMELINE.c.data)
            .where(
                _TIMELINE.c.incident_id.in_(ids),
                _TIMELINE.c.kind == EventKind.STATUS_CHANGED.value,
            )
            .order_by(_TIMELINE.c.at, _TIMELINE.c.id)
        ).all()
        for change in changes:
            data = change.data if isinstance(change.data, Mapping) else {}
            note = str(data.get("text") or "").strip()
            if not note or data.get("reopened"):
                continue
            if data.get("to") == Status.RESOLVED.value:
                resolved[change.incident_id] = note
            elif data.get("to") == Status.MONITORING.value:
                mitigated[change.incident_id] = note
        latest = (
            select(_UPDATE.c.incident_id, func.max(_UPDATE.c.id).label("last"))
            .where(_UPDATE.c.incident_id.in_(ids))
            .group_by(_UPDATE.c.incident_id)
            .subquery()
        )
        updates = {
            r.incident_id: r.text
            for r in self.session.execute(
                select(_UPDATE.c.incident_id, _UPDATE.c.text).join(
                    latest, _UPDATE.c.id == latest.c.last
                )
            )
        }
        out = {}
        for i in ids:
            notes = FixNotes(resolved.get(i, ""), mitigated.get(i, ""), updates.get(i) or "")
            if notes.fix:
                out[i] = notes
        return out

    def finish_job(
        self, job_id: int, now: datetime, *, state: JobState, payload: dict[str, Any]
    ) -> bool:
        """Pending → ``state``, atomically; False when another worker got there first."""
        result = self.session.execute(
            update(_JOB)
            .where(_JOB.c.id == job_id, _JOB.c.state == JobState.PENDING.value)
            .values(state=state.value, done_at=now, payload=payload)
        )
        return bool(getattr(result, "rowcount", 0) == 1)


def _candidates_stmt(workspace: str, ids: list[int], alerts: int) -> Select[Any]:
    picked = (
        select(
            _I.id,
            _I.number,
            _I.title,
            _I.summary,
            _I.root_cause,
            _I.resolved_at,
            _I.closed_at,
            _I.service,
        )
        .where(
            _I.id.in_(ids),
            _I.workspace == workspace,
            _I.status.in_(_DONE),
            _I.private == false(),
        )
        .cte("picked")
    )
    # Each picked incident's first alerts, found through the alert(incident_id, …) index: a
    # correlated LIMIT bounds the rows read for an incident with a storm's thousands.
    first = _ALERT.alias("first_alerts")
    firsts = (
        select(first.c.id)
        .where(first.c.incident_id == picked.c.id)
        .order_by(first.c.id)
        .limit(alerts)
        .correlate(picked)
        .scalar_subquery()
    )
    return (
        select(picked, _A.labels, _A.title.label("alert_title"))
        .select_from(picked.outerjoin(_ALERT, _A.id.in_(firsts)))
        .order_by(picked.c.id.desc(), _A.id)
    )


def _pairs(label_sets: Iterable[object]) -> frozenset[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for labels in label_sets:
        if isinstance(labels, Mapping):
            out.update((str(k), str(v)) for k, v in labels.items() if v not in (None, ""))
    return frozenset(out)


def _declared_service(service: str | None) -> frozenset[tuple[str, str]]:
    """The service the incident was declared for (chat ``service:``, API, alert label), as the
    label the scorer weighs most: a person's declaration then meets alerts of that service."""
    return frozenset({("service", service)}) if service else frozenset()


def _describing(annotations: object) -> str:
    if not isinstance(annotations, Mapping):
        return ""
    parts = [str(annotations.get(k) or "")[:_MAX_ANNOTATION] for k in _DESCRIBING]
    return "\n".join(p for p in parts if p)
