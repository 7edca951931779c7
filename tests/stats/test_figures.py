"""Dashboard figures against hand-computed fixtures (tests/stats/fixture.py), on SQLite and
Postgres: means, attainment, weeks, services, filters, privacy and workspace scope."""

from __future__ import annotations

import pytest

from bot.domain.errors import InvalidCommand
from bot.runtime import Runtime
from bot.security.membership import EVERYONE, Reader
from bot.stats import Figures, StatsQuery, figures
from tests.stats.fixture import NOW, SECRET, load

NOBODY = Reader.of("U_NOBODY")


async def get(rt: Runtime, reader: Reader = EVERYONE, **query: object) -> Figures:
    q = StatsQuery(**{"weeks": 2, **query})  # type: ignore[arg-type]
    return await figures(rt.db, "w", rt.service.policy, q, reader, NOW)


async def test_admin_figures_match_the_hand_computed_ones(rt: Runtime) -> None:
    await load(rt)
    fig = await get(rt)
    assert [w.label for w in fig.weeks] == ["2026-W47", "2026-W48"]
    assert fig.total.count == 6
    assert [c.count for c in fig.by_week] == [4, 2]
    sev1, sev2 = fig.by_severity["SEV1"], fig.by_severity["SEV2"]
    assert (sev1.count, sev1.mtta, sev1.mttr) == (3, 380.0, 14400.0)
    assert (sev1.ack_met, sev1.ack_missed) == (2, 1)
    assert sev1.ack_attainment == pytest.approx(2 / 3)
    assert (sev1.resolve_met, sev1.resolve_missed) == (1, 2)
    assert (sev2.count, sev2.mtta, sev2.mttr) == (3, 60.0, 120.0)
    assert (sev2.ack_met, sev2.ack_missed, sev2.ack_attainment) == (1, 1, 0.5)
    assert (sev2.resolve_met, sev2.resolve_missed, sev2.resolve_attainment) == (1, 1, 0.5)
    assert [c.count for c in fig.by_severity_week["SEV1"]] == [3, 0]
    assert [c.count for c in fig.by_severity_week["SEV2"]] == [1, 2]
    assert fig.by_severity["SEV3"].count == 0  # configured, none in range
    assert {s: c.count for s, c in fig.by_service.items()} == {
        "payments": 3,
        "search": 2,
        "(none)": 1,
    }
    assert fig.by_service["payments"].mtta == pytest.approx((240 + 600 + 60) / 3)
    assert [c.mttr for c in fig.by_service_week["payments"]] == [(10800 + 18000 + 120) / 3, None]
    assert fig.known_services == ["(none)", "payments", "search"]
    assert fig.overdue_count == 2
    assert [i.text for i in fig.overdue] == ["Add a card-auth alert", "Rotate the secret"]


async def test_a_reader_sees_no_trace_of_private_incidents_they_are_not_on(rt: Runtime) -> None:
    await load(rt)
    fig = await get(rt, NOBODY)
    assert fig.total.count == 5 and [c.count for c in fig.by_week] == [3, 2]
    sev2 = fig.by_severity["SEV2"]
    assert (sev2.count, sev2.mtta, sev2.mttr) == (2, None, None)
    assert (sev2.ack_attainment, sev2.resolve_attainment) == (0.0, 0.0)
    assert fig.by_service["payments"].count == 2
    assert fig.overdue_count == 1 and [i.incident_number for i in fig.overdue] == [1]


async def test_a_member_of_the_private_incident_counts_it(rt: Runtime) -> None:
    await load(rt)
    fig = await get(rt, Reader.of(SECRET))
    assert fig.total.count == 6 and fig.overdue_count == 2


async def test_filters_by_severity_and_service(rt: Runtime) -> None:
    await load(rt)
    sev1 = await get(rt, severity="sev1")
    assert sev1.query.severity == "SEV1" and sev1.total.count == 3
    assert sev1.severities == ["SEV1"] and sev1.overdue_count == 1
    pay = await get(rt, service="payments")
    assert pay.total.count == 3 and set(pay.by_service) == {"payments"}
    none = await get(rt, service="(none)")
    assert none.total.count == 1 and none.by_severity["SEV1"].mtta == 300.0
    assert pay.known_services == ["(none)", "payments", "search"]  # the filter still offers all


async def test_longer_ranges_reach_older_weeks(rt: Runtime) -> None:
    await load(rt)
    fig = await get(rt, weeks=3)
    assert fig.total.count == 7 and fig.by_severity["SEV3"].count == 1


@pytest.mark.parametrize("weeks", [0, 53])
async def test_out_of_range_weeks_are_refused(rt: Runtime, weeks: int) -> None:
    with pytest.raises(InvalidCommand):
        await get(rt, weeks=weeks)


async def test_an_unknown_severity_is_refused(rt: Runtime) -> None:
    with pytest.raises(InvalidCommand):
        await get(rt, severity="SEV9")
