"""sitrep's own minimal alert format, for scripts, cron jobs and tools without a parser here.

POST one alert::

    {
      "title": "Replica lag above 60 s on db-2",      (required, non-empty)
      "status": "firing",                             ("firing" | "resolved"; default firing)
      "severity": "critical",                         ("critical" | "warning" | "info", or a
                                                       synonym: P1..P5, sev1..sev5, high, low,
                                                       error, page, ...; default warning)
      "description": "Replication is 94 s behind.",
      "fingerprint": "db-2-replica-lag",              (identity across re-sends; default: the
                                                       SHA-256 of the sorted labels, or of the
                                                       title when there are no labels)
      "group_key": "db-2",                            (groups alerts into one incident;
                                                       default: the fingerprint)
      "labels": {"service": "postgres", "host": "db-2"},
      "annotations": {"owner": "dba-team"},
      "starts_at": "2026-11-22T23:00:00Z",            (RFC 3339, or Unix seconds/milliseconds;
      "ends_at": null,                                 no offset means UTC)
      "links": {"generator": "...", "runbook": "...", "dashboard": "...", "silence": "...",
                "panel": "...", "image": "...", "conference": "..."}
    }

or a batch, `{"alerts": [ ...objects as above... ], "group_key": "optional batch key"}`, where
an alert without its own `group_key` takes the batch's. Labels and annotations are strings.
Unknown fields are ignored. Sign requests the Standard Webhooks way (`webhook-id`,
`webhook-timestamp`, `webhook-signature`); `delivery_id` is the `webhook-id` header, which a
sender keeps across retries of one message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, StringConstraints, field_validator

from integrations.alerts.errors import PayloadError, PayloadModel, validate
from integrations.alerts.model import (
    AlertLinks,
    AlertStatus,
    NormalizedAlert,
    ParsedWebhook,
    labels_digest,
    lower_headers,
    normalize_severity,
    to_utc,
)

__all__ = ["SOURCE", "parse"]

SOURCE = "generic"


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Links(PayloadModel):
    """`links`."""

    generator: str | None = None
    runbook: str | None = None
    dashboard: str | None = None
    silence: str | None = None
    panel: str | None = None
    image: str | None = None
    conference: str | None = None


class Alert(PayloadModel):
    """One alert in sitrep's generic format."""

    title: Key
    status: Annotated[AlertStatus, BeforeValidator(_lower)] = AlertStatus.FIRING
    severity: str | None = None
    description: str | None = None
    fingerprint: Annotated[Key, StringConstraints(max_length=200)] | None = None
    group_key: Annotated[Key, StringConstraints(max_length=500)] | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    links: Links | None = None

    @field_validator("severity")
    @classmethod
    def _known_severity(cls, value: str | None) -> str | None:
        if value is not None and value.strip() and normalize_severity(value) is None:
            raise ValueError("expected critical, warning or info (or P1..P5, sev1..sev5)")
        return value


class Batch(PayloadModel):
    """`{"alerts": [...]}`."""

    alerts: list[Any]
    group_key: Annotated[Key, StringConstraints(max_length=500)] | None = None


def _url(value: str | None) -> str | None:
    return (value or "").strip() or None


def _normalize(alert: Alert, raw: Mapping[str, Any], batch_key: str | None) -> NormalizedAlert:
    labels = dict(alert.labels or {})
    # With no labels every label-less alert would share one digest; the title tells them apart.
    fingerprint = alert.fingerprint or labels_digest(labels or {"title": alert.title})
    severity = normalize_severity(alert.severity) or "warning"
    links = alert.links or Links()
    normalized_labels = dict(labels)
    # Alert rules match on labels; give them the severity when the sender set none.
    normalized_labels.setdefault("severity", severity)
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint,
        group_key=alert.group_key or batch_key or fingerprint,
        status=alert.status,
        severity=severity,
        title=alert.title,
        description=(alert.description or "").strip(),
        labels=normalized_labels,
        annotations=dict(alert.annotations or {}),
        starts_at=to_utc(alert.starts_at),
        ends_at=to_utc(alert.ends_at),
        links=AlertLinks(
            generator=_url(links.generator),
            runbook=_url(links.runbook),
            dashboard=_url(links.dashboard),
            silence=_url(links.silence),
            panel=_url(links.panel),
            image=_url(links.image),
            conference=_url(links.conference),
        ),
        external_id=None,
        raw=raw,
    )


def parse(payload: Any, headers: Mapping[str, str]) -> ParsedWebhook:
    """Parse a generic alert, or a batch of them."""
    if isinstance(payload, Mapping) and "alerts" in payload:
        batch = validate(Batch, payload)
        items = [
            (validate(Alert, item, prefix=f"alerts[{index}]"), item)
            for index, item in enumerate(batch.alerts)
        ]
        batch_key = batch.group_key
    elif isinstance(payload, Mapping):
        items = [(validate(Alert, payload), payload)]
        batch_key = None
    else:
        raise PayloadError("payload", "expected an object")
    alerts = tuple(_normalize(alert, raw, batch_key) for alert, raw in items)
    return ParsedWebhook(
        source=SOURCE,
        alerts=alerts,
        delivery_id=lower_headers(headers).get("webhook-id") or None,
        group_key=batch_key or (alerts[0].group_key if len(alerts) == 1 else None),
        truncated=0,
        extras={},
    )
