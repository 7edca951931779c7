"""Datadog webhook integration payloads, from the template sitrep asks users to configure.

Datadog has no fixed webhook body: each webhook's Payload field is a JSON template whose
`$VARIABLES` Datadog fills in. Configure the sitrep webhook (Integrations > Webhooks) with this
payload, leave "Encode as form" unchecked, and add the shared secret as a custom header::

    {
      "id": "$ID",
      "alert_id": "$ALERT_ID",
      "alert_cycle_key": "$ALERT_CYCLE_KEY",
      "aggregate": "$AGGREG_KEY",
      "title": "$EVENT_TITLE",
      "body": "$EVENT_MSG",
      "transition": "$ALERT_TRANSITION",
      "priority": "$ALERT_PRIORITY",
      "alert_type": "$ALERT_TYPE",
      "alert_status": "$ALERT_STATUS",
      "alert_scope": "$ALERT_SCOPE",
      "alert_query": "$ALERT_QUERY",
      "date": "$DATE",
      "tags": "$TAGS",
      "link": "$LINK",
      "snapshot": "$SNAPSHOT",
      "hostname": "$HOSTNAME",
      "org": {"id": "$ORG_ID", "name": "$ORG_NAME"}
    }

Mapping: fingerprint = `alert_cycle_key` (one trigger-to-recovery cycle of one monitor group),
else `aggregate`, else `alert_id`; group key = `alert_id` (the monitor id, so a multi-alert
monitor's groups share one incident), else `aggregate`. Transitions `Triggered`,
`Re-Triggered`, `Warn`, `Re-Warn`, `No Data`, `Re-No Data`, `Renotify` are firing;
`Recovered`, `Re-Recovered` and anything else containing "recover" (or `alert_type`
`success`) are resolved. Severity from `priority` (P1/P2 critical, P3 warning, P4/P5 info),
else `alert_type` (error critical, warning warning, info/success info), else `Triggered`
critical, else warning. `date` is epoch milliseconds (the start of a firing alert, the
end of a recovered one). `tags` ("env:prod,service:web") become labels; `title` loses the
leading "[Triggered]" / "[P1]" markers Datadog puts in `$EVENT_TITLE`, which is kept whole in
`annotations["event_title"]`; `body` loses the `%%%` markdown fences. Only the fields used are
required to be strings or numbers; extra fields are ignored. `external_id` = `id` (the event).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator

from integrations.alerts.errors import PayloadError, PayloadModel, Text, validate
from integrations.alerts.model import (
    AlertLinks,
    AlertStatus,
    NormalizedAlert,
    ParsedWebhook,
    from_epoch,
    normalize_severity,
    parse_tags,
)

__all__ = ["SOURCE", "TEMPLATE", "parse"]

SOURCE = "datadog"

TEMPLATE = {
    "id": "$ID",
    "alert_id": "$ALERT_ID",
    "alert_cycle_key": "$ALERT_CYCLE_KEY",
    "aggregate": "$AGGREG_KEY",
    "title": "$EVENT_TITLE",
    "body": "$EVENT_MSG",
    "transition": "$ALERT_TRANSITION",
    "priority": "$ALERT_PRIORITY",
    "alert_type": "$ALERT_TYPE",
    "alert_status": "$ALERT_STATUS",
    "alert_scope": "$ALERT_SCOPE",
    "alert_query": "$ALERT_QUERY",
    "date": "$DATE",
    "tags": "$TAGS",
    "link": "$LINK",
    "snapshot": "$SNAPSHOT",
    "hostname": "$HOSTNAME",
    "org": {"id": "$ORG_ID", "name": "$ORG_NAME"},
}
"""The webhook payload template sitrep expects (see the module docstring)."""

# A variable Datadog could not fill for this notification may come through as its literal
# name ("$ALERT_CYCLE_KEY" on a test notification); such a value means "not given".
_UNFILLED = re.compile(r"^\$[A-Z][A-Z0-9_]*$")
_TITLE_MARKERS = re.compile(
    r"^(?:\s*\[(?:triggered|re-triggered|recovered|re-recovered|warn|re-warn|no data|"
    r"re-no data|renotify|p[0-5])\b[^\]]*\])+\s*",
    re.IGNORECASE,
)
_FIRING = frozenset(
    {"triggered", "re-triggered", "warn", "re-warn", "no data", "re-no data", "renotify"}
)


def _given(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or _UNFILLED.match(value):
        return None
    return value


Given = Annotated[Text | None, AfterValidator(_given)]
"""A templated field: "", whitespace and an unfilled "$VARIABLE" all mean absent."""


class Org(PayloadModel):
    """`org`."""

    id: Given = None
    name: Given = None


class Payload(PayloadModel):
    """The body produced by `TEMPLATE`; every field is optional because users edit templates."""

    id: Given = None
    alert_id: Given = None
    alert_cycle_key: Given = None
    aggregate: Given = None
    title: Given = None
    body: Given = None
    transition: Given = None
    priority: Given = None
    alert_type: Given = None
    alert_status: Given = None
    alert_scope: Given = None
    alert_query: Given = None
    date: Given = None
    tags: Given = None
    link: Given = None
    snapshot: Given = None
    hostname: Given = None
    org: Org | None = None


def _status(transition: str | None, alert_type: str | None) -> AlertStatus:
    word = (transition or "").lower()
    if word in _FIRING:
        return AlertStatus.FIRING
    if "recover" in word or (not word and (alert_type or "").lower() == "success"):
        return AlertStatus.RESOLVED
    return AlertStatus.FIRING


def _severity(body: Payload) -> str:
    by_priority = normalize_severity(body.priority)
    if by_priority:
        return by_priority
    alert_type = (body.alert_type or "").lower()
    if alert_type in ("error", "warning", "info", "success"):
        return {"error": "critical", "warning": "warning"}.get(alert_type, "info")
    # Without either, "Triggered" means the monitor's alert (not warning) threshold was crossed.
    if (body.transition or "").lower() in ("triggered", "re-triggered"):
        return "critical"
    return "warning"


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return from_epoch(float(value))
    except ValueError:
        raise PayloadError("date", "expected epoch milliseconds ($DATE)") from None


def _body_text(value: str | None) -> str:
    # $EVENT_MSG wraps the monitor message in "%%%" markdown fences.
    text = (value or "").strip()
    text = text.removeprefix("%%%").removesuffix("%%%")
    return text.strip()


def parse(payload: Any, headers: Mapping[str, str]) -> ParsedWebhook:
    """Parse a Datadog webhook body produced by `TEMPLATE`."""
    body = validate(Payload, payload)
    fingerprint = body.alert_cycle_key or body.aggregate or body.alert_id
    if fingerprint is None:
        raise PayloadError(
            "alert_cycle_key", "required ($ALERT_CYCLE_KEY; or alert_id / aggregate)"
        )
    status = _status(body.transition, body.alert_type)
    severity = _severity(body)
    when = _date(body.date)

    labels = parse_tags((body.tags or "").split(","))
    extra_labels = (
        ("host", body.hostname),
        ("monitor_id", body.alert_id),
        ("priority", body.priority),
        ("alert_type", body.alert_type),
    )
    for key, value in extra_labels:
        if value:
            labels.setdefault(key, value)
    # Alert rules match on labels; Datadog's own words for severity are priority/alert_type.
    labels.setdefault("severity", severity)

    annotations = {
        "event_title": body.title,
        "transition": body.transition,
        "alert_status": body.alert_status,
        "alert_scope": body.alert_scope,
        "alert_query": body.alert_query,
    }
    title = _TITLE_MARKERS.sub("", body.title or "").strip()
    normalized = NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint,
        group_key=body.alert_id or body.aggregate or fingerprint,
        status=status,
        severity=severity,
        title=title or body.title or f"Datadog monitor {body.alert_id or fingerprint}",
        description=_body_text(body.body),
        labels=labels,
        annotations={key: value for key, value in annotations.items() if value},
        starts_at=when if status is AlertStatus.FIRING else None,
        ends_at=when if status is AlertStatus.RESOLVED else None,
        links=AlertLinks(generator=body.link, image=body.snapshot),
        external_id=body.id,
        raw=payload,
    )
    org = body.org
    return ParsedWebhook(
        source=SOURCE,
        alerts=(normalized,),
        delivery_id=None,
        group_key=normalized.group_key,
        truncated=0,
        extras={"org_id": org.id if org else None, "org_name": org.name if org else None},
    )
