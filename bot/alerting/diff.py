"""What changed between a stored alert and the same alert arriving again. Pure.

Alertmanager re-sends whole groups every ``group_interval``; only real state changes (new,
firing ↔ resolved, leaving a maintenance window, edited content) may go further than a
``last_seen_at`` bump.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from bot.alerting.model import AlertIn, Route
from bot.alerting.store import AlertWrite
from bot.domain.alert import StoredAlert


class Change(Enum):
    """How an incoming alert differs from its stored row."""

    NEW = "new"  # never seen: routed when firing
    REFIRED = "refired"  # a new instance of a resolved alert: routed afresh
    RESOLVED = "resolved"  # was firing, is not
    UNSILENCED = "unsilenced"  # its maintenance window is over and it still fires
    EDITED = "edited"  # same state, other content
    UNCHANGED = "unchanged"  # a re-send, or a late "firing" of a resolved instance


def change_of(stored: AlertWrite | None, alert: AlertIn, *, silenced: bool) -> Change:
    """Classify ``alert`` against its stored row; ``silenced``: a window covers it now."""
    if stored is None:
        return Change.NEW
    was_firing = stored.status == "firing"
    if alert.firing and not was_firing:
        return Change.UNCHANGED if stale_refire(stored, alert) else Change.REFIRED
    if was_firing and not alert.firing:
        return Change.RESOLVED
    if alert.firing and stored.route == Route.SUPPRESSED and not silenced:
        return Change.UNSILENCED
    if content_changed(stored, alert):
        return Change.EDITED
    return Change.UNCHANGED


def write_of(stored: StoredAlert) -> AlertWrite:
    """A stored alert as a row to change and write back."""
    return AlertWrite(
        id=stored.id,
        workspace=stored.workspace,
        source=stored.source,
        fingerprint=stored.fingerprint,
        group_key=stored.group_key,
        status=stored.status,
        severity=stored.severity,
        title=stored.title,
        description=stored.description,
        labels=dict(stored.labels),
        annotations=dict(stored.annotations),
        links=dict(stored.links),
        starts_at=stored.starts_at,
        ends_at=stored.ends_at,
        first_seen_at=stored.first_seen_at,
        last_seen_at=stored.last_seen_at,
        incident_id=stored.incident_id,
        suppressed_by=stored.suppressed_by,
        route=str(stored.extra.get("route", "")),
        rule=str(stored.extra.get("rule", "")),
        note_due=bool(stored.extra.get("note_due", False)),
    )


def new_write(workspace: str, alert: AlertIn, now: datetime) -> AlertWrite:
    """The row a never-seen alert becomes, cut to the column sizes."""
    return AlertWrite(
        id=None,
        workspace=workspace,
        source=alert.source,
        fingerprint=alert.fingerprint[:200],
        group_key=alert.group_key[:500],
        status=str(alert.status),
        severity=alert.severity[:32],
        title=alert.title[:500],
        description=alert.description,
        labels=alert.labels,
        annotations=alert.annotations,
        links=alert.link_urls,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        first_seen_at=now,
        last_seen_at=now,
    )


def refresh(write: AlertWrite, alert: AlertIn, now: datetime) -> None:
    """Copy the incoming alert's state and content onto its row."""
    write.group_key = alert.group_key[:500]
    write.status = str(alert.status)
    write.severity = alert.severity[:32]
    write.title = alert.title[:500]
    write.description = alert.description
    write.labels = alert.labels
    write.annotations = alert.annotations
    write.links = alert.link_urls
    write.starts_at = alert.starts_at or write.starts_at
    write.ends_at = alert.ends_at if not alert.firing else None
    write.last_seen_at = now


def content_changed(write: AlertWrite, alert: AlertIn) -> bool:
    """Whether anything a reader sees differs (beyond ``last_seen_at``)."""
    return (
        write.title != alert.title[:500]
        or write.severity != alert.severity[:32]
        or write.description != alert.description
        or write.labels != alert.labels
        or write.annotations != alert.annotations
        or write.group_key != alert.group_key[:500]
        or (not alert.firing and alert.ends_at is not None and write.ends_at != alert.ends_at)
    )


def stale_refire(write: AlertWrite, alert: AlertIn) -> bool:
    """A late "firing" for an alert instance already resolved (same startsAt) is not news.

    A genuine re-fire starts a new instance with a later startsAt; senders without start
    times are trusted.
    """
    return (
        write.starts_at is not None
        and alert.starts_at is not None
        and alert.starts_at <= write.starts_at
    )
