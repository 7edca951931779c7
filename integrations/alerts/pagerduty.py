"""PagerDuty V3 webhook subscription payloads.

Each delivery carries exactly one event::

    {"event": {"id": "...", "event_type": "incident.triggered", "resource_type": "incident",
               "occurred_at": "...", "agent": {...}, "client": {...},
               "data": {"id": "PGR0VU2", "type": "incident", "number": 2, "status": "triggered",
                        "title": "...", "html_url": "...", "incident_key": "...",
                        "created_at": "...", "service": {...}, "assignees": [...],
                        "escalation_policy": {...}, "teams": [...], "priority": {...} | null,
                        "urgency": "high" | "low", "conference_bridge": {...}}}}

Only events whose `data.type` is `incident` become an alert (fingerprint and group key = the
incident id, so every event about one incident updates the same alert). `incident.resolved`
(or an incident whose status is `resolved`) is resolved; triggered, acknowledged, escalated,
reopened, priority_updated and the rest are firing, with PagerDuty's own status kept in
`annotations["pagerduty_status"]`. Severity comes from the priority (P1/P2 critical, P3
warning, other priorities info), else the urgency (high critical, low warning). Any other event
(`pagey.ping` when a subscription is tested, `incident.annotated`, `service.updated`, ...) parses
to zero alerts. `delivery_id` is the `X-Webhook-Id` header, which PagerDuty repeats on retries;
`external_id` is `event.id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from integrations.alerts.errors import PayloadModel, Text, validate
from integrations.alerts.model import (
    AlertLinks,
    AlertStatus,
    NormalizedAlert,
    ParsedWebhook,
    lower_headers,
    to_utc,
)

__all__ = ["SOURCE", "parse"]

SOURCE = "pagerduty"


class Reference(PayloadModel):
    """A PagerDuty reference object (`service`, `teams[]`, `priority`, ...)."""

    id: Text | None = None
    summary: str | None = None
    name: str | None = None  # priorities carry a name in some API shapes
    html_url: str | None = None


class ConferenceBridge(PayloadModel):
    """`data.conference_bridge`."""

    conference_number: str | None = None
    conference_url: str | None = None


class Incident(PayloadModel):
    """`event.data` when `data.type` is `incident`."""

    id: Text
    type: str
    number: int | None = None
    status: str | None = None
    title: str | None = None
    html_url: str | None = None
    incident_key: str | None = None
    created_at: datetime | None = None
    urgency: str | None = None
    service: Reference | None = None
    priority: Reference | None = None
    escalation_policy: Reference | None = None
    assignees: list[Reference] | None = None
    teams: list[Reference] | None = None
    conference_bridge: ConferenceBridge | None = None


class Event(PayloadModel):
    """`event`: the envelope common to every event type."""

    id: Text | None = None
    event_type: str
    resource_type: str | None = None
    occurred_at: datetime | None = None
    data: dict[str, Any] | None = None


class Envelope(PayloadModel):
    """The whole body."""

    event: Event


def _name(ref: Reference | None) -> str:
    if ref is None:
        return ""
    return (ref.summary or ref.name or "").strip()


def _severity(incident: Incident) -> str:
    priority = _name(incident.priority).upper()
    if priority:
        # An account's priorities are named by its admins; only P1..P3 have a fixed meaning.
        return {"P1": "critical", "P2": "critical", "P3": "warning"}.get(priority, "info")
    urgency = (incident.urgency or "").lower()
    return {"high": "critical", "low": "warning"}.get(urgency, "warning")


def _alert(event: Event, incident: Incident, raw: Mapping[str, Any]) -> NormalizedAlert:
    resolved = event.event_type == "incident.resolved" or incident.status == "resolved"
    severity = _severity(incident)
    labels = {
        "service": _name(incident.service),
        "urgency": incident.urgency or "",
        "priority": _name(incident.priority),
        "team": ",".join(_name(team) for team in incident.teams or [] if _name(team)),
        "escalation_policy": _name(incident.escalation_policy),
        "incident_key": incident.incident_key or "",
    }
    labels = {key: value for key, value in labels.items() if value}
    # Alert rules match on labels; PagerDuty has no severity label of its own.
    labels.setdefault("severity", severity)
    annotations = {
        "pagerduty_status": incident.status or "",
        "event_type": event.event_type,
        "incident_number": "" if incident.number is None else str(incident.number),
        "assignees": ", ".join(_name(a) for a in incident.assignees or [] if _name(a)),
    }
    annotations = {key: value for key, value in annotations.items() if value}
    bridge = incident.conference_bridge
    number = f"#{incident.number} " if incident.number is not None else ""
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=incident.id,
        group_key=incident.id,
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        severity=severity,
        title=(incident.title or "").strip() or f"PagerDuty incident {number}{incident.id}",
        description="",
        labels=labels,
        annotations=annotations,
        starts_at=to_utc(incident.created_at),
        ends_at=to_utc(event.occurred_at) if resolved else None,
        links=AlertLinks(
            generator=incident.html_url or None,
            conference=(bridge.conference_url or None) if bridge else None,
        ),
        external_id=event.id,
        raw=raw,
    )


def parse(payload: Any, headers: Mapping[str, str]) -> ParsedWebhook:
    """Parse a PagerDuty V3 webhook body."""
    event = validate(Envelope, payload).event
    alerts: tuple[NormalizedAlert, ...] = ()
    if event.data is not None and event.data.get("type") == "incident":
        incident = validate(Incident, event.data, prefix="event.data")
        alerts = (_alert(event, incident, payload["event"]),)
    raw_event = payload["event"]
    extras = {
        "event_id": event.id,
        "event_type": event.event_type,
        "resource_type": event.resource_type,
        "occurred_at": raw_event.get("occurred_at"),
        "agent": raw_event.get("agent"),
        "client": raw_event.get("client"),
    }
    return ParsedWebhook(
        source=SOURCE,
        alerts=alerts,
        delivery_id=lower_headers(headers).get("x-webhook-id") or None,
        group_key=alerts[0].group_key if alerts else None,
        truncated=0,
        extras=extras,
    )
