"""Maintenance windows as pure values: durations, validation, matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerting.maintenance import check_window, matchers_of, parse_duration, window_for
from bot.alerting.model import MaintenanceWindow
from bot.domain.errors import InvalidCommand
from bot.domain.labels import LabelMatcher

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", timedelta(hours=2)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("45", timedelta(minutes=45)),
        ("30s", timedelta(seconds=30)),
        ("2H", timedelta(hours=2)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "two hours", "2x", "h2", "2h junk", "-1h"])
def test_parse_duration_refuses_nonsense(text: str) -> None:
    with pytest.raises(InvalidCommand):
        parse_duration(text)


def test_windows_must_be_bounded_and_specific() -> None:
    api = matchers_of(["service=api"])
    check_window(timedelta(hours=2), api, "deploy")
    with pytest.raises(InvalidCommand, match="positive"):
        check_window(timedelta(0), api, "")
    with pytest.raises(InvalidCommand, match="30 days"):
        check_window(timedelta(days=31), api, "")
    with pytest.raises(InvalidCommand, match="at least one"):
        check_window(timedelta(hours=1), (), "")
    with pytest.raises(InvalidCommand, match="silence almost"):
        check_window(timedelta(hours=1), matchers_of(["team!=db"]), "")
    with pytest.raises(InvalidCommand, match="bad regex"):
        matchers_of(["env=~("])


def window(**kw: object) -> MaintenanceWindow:
    values: dict[str, object] = {
        "id": 1,
        "workspace": "w",
        "starts_at": T0,
        "ends_at": T0 + timedelta(hours=1),
        "matchers": (LabelMatcher("service", "=", "api"), LabelMatcher("env", "=~", "prod.*")),
        "reason": "",
        "created_by": "me",
        "created_at": T0,
    }
    values.update(kw)
    return MaintenanceWindow(**values)  # type: ignore[arg-type]


def test_window_matching_needs_every_matcher_and_the_right_time() -> None:
    w = window()
    prod_api = {"service": "api", "env": "production"}
    assert window_for([w], prod_api, T0) is w
    assert window_for([w], {"service": "api", "env": "staging"}, T0) is None
    assert window_for([w], prod_api, T0 - timedelta(seconds=1)) is None  # not started
    assert window_for([w], prod_api, T0 + timedelta(hours=1)) is None  # ended
    assert window_for([window(cancelled_at=T0)], prod_api, T0 + timedelta(minutes=1)) is None
    assert w.state(T0 - timedelta(minutes=1)) == "scheduled"
    assert w.state(T0) == "active"
    assert w.matchers_text() == 'service="api", env=~"prod.*"'


@pytest.mark.parametrize(
    "text", ["999999999999h", "9" * 40 + "d", "31d", "5w", str(10**15), "²h", "٣h"]
)
def test_parse_duration_refuses_what_cannot_be_a_window(text: str) -> None:
    # Huge values overflowed timedelta (a 500 through the API); unicode digits passed \d.
    with pytest.raises(InvalidCommand, match="duration"):
        parse_duration(text)
