"""The incident as chat renderers and the API see it: a plain, JSON-safe dict.

Snapshots are stored in outbox rows, so a message renders what was true when it was
committed, and renderers never reach back into the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, cast

from bot.domain.model import Incident
from bot.domain.policy import Policy


def iso(value: datetime | None) -> str | None:
    """ISO-8601 with a Z suffix, or None."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


class IncidentSnapshot(TypedDict, total=False):
    """What `incident_snapshot` writes. Not total: a row committed by an older version may
    lack a newer key, so renderers read with ``.get`` and a default."""

    workspace: str
    id: int | None
    ref: str
    number: int
    title: str
    summary: str
    impact: str
    severity: str
    severity_rank: int
    severity_description: str
    status: str
    is_open: bool
    private: bool
    commander: str | None
    comms_lead: str | None
    scribe: str | None
    declared_by: str
    declared_at: str | None
    acknowledged_at: str | None
    mitigated_at: str | None
    resolved_at: str | None
    closed_at: str | None
    last_update_at: str | None
    next_update_due_at: str | None
    runbook_url: str
    url: str
    origin: str
    service: str


def snapshot_of(value: object) -> IncidentSnapshot:
    """A snapshot read back from a JSON payload (an empty one when there is none)."""
    if isinstance(value, dict):
        return cast(IncidentSnapshot, value)
    return IncidentSnapshot()


def snapshots_of(value: object) -> list[IncidentSnapshot]:
    """The snapshots in a JSON list (a digest's incidents); anything else is skipped."""
    if not isinstance(value, list):
        return []
    return [snapshot_of(v) for v in value if isinstance(v, dict)]


def incident_snapshot(incident: Incident, policy: Policy, base_url: str = "") -> IncidentSnapshot:
    """Everything a renderer needs to draw an incident, as JSON-safe values."""
    sev = policy.severity(incident.severity)
    url = f"{base_url.rstrip('/')}/incidents/{incident.number}" if base_url else ""
    return {
        "workspace": incident.workspace,
        "id": incident.id,
        "ref": incident.ref,
        "number": incident.number,
        "title": incident.title,
        "summary": incident.summary,
        "impact": incident.impact,
        "severity": sev.name,
        "severity_rank": sev.rank,
        "severity_description": sev.description,
        "status": incident.status.value,
        "is_open": incident.is_open,
        "private": incident.private,
        "commander": incident.commander,
        "comms_lead": incident.comms_lead,
        "scribe": incident.scribe,
        "declared_by": incident.declared_by,
        "declared_at": iso(incident.declared_at),
        "acknowledged_at": iso(incident.acknowledged_at),
        "mitigated_at": iso(incident.mitigated_at),
        "resolved_at": iso(incident.resolved_at),
        "closed_at": iso(incident.closed_at),
        "last_update_at": iso(incident.last_update_at),
        "next_update_due_at": iso(incident.next_update_due_at),
        "runbook_url": incident.runbook_url,
        "url": url,
        "origin": incident.origin,
        "service": incident.service,
    }
