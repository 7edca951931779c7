"""Opsgenie outgoing webhook integration payloads (alert actions).

Opsgenie posts one body per alert action::

    {"action": "Create", "integrationName": "...", "integrationId": "...",
     "source": {"name": "...", "type": "..."},
     "alert": {"alertId": "...", "tinyId": "1791", "alias": "...", "message": "...",
               "description": "...", "priority": "P1", "tags": ["a", "k:v"], "entity": "...",
               "source": "...", "team": "...", "responders": [...], "details": {...},
               "createdAt": 1545232476837, "updatedAt": 1545232477611000000,
               "username": "...", "userId": "..."}}

`Close` and `Delete` resolve the alert; every other action (`Create`, `Acknowledge`,
`Escalate`, `AddNote`, `AssignOwnership`, ...) leaves it firing, with the action kept in
`annotations["opsgenie_action"]`. Fingerprint = `alertId`; group key = `alias` (Opsgenie's own
dedup key) or `alertId`. Severity: P1/P2 critical, P3 warning, P4/P5 info (P3, Opsgenie's
default, when absent). Labels are the alert's `details` and `key:value` tags (a bare tag is
`tag: "true"`), plus `priority`, `entity`, `team` and the normalized `severity`.
A `runbook_url` or `runbook` detail holding a URL is the runbook link.
`createdAt` is epoch milliseconds; `updatedAt` arrives in nanoseconds and is only used as the
end time of a closed alert. Opsgenie sends no per-delivery id, so `delivery_id` is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from integrations.alerts.errors import PayloadModel, Text, validate
from integrations.alerts.model import (
    AlertLinks,
    AlertStatus,
    NormalizedAlert,
    ParsedWebhook,
    from_epoch,
    normalize_severity,
    parse_tags,
)

__all__ = ["SOURCE", "parse"]

SOURCE = "opsgenie"

_RESOLVING_ACTIONS = frozenset({"close", "delete"})


class Responder(PayloadModel):
    """An element of `alert.responders`."""

    name: str | None = None
    type: str | None = None


class Alert(PayloadModel):
    """`alert`."""

    alert_id: Text = Field(alias="alertId")
    tiny_id: Text | None = Field(None, alias="tinyId")
    alias: Text | None = None
    message: str | None = None
    description: str | None = None
    priority: str | None = None
    tags: list[Text] | None = None
    details: dict[str, Text] | None = None
    entity: str | None = None
    source: str | None = None
    team: str | None = None
    responders: list[Responder] | None = None
    username: str | None = None
    created_at: float | None = Field(None, alias="createdAt")
    updated_at: float | None = Field(None, alias="updatedAt")


class Payload(PayloadModel):
    """The whole body."""

    action: str
    alert: Alert


def _detail_url(details: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = details.get(name, "").strip()
        if value.startswith(("http://", "https://")):
            return value
    return None


def parse(payload: Any, headers: Mapping[str, str]) -> ParsedWebhook:
    """Parse an Opsgenie outgoing webhook body."""
    body = validate(Payload, payload)
    alert = body.alert
    resolved = body.action.strip().lower() in _RESOLVING_ACTIONS
    priority = (alert.priority or "").strip().upper()
    severity = normalize_severity(priority or "P3") or "warning"

    labels = parse_tags(alert.tags or [])
    labels.update(alert.details or {})
    for key, value in (("priority", priority), ("entity", alert.entity), ("team", alert.team)):
        if value:
            labels[key] = value
    # Alert rules match on labels; Opsgenie has priorities, not a severity label.
    labels.setdefault("severity", severity)

    responders = ", ".join(r.name for r in alert.responders or [] if r.name)
    annotations = {
        "opsgenie_action": body.action,
        "tiny_id": alert.tiny_id or "",
        "alert_source": alert.source or "",
        "responders": responders,
        "username": alert.username or "",
    }
    alert_id = alert.alert_id
    ends_at = from_epoch(alert.updated_at) if resolved and alert.updated_at else None
    normalized = NormalizedAlert(
        source=SOURCE,
        fingerprint=alert_id,
        group_key=(alert.alias or "").strip() or alert_id,
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        severity=severity,
        title=(alert.message or "").strip() or f"Opsgenie alert {alert.tiny_id or alert_id}",
        description=(alert.description or "").strip(),
        labels=labels,
        annotations={key: value for key, value in annotations.items() if value},
        starts_at=from_epoch(alert.created_at) if alert.created_at else None,
        ends_at=ends_at,
        links=AlertLinks(runbook=_detail_url(alert.details or {}, "runbook_url", "runbook")),
        external_id=None,
        raw=payload,
    )
    extras = {key: value for key, value in payload.items() if key != "alert"}
    return ParsedWebhook(
        source=SOURCE,
        alerts=(normalized,),
        delivery_id=None,
        group_key=normalized.group_key,
        truncated=0,
        extras=extras,
    )
