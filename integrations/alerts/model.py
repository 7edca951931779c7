"""The normalized alert every source parser produces, and small pure helpers the parsers share.

Nothing here imports a chat platform or does I/O: the alert intake handler, dedup and grouping
build on these frozen values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

__all__ = [
    "SEVERITIES",
    "AlertLinks",
    "AlertStatus",
    "NormalizedAlert",
    "ParsedWebhook",
    "from_epoch",
    "labels_digest",
    "lower_headers",
    "normalize_severity",
    "parse_tags",
    "to_utc",
]


class AlertStatus(StrEnum):
    """Whether the condition behind an alert holds right now."""

    FIRING = "firing"
    RESOLVED = "resolved"


SEVERITIES = ("critical", "warning", "info")
"""The normalized severities, most urgent first."""


# AlertLinks and NormalizedAlert are NamedTuples, not frozen dataclasses: equally immutable,
# and four times cheaper to build (a frozen dataclass sets each field through
# object.__setattr__); intake builds both for every alert it receives.
class AlertLinks(NamedTuple):
    """Where a responder can look: each is an absolute URL or None."""

    generator: str | None = None  # the sender's page for this alert (rule, monitor, incident)
    runbook: str | None = None
    dashboard: str | None = None
    silence: str | None = None  # a prefilled "new silence" form at the sender
    panel: str | None = None
    image: str | None = None  # a graph snapshot
    conference: str | None = None  # a call bridge the sender attached

    def as_dict(self) -> dict[str, str]:
        """The links that are set, by name (the shape stored in the alert's JSON column)."""
        return {name: value for name, value in zip(self._fields, self, strict=True) if value}


class NormalizedAlert(NamedTuple):
    """One alert from any source, in sitrep's vocabulary (the core's ``AlertIn``)."""

    source: str
    fingerprint: str  # stable identity of this alert across re-sends
    group_key: str  # what groups alerts into one incident
    status: AlertStatus
    severity: str  # one of SEVERITIES
    title: str
    description: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None  # aware UTC
    ends_at: datetime | None  # aware UTC
    links: AlertLinks
    external_id: str | None  # the sender's id for this notification, if it gives one
    raw: Mapping[str, Any]  # the sender's own object for this alert, for audit and debugging

    @property
    def firing(self) -> bool:
        """True while the alert's condition holds."""
        return self.status == AlertStatus.FIRING

    @property
    def link_urls(self) -> dict[str, str]:
        """The links that are set, by name."""
        return self.links.as_dict()


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    """Everything one webhook delivery said."""

    source: str
    alerts: tuple[NormalizedAlert, ...]
    delivery_id: str | None = None  # per-delivery dedup key, when the sender gives one
    group_key: str | None = None  # the batch's group key, when the payload has one
    truncated: int = 0  # alerts the sender left out of this batch (Alertmanager)
    extras: dict[str, Any] = field(default_factory=dict)


# Each source speaks its own dialect: Prometheus rules say "page", Opsgenie and Datadog say
# "P1", syslog-minded tools say "err" or "notice". Anything not listed is left to the caller's
# default rather than guessed.
_SEVERITY_WORDS = {
    "critical": (
        "critical crit fatal emergency emerg alert page high error err major disaster "
        "p0 p1 p2 sev0 sev1 sev2 sev-0 sev-1 sev-2 0 1 2"
    ),
    "warning": "warning warn medium moderate minor average p3 sev3 sev-3 3",
    "info": "info informational information low notice debug none ok success p4 p5 sev4 sev5 4 5",
}
_SEVERITY = {word: level for level, words in _SEVERITY_WORDS.items() for word in words.split()}


def normalize_severity(raw: str | None) -> str | None:
    """Map a source's severity or priority word to critical/warning/info, or None if unknown."""
    if raw is None:
        return None
    return _SEVERITY.get(raw.strip().lower())


def to_utc(value: datetime | None) -> datetime | None:
    """Make a timestamp aware UTC; naive means UTC, and Go's zero time means "not set"."""
    if value is None or value.year <= 1:
        # Alertmanager and Grafana write endsAt "0001-01-01T00:00:00Z" while an alert fires.
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def from_epoch(value: float) -> datetime | None:
    """Read a Unix timestamp in seconds, milliseconds, microseconds or nanoseconds."""
    if value <= 0:
        return None
    # Senders disagree on the unit (Datadog $DATE and Opsgenie createdAt are milliseconds,
    # Opsgenie updatedAt is nanoseconds); the magnitude tells them apart for any date after 1973.
    for limit, divisor in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
        if value >= limit:
            value /= divisor
            break
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lowercased, so lookups ignore the case HTTP says they may arrive in."""
    return {name.lower(): value for name, value in headers.items()}


def labels_digest(labels: Mapping[str, str]) -> str:
    """SHA-256 hex of the labels, sorted by name: a stable identity for label-only senders."""
    canonical = json.dumps(sorted(labels.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_tags(tags: Iterable[str]) -> dict[str, str]:
    """Turn `key:value` tags into labels; a bare tag becomes `tag: "true"`, repeats join by ","."""
    labels: dict[str, str] = {}
    for tag in tags:
        tag = tag.strip()
        if not tag:
            continue
        key, sep, value = tag.partition(":")
        key, value = key.strip(), value.strip() if sep else "true"
        if not key:
            continue
        if key in labels and value not in labels[key].split(","):
            labels[key] = f"{labels[key]},{value}"
        else:
            labels.setdefault(key, value)
    return labels
