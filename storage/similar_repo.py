"""Reads for similar-incident suggestions (``bot.similar.store.SimilarStore``).

The candidate set is one statement: the workspace's most recent resolved or closed public
incidents (walking the primary key backwards, so no sort of the whole history), each joined to
its first few alerts by a window function, which both SQLite (3.25+) and Postgres run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, select, update
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


class SimilarRepo:
    """Similar-incident reads over one session (one transaction)."""

    def __init__(self, session: Session, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    def profile(self, incident_id: int, *, alerts: int = ALERTS_PER_INCIDENT) -> Profile | None:
        """An incident's words and the labels, titles and annotations of its first alerts."""
        row = self.session.execute(
            select(_I.id, _I.number, _I.title, _I.summary, _I.root_cause, _I.resolved_at).where(
                _I.id == incident_id
            )
        ).first()
        if row is None:
            return None
        found = self.session.execute(
            select(_A.labels, _A.title, _A.annotations)
            .where(_A.incident_id == incident_id)
            .order_by(_A.id)
            .limit(alerts)
        ).all()
        labels = _pairs(a.labels for a in found)
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

    def candidates(
        self,
        workspace: str,
        *,
        exclude: int,
        limit: int = MAX_CANDIDATES,
        alerts: int = ALERTS_PER_INCIDENT,
    ) -> list[Profile]:
        """Recent resolved or closed public incidents with their alerts' labels and titles."""
        rows = self.session.execute(_candidates_stmt(workspace, exclude, limit, alerts)).all()
        out: list[Profile] = []
        grouped: dict[int, list[Any]] = {}
        for r in rows:
            grouped.setdefault(r.id, []).append(r)
        for incident_id, group in grouped.items():
            first = group[0]
            present = [g for g in group if g.labels is not None]
            titles = dict.fromkeys(g.alert_title for g in present if g.alert_title)
            out.append(
                Profile(
                    incident_id=incident_id,
                    number=first.number,
                    title=first.title,
                    summary=first.summary or "",
                    root_cause=first.root_cause or "",
                    labels=_pairs(g.labels for g in present),
                    alert_text="\n".join(titles),
                    resolved_at=first.resolved_at or first.closed_at,
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


def _candidates_stmt(workspace: str, exclude: int, limit: int, alerts: int) -> Select[Any]:
    picked = (
        select(
            _I.id,
            _I.number,
            _I.title,
            _I.summary,
            _I.root_cause,
            _I.resolved_at,
            _I.closed_at,
        )
        .where(
            _I.workspace == workspace,
            _I.status.in_(_DONE),
            _I.private == false(),
            _I.id != exclude,
        )
        .order_by(_I.id.desc())
        .limit(limit)
        .cte("picked")
    )
    ranked = (
        select(
            _A.incident_id,
            _A.labels,
            _A.title.label("alert_title"),
            func.row_number().over(partition_by=_A.incident_id, order_by=_A.id).label("n"),
        )
        .where(_A.workspace == workspace, _A.incident_id.in_(select(picked.c.id)))
        .subquery("ranked")
    )
    return (
        select(picked, ranked.c.labels, ranked.c.alert_title)
        .select_from(
            picked.outerjoin(
                ranked, and_(ranked.c.incident_id == picked.c.id, ranked.c.n <= alerts)
            )
        )
        .order_by(picked.c.id.desc())
    )


def _pairs(label_sets: Iterable[object]) -> frozenset[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for labels in label_sets:
        if isinstance(labels, Mapping):
            out.update((str(k), str(v)) for k, v in labels.items() if v not in (None, ""))
    return frozenset(out)


def _describing(annotations: object) -> str:
    if not isinstance(annotations, Mapping):
        return ""
    parts = [str(annotations.get(k) or "")[:_MAX_ANNOTATION] for k in _DESCRIBING]
    return "\n".join(p for p in parts if p)
