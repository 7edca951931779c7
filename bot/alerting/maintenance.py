"""Maintenance windows: which window silences an alert, and what a valid window is. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.alerting.model import MaintenanceWindow
from bot.domain import limits
from bot.domain.errors import InvalidCommand
from bot.domain.labels import LabelMatcher, MatcherLike, all_match, parse_matcher

MAX_DURATION = limits.MAX_MAINTENANCE
MAX_REASON = 1000


def parse_duration(text: str) -> timedelta:
    """``90m``, ``2h``, ``1h30m``, ``1d``, ``1w`` → timedelta (a bare number means minutes),
    at most `MAX_DURATION`; InvalidCommand otherwise."""
    return limits.parse_duration(text, maximum=MAX_DURATION)


def matchers_of(items: Iterable[MatcherLike | str]) -> tuple[LabelMatcher, ...]:
    """Matchers from text (``service=api``) or matcher-shaped values, validated."""
    return tuple(parse_matcher(i) if isinstance(i, str) else LabelMatcher.of(i) for i in items)


def check_window(duration: timedelta, matchers: Sequence[LabelMatcher], reason: str) -> None:
    """Refuse windows that would silence everything, run forever, or never start."""
    if duration <= timedelta(0):
        raise InvalidCommand("a maintenance window needs a positive duration")
    if duration > MAX_DURATION:
        raise InvalidCommand("a maintenance window may last at most 30 days")
    if not matchers:
        raise InvalidCommand("a maintenance window needs at least one label matcher")
    # Like Alertmanager silences: a window whose matchers all match the empty label set
    # (e.g. only `team!=db`) would silence nearly every alert, which is never what was meant.
    if all(m.matches({}) for m in matchers):
        raise InvalidCommand(
            "these matchers match alerts without any labels, so they would silence almost "
            "everything; add a matcher like service=api"
        )
    if len(reason) > MAX_REASON:
        raise InvalidCommand(f"reason is {len(reason)} characters; the limit is {MAX_REASON}")


def window_for(
    windows: Sequence[MaintenanceWindow], labels: Mapping[str, str], now: datetime
) -> MaintenanceWindow | None:
    """The first active window whose matchers all match ``labels``, or None."""
    for window in windows:
        if window.active_at(now) and all_match(window.matchers, labels):
            return window
    return None
