"""bot.security.membership's visibility rule as SQL, for every query that lists incidents."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import or_, true
from sqlalchemy import select as sa_select
from sqlmodel import col

from storage.tables import IncidentRow, TimelineEventRow


def visible_to(ids: Collection[str]) -> Any:
    """Public, or private with one of ``ids`` as declarer, role holder or timeline actor."""
    ids = list(ids)
    if not ids:
        return col(IncidentRow.private).is_(False)
    t = TimelineEventRow.__table__  # type: ignore[attr-defined]
    acted = (
        sa_select(t.c.id).where(t.c.incident_id == col(IncidentRow.id), t.c.actor.in_(ids)).exists()
    )
    return or_(
        col(IncidentRow.private).is_(False),
        col(IncidentRow.declared_by).in_(ids),
        col(IncidentRow.commander).in_(ids),
        col(IncidentRow.comms_lead).in_(ids),
        col(IncidentRow.scribe).in_(ids),
        acted,
    )


def visible_for(private_for: Collection[str] | None) -> Any:
    """``visible_to(private_for)``, or no condition at all for an admin (``None``)."""
    return true() if private_for is None else visible_to(sorted(private_for))
