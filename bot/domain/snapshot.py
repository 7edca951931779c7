"""The incident as chat renderers and the API see it: a plain, JSON-safe dict.

Snapshots are stored in outbox rows, so a message renders what was true when it was
committed, and renderers never reach back into the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.model import Incident
from bot.domain.policy import Policy


def iso(value: datetime | None) -> str | None:
    """ISO-8601 with a Z suffix, or None."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def incident_snapshot(incident: Incident, policy: Policy, base_url: str = "") -> dict[str, Any]:
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
    }
