"""Prometheus Alertmanager webhook receiver payloads (`"version": "4"`).

Alertmanager posts one JSON object per notification of an alert group::

    {"version": "4", "receiver": "...", "status": "firing", "groupKey": "{}:{alertname=\"X\"}",
     "truncatedAlerts": 0, "externalURL": "http://alertmanager:9093",
     "groupLabels": {...}, "commonLabels": {...}, "commonAnnotations": {...},
     "alerts": [{"status": "firing", "labels": {...}, "annotations": {...},
                 "startsAt": "...", "endsAt": "0001-01-01T00:00:00Z",
                 "generatorURL": "...", "fingerprint": "bca19f25a6783506"}]}

It re-sends the whole group every `group_interval` while anything in it fires, so the alert
fingerprint (not the delivery) is the identity. Mapping: title = `annotations.summary` or
`labels.alertname`; description = `annotations.description`; severity from `labels.severity`
(warning when absent or unknown); runbook = `annotations.runbook_url`; dashboard =
`annotations.dashboard_url` / `dashboard`; silence = a prefilled silence form under
`externalURL`. Unknown fields (newer `notification_reason`, `routeLabels`) are ignored by
validation and kept in `ParsedWebhook.extras`, which holds every top-level field but `alerts`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import Field

from integrations.alerts.errors import PayloadModel, validate
from integrations.alerts.model import (
    AlertLinks,
    AlertStatus,
    NormalizedAlert,
    ParsedWebhook,
    normalize_severity,
    to_utc,
)

__all__ = ["SOURCE", "fingerprint", "labelset", "parse", "silence_url"]

SOURCE = "alertmanager"

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF
_SEPARATOR = b"\xff"  # cannot occur in UTF-8, so "a"+"bc" and "ab"+"c" hash differently


class AlertmanagerAlert(PayloadModel):
    """One element of `alerts`."""

    status: AlertStatus
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    starts_at: datetime | None = Field(None, alias="startsAt")
    ends_at: datetime | None = Field(None, alias="endsAt")
    generator_url: str | None = Field(None, alias="generatorURL")
    fingerprint: str | None = None


AlertT = TypeVar("AlertT", bound=AlertmanagerAlert)


class AlertGroup(PayloadModel, Generic[AlertT]):
    """The envelope Alertmanager (and Grafana, which extends it) sends."""

    alerts: list[AlertT]
    version: str | None = None
    receiver: str | None = None
    status: AlertStatus | None = None
    group_labels: dict[str, str] | None = Field(None, alias="groupLabels")
    common_labels: dict[str, str] | None = Field(None, alias="commonLabels")
    common_annotations: dict[str, str] | None = Field(None, alias="commonAnnotations")
    external_url: str | None = Field(None, alias="externalURL")
    group_key: str | None = Field(None, alias="groupKey")
    truncated_alerts: int = Field(0, alias="truncatedAlerts", ge=0)


class AlertmanagerPayload(AlertGroup[AlertmanagerAlert]):
    """An Alertmanager webhook body."""


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's alert fingerprint: FNV-1a 64 over the sorted labels, 16 hex digits."""
    digest = _FNV_OFFSET
    # Go sorts label names bytewise; Python's code-point order is the same order for UTF-8.
    for name in sorted(labels):
        for chunk in (name.encode(), _SEPARATOR, labels[name].encode(), _SEPARATOR):
            for byte in chunk:
                digest = ((digest ^ byte) * _FNV_PRIME) & _MASK
    return f"{digest:016x}"


def _matcher(name: str, value: str) -> str:
    value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{name}="{value}"'


def labelset(labels: Mapping[str, str]) -> str:
    """Labels in Alertmanager's matcher syntax, sorted: `{alertname="X", job="y"}`."""
    return "{" + ", ".join(_matcher(name, labels[name]) for name in sorted(labels)) + "}"


# What quote(text, safe="") leaves alone; every other character becomes %XX per UTF-8 byte.
_RESERVED = re.compile(r"[^A-Za-z0-9_.~-]")
_ESCAPED = {chr(code): f"%{code:02X}" for code in range(128)}


def _escape(found: re.Match[str]) -> str:
    char = found.group()
    return _ESCAPED.get(char) or quote(char, safe="")


@lru_cache(maxsize=16384)
def _quoted_matcher(name: str, value: str) -> str:
    # Same result as quote(), which maps every byte in Python; here a regex finds the few
    # reserved characters and a table has their escapes.
    return _RESERVED.sub(_escape, _matcher(name, value))


def silence_url(external_url: str | None, labels: Mapping[str, str]) -> str | None:
    """A link to Alertmanager's new-silence form prefilled with these labels, or None."""
    if not external_url or not labels:
        return None
    # Percent-encoding works character by character, so the quoted label set is the quoted
    # matchers joined by a quoted ", ". Alerts of a group share most of their labels: quoting
    # each matcher once instead of the whole set per alert takes most of the parse time away.
    quoted = "%2C%20".join([_quoted_matcher(name, labels[name]) for name in sorted(labels)])
    return f"{external_url.rstrip('/')}/#/silences/new?filter=%7B{quoted}%7D"


def annotation_link(annotations: Mapping[str, str], *names: str) -> str | None:
    """The first non-empty annotation among `names`, or None."""
    for name in names:
        value = annotations.get(name, "").strip()
        if value:
            return value
    return None


def group_key_of(group: AlertGroup[Any], fallback: str) -> str:
    """The group's key, else one built from its group labels, else `fallback`."""
    if group.group_key:
        return group.group_key
    if group.group_labels:
        return "{}:" + labelset(group.group_labels)
    return fallback


def normalize(
    alert: AlertmanagerAlert,
    raw: Mapping[str, Any],
    group: AlertGroup[Any],
    *,
    source: str,
    links: AlertLinks,
) -> NormalizedAlert:
    """Build the normalized alert for one element of an Alertmanager-shaped `alerts` array."""
    # Validation built these dicts for this alert alone: no copy needed.
    labels = alert.labels or {}
    annotations = alert.annotations or {}
    alert_fingerprint = alert.fingerprint or fingerprint(labels)
    title = (
        annotations.get("summary", "").strip()
        or labels.get("alertname", "").strip()
        or f"Alert {alert_fingerprint}"
    )
    return NormalizedAlert(
        source=source,
        fingerprint=alert_fingerprint,
        group_key=group_key_of(group, alert_fingerprint),
        status=alert.status,
        severity=normalize_severity(labels.get("severity")) or "warning",
        title=title,
        description=annotations.get("description", "").strip(),
        labels=labels,
        annotations=annotations,
        starts_at=to_utc(alert.starts_at),
        ends_at=to_utc(alert.ends_at),
        links=links,
        external_id=None,
        raw=raw,
    )


def extras_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Every top-level field except `alerts`, as sent."""
    return {key: value for key, value in payload.items() if key != "alerts"}


def parse(payload: Any, headers: Mapping[str, str]) -> ParsedWebhook:
    """Parse an Alertmanager webhook body."""
    group = validate(AlertmanagerPayload, payload)
    alerts = []
    for alert, raw in zip(group.alerts, payload["alerts"], strict=True):
        annotations = alert.annotations or {}
        links = AlertLinks(
            generator=(alert.generator_url or "").strip() or None,
            runbook=annotation_link(annotations, "runbook_url", "runbook"),
            dashboard=annotation_link(annotations, "dashboard_url", "dashboard"),
            silence=silence_url(group.external_url, alert.labels or {}),
        )
        alerts.append(normalize(alert, raw, group, source=SOURCE, links=links))
    return ParsedWebhook(
        source=SOURCE,
        alerts=tuple(alerts),
        delivery_id=None,
        group_key=group.group_key or None,
        truncated=group.truncated_alerts,
        extras=extras_of(payload),
    )
