"""Alerts as the core stores and reasons about them (after a source parser normalized them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """One alert (by source + fingerprint), its latest state and the incident it feeds."""

    id: int
    workspace: str
    source: str
    fingerprint: str
    group_key: str
    status: str
    severity: str
    title: str
    description: str
    labels: dict[str, str]
    annotations: dict[str, str]
    links: dict[str, Any]
    starts_at: datetime | None
    ends_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    incident_id: int | None = None
    suppressed_by: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
