"""The alert diff: what a re-sent alert changes, decided without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerting.diff import Change, change_of, new_write, refresh
from bot.alerting.model import IncomingAlert, Route

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FIRING = IncomingAlert("alertmanager", "fp1", "g", "firing", "critical", "Disk full", starts_at=T0)
RESOLVED = replace(FIRING, status="resolved", ends_at=T0 + timedelta(minutes=5))


@pytest.mark.parametrize(
    ("before", "route", "incoming", "silenced", "expected"),
    [
        (None, "", FIRING, False, Change.NEW),
        (FIRING, Route.NOTIFY, FIRING, False, Change.UNCHANGED),  # a group_interval re-send
        (FIRING, Route.NOTIFY, RESOLVED, False, Change.RESOLVED),
        # A late "firing" of the instance that already resolved is not news ...
        (RESOLVED, Route.NOTIFY, FIRING, False, Change.UNCHANGED),
        # ... a new instance (later startsAt) is.
        (
            RESOLVED,
            Route.NOTIFY,
            replace(FIRING, starts_at=T0 + timedelta(hours=1)),
            False,
            Change.REFIRED,
        ),
        (FIRING, Route.SUPPRESSED, FIRING, True, Change.UNCHANGED),  # still in its window
        (FIRING, Route.SUPPRESSED, FIRING, False, Change.UNSILENCED),  # the window is over
        (FIRING, Route.NOTIFY, replace(FIRING, title="Disk 99% full"), False, Change.EDITED),
        (FIRING, Route.NOTIFY, replace(FIRING, labels={"team": "db"}), False, Change.EDITED),
    ],
)
def test_change_of_classifies_a_received_alert_against_its_row(
    before: IncomingAlert | None,
    route: str,
    incoming: IncomingAlert,
    silenced: bool,
    expected: Change,
) -> None:
    row = None
    if before is not None:
        row = new_write("default", before, T0)
        row.route = route
    assert change_of(row, incoming, silenced=silenced) is expected


def test_refresh_copies_state_and_clears_ends_at_on_refire() -> None:
    row = new_write("default", RESOLVED, T0)
    assert row.ends_at == RESOLVED.ends_at
    later = T0 + timedelta(hours=2)
    refresh(row, replace(FIRING, starts_at=later), later)
    assert (row.status, row.ends_at, row.starts_at, row.last_seen_at) == (
        "firing",
        None,
        later,
        later,
    )
    assert change_of(row, replace(FIRING, starts_at=later), silenced=False) is Change.UNCHANGED
