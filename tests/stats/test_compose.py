"""Folding buckets into figures (pure): week labels, the top services and "(other)"."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config import Settings
from bot.stats import OTHER, StatsQuery, compose, week_index, week_of, window
from bot.stats_store import Bucket

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)  # a Thursday in ISO week 2026-W01
POLICY = Settings(_env_file=None).policy()


def test_iso_weeks_across_the_year_boundary() -> None:
    weeks, since, until = window(3, NOW)
    assert [w.label for w in weeks] == ["2025-W51", "2025-W52", "2026-W01"]
    assert since == datetime(2025, 12, 15, tzinfo=UTC)
    assert until == datetime(2026, 1, 5, tzinfo=UTC)
    assert week_of(week_index(NOW)).start.isoformat() == "2025-12-29"


def test_services_beyond_the_top_six_are_charted_as_other() -> None:
    week = week_index(NOW)
    buckets = [
        Bucket(week, "SEV2", f"svc{n}", count=10 - n, acked=1, ack_seconds=60.0 * n)
        for n in range(8)
    ]
    fig = compose(StatsQuery(weeks=1), POLICY, NOW, buckets)
    assert fig.charted == [f"svc{n}" for n in range(6)] + [OTHER]
    assert fig.services == [f"svc{n}" for n in range(8)]
    other = fig.charted_week[OTHER][0]
    assert other.count == 4 + 3 and other.mtta == (360 + 420) / 2
    assert len(fig.by_service) == 8  # the tables list every service
    assert fig.total.count == sum(10 - n for n in range(8))


def test_buckets_outside_the_window_are_ignored() -> None:
    old = Bucket(week_index(NOW) - 5, "SEV1", "", count=4)
    fig = compose(StatsQuery(weeks=2), POLICY, NOW, [old])
    assert fig.total.count == 0 and fig.by_severity["SEV1"].mtta is None
