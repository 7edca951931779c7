"""Response metrics computed from the timeline, never stored separately."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.model import MITIGATED_STATUSES, EventKind, Status, TimelineEntry

# compute_metrics looks at nothing else; feeding it only these keeps its internal sort small.
# tests/export checks the result against compute_metrics over the whole timeline.
METRIC_KINDS: frozenset[EventKind] = frozenset({EventKind.ACKNOWLEDGED, EventKind.STATUS_CHANGED})


@dataclass(frozen=True, slots=True)
class Metrics:
    """Durations from declaration; None while the milestone has not happened."""

    time_to_acknowledge: timedelta | None
    time_to_mitigate: timedelta | None
    time_to_resolve: timedelta | None
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None


def compute_metrics(declared_at: datetime, timeline: Iterable[TimelineEntry]) -> Metrics:
    """Time to acknowledge (first ack), mitigate (first move to monitoring or beyond) and
    resolve (the last resolution that was not reopened)."""
    acked: datetime | None = None
    mitigated: datetime | None = None
    resolved: datetime | None = None
    for entry in sorted(timeline, key=lambda e: (e.at, e.id)):
        if entry.kind is EventKind.ACKNOWLEDGED and acked is None:
            acked = entry.at
        elif entry.kind is EventKind.STATUS_CHANGED:
            target = Status(entry.data.get("to", ""))
            if entry.data.get("reopened"):
                mitigated = None
                resolved = None
                continue
            if target in MITIGATED_STATUSES and mitigated is None:
                mitigated = entry.at
            if target is Status.RESOLVED:
                resolved = entry.at

    def since(t: datetime | None) -> timedelta | None:
        return None if t is None else max(t - declared_at, timedelta(0))

    return Metrics(since(acked), since(mitigated), since(resolved), acked, mitigated, resolved)


def format_duration(value: timedelta | None) -> str:
    """``1h 05m 03s`` style; an em dash when unknown."""
    if value is None:
        return "—"
    total = int(value.total_seconds())
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {seconds:02d}s"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"
