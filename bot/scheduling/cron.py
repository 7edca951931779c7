"""Cron arithmetic in the configured zone, so "09:00 on weekdays" means local 09:00 across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

# Growing look-back windows: the first that holds a fire time bounds the forward scan to a
# handful of steps, whether the schedule is every minute or once a year.
_WINDOWS = (
    timedelta(minutes=1),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=8),
    timedelta(days=32),
    timedelta(days=367),
)
_MAX_STEPS = 10_000


@lru_cache(maxsize=32)
def cron_trigger(expr: str, zone: str) -> Any:
    """An APScheduler ``CronTrigger`` for a crontab line in ``zone``."""
    return CronTrigger.from_crontab(expr, timezone=ZoneInfo(zone))


def latest_fire(expr: str, zone: str, now: datetime) -> datetime | None:
    """The most recent fire time at or before ``now`` (UTC), or None within a year."""
    trigger = cron_trigger(expr, zone)
    for window in _WINDOWS:
        fire: datetime | None = trigger.get_next_fire_time(None, now - window)
        if fire is None or fire > now:
            continue
        for _ in range(_MAX_STEPS):
            nxt: datetime | None = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
            if nxt is None or nxt > now:
                break
            fire = nxt
        return fire.astimezone(UTC)
    return None


def next_fire(expr: str, zone: str, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after`` (UTC)."""
    trigger = cron_trigger(expr, zone)
    fire: datetime | None = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
    return fire.astimezone(UTC) if fire is not None else None
