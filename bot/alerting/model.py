"""The values alert intake works with: alerts as received, deliveries, maintenance windows.

The core imports no parser: it reads received alerts through the ``AlertIn`` protocol, which
the parsers' normalized alerts satisfy, and handlers wrap them in a ``Delivery``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.domain.labels import LabelMatcher


class Route(StrEnum):
    """What routing did with an alert when it last fired."""

    DECLARE = "declare"  # it declared the group's incident
    ATTACH = "attach"  # it joined the group's open incident
    NOTIFY = "notify"  # it was announced in the alerts channel only
    IGNORE = "ignore"  # a rule said to keep it on record and nothing else
    SUPPRESSED = "suppressed"  # a maintenance window matched it
    NONE = ""  # only ever seen resolved


class AlertIn(Protocol):
    """What intake reads of one received alert.

    Source parsers' normalized alerts provide it as they are, so a webhook's alerts reach the
    core without a copy; ``IncomingAlert`` is the core's own implementation.
    """

    @property
    def source(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def group_key(self) -> str: ...
    @property
    def status(self) -> str: ...  # "firing" or "resolved"
    @property
    def severity(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def labels(self) -> dict[str, str]: ...
    @property
    def annotations(self) -> dict[str, str]: ...
    @property
    def link_urls(self) -> dict[str, str]: ...  # set links by name (runbook, silence, ...)
    @property
    def starts_at(self) -> datetime | None: ...
    @property
    def ends_at(self) -> datetime | None: ...
    @property
    def firing(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class IncomingAlert:
    """An ``AlertIn`` built directly rather than by a source parser (tests, tools)."""

    source: str
    fingerprint: str
    group_key: str
    status: str  # "firing" or "resolved"
    severity: str
    title: str
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @property
    def firing(self) -> bool:
        """True while the alert's condition holds."""
        return self.status == "firing"

    @property
    def link_urls(self) -> dict[str, str]:
        """The links, by name."""
        return self.links


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook request's worth of alerts, with the sender's per-delivery id if any."""

    workspace: str
    source: str
    alerts: tuple[AlertIn, ...]
    delivery_id: str | None = None
    # Alerts the sender left out of this delivery (Alertmanager's ``truncatedAlerts``).
    truncated: int = 0


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What one delivery changed (all zero for a replay)."""

    received: int
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    suppressed: int = 0
    duplicate: bool = False
    incidents: tuple[str, ...] = ()  # refs of incidents these alerts declared or joined

    def as_json(self) -> dict[str, Any]:
        """The webhook response body."""
        return {
            "received": self.received,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "suppressed": self.suppressed,
            "duplicate": self.duplicate,
            "incidents": list(self.incidents),
        }


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A time range in which matching alerts are recorded but never declare or notify."""

    id: int
    workspace: str
    starts_at: datetime
    ends_at: datetime
    matchers: tuple[LabelMatcher, ...]
    reason: str
    created_by: str
    created_at: datetime
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None

    def active_at(self, now: datetime) -> bool:
        """True when the window silences alerts at ``now``."""
        return self.cancelled_at is None and self.starts_at <= now < self.ends_at

    def state(self, now: datetime) -> str:
        """``scheduled``, ``active``, ``cancelled`` or ``expired``."""
        if self.cancelled_at is not None:
            return "cancelled"
        if now < self.starts_at:
            return "scheduled"
        return "active" if now < self.ends_at else "expired"

    def matchers_text(self) -> str:
        """The matchers as typed: ``service="api", env=~"prod.*"``."""
        return ", ".join(str(m) for m in self.matchers)


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters for listing alerts."""

    status: str | None = None
    source: str | None = None
    group_key: str | None = None
    incident_id: int | None = None
    labels: tuple[LabelMatcher, ...] = ()
    limit: int = 100
    offset: int = 0
