"""Scheduled stakeholder posts: the digest (cron + zone, no private incidents), action-item DMs
to owners, and the postmortem nudge N days after resolve, each exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.delivery import OutboxWorker
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Status
from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.scheduling.cron import latest_fire, next_fire
from bot.scheduling.engine import Scheduler
from bot.scheduling.store import JobKind, JobState
from tests.conftest import T0
from tests.scheduling.conftest import make_scheduler, scheduled
from tests.support.chat import RecordingPort, drain

ALICE = Actor("U_ALICE", "alice")
BERLIN_WEEKDAYS_9 = "0 9 * * mon-fri"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A UTC time in the week of T0 (Monday 2026-11-23 is day 23)."""
    return datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=day - 1, hours=hour, minutes=minute)


async def tick(sched: Scheduler, clock: FixedClock, when: datetime) -> None:
    clock.set(when)
    report = await sched.tick(when)
    assert not report.errors


async def digests(rt: Runtime) -> list[list[str]]:
    """Each digest enqueued, as the incident refs it lists."""
    return [
        [s["ref"] for s in r.payload["message"]["data"]["incidents"]]
        for r in await scheduled(rt, "digest")
    ]


async def test_digest_follows_cron_in_the_configured_zone(rt: Runtime, clock: FixedClock) -> None:
    sched = make_scheduler(rt, digest_cron=BERLIN_WEEKDAYS_9, zone="Europe/Berlin")
    await rt.service.declare("w", c.Declare("API down", "SEV2"), ALICE)
    # T0 is Monday 09:00 UTC = 10:00 in Berlin: today's 09:00 fire predates the bot; skip it.
    await tick(sched, clock, T0)
    assert await digests(rt) == []
    await tick(sched, clock, at(24, 7, 59))  # Tuesday 08:59 Berlin
    assert await digests(rt) == []
    await tick(sched, clock, at(24, 8, 0))  # Tuesday 09:00 Berlin
    assert await digests(rt) == [["INC-1"]]
    await tick(sched, clock, at(24, 8, 0) + timedelta(seconds=5))
    await tick(sched, clock, at(24, 9, 0))
    assert len(await digests(rt)) == 1
    [row] = await scheduled(rt, "digest")
    data = row.payload["message"]["data"]
    assert row.payload["room"] == "@broadcast" and row.action == "post"
    assert data["generated_at"] == "2026-11-24T08:00:00Z" and data["timezone"] == "Europe/Berlin"
    assert "09:00 CET" in row.payload["message"]["text"]


async def test_no_digest_on_weekends(rt: Runtime, clock: FixedClock) -> None:
    sched = make_scheduler(rt, digest_cron=BERLIN_WEEKDAYS_9, zone="Europe/Berlin")
    await rt.service.declare("w", c.Declare("API down", "SEV2"), ALICE)
    await tick(sched, clock, at(27, 8, 0))  # Friday: first fire seen, skipped
    for day in (28, 29):  # Saturday, Sunday
        for hour in range(0, 24, 3):
            await tick(sched, clock, at(day, hour))
    assert await digests(rt) == []
    await tick(sched, clock, at(30, 8, 0))  # Monday
    assert len(await digests(rt)) == 1


async def test_digest_lists_open_public_incidents_most_severe_first(
    rt: Runtime, clock: FixedClock
) -> None:
    sched = make_scheduler(rt, digest_cron=BERLIN_WEEKDAYS_9, zone="UTC")
    # The other workspace's process, on the same database, with its own schedule.
    other = make_scheduler(rt, digest_cron=BERLIN_WEEKDAYS_9, zone="UTC", workspace="other")
    await tick(sched, clock, T0)
    await tick(other, clock, T0)
    svc = rt.service
    await svc.declare("w", c.Declare("slow search", "SEV3"), ALICE)  # INC-1
    await svc.declare("w", c.Declare("secret breach", "SEV1", private=True), ALICE)  # INC-2
    await svc.declare("w", c.Declare("typo on a page", "SEV4"), ALICE)  # INC-3: no stakeholders
    await svc.declare("w", c.Declare("API down", "SEV1"), ALICE)  # INC-4
    await svc.declare("w", c.Declare("fixed already", "SEV2"), ALICE)  # INC-5
    await svc.execute("w", 5, c.ChangeStatus(Status.RESOLVED, "done"), ALICE)
    await svc.declare("other", c.Declare("other team", "SEV2"), ALICE)  # other workspace
    await tick(sched, clock, at(24, 9, 0))
    rows = await scheduled(rt, "digest")
    by_workspace = {
        r.workspace: [s["ref"] for s in r.payload["message"]["data"]["incidents"]] for r in rows
    }
    # Each workspace's scheduler posts its own digest, never the other's.
    assert by_workspace == {"w": ["INC-4", "INC-1"]}
    await tick(other, clock, at(24, 9, 0))
    rows = await scheduled(rt, "digest")
    by_workspace = {
        r.workspace: [s["ref"] for s in r.payload["message"]["data"]["incidents"]] for r in rows
    }
    assert by_workspace == {"w": ["INC-4", "INC-1"], "other": ["INC-1"]}
    text = next(r for r in rows if r.workspace == "w").payload["message"]["text"]
    assert "secret" not in text and "INC-2" not in text


async def test_missed_digests_are_sent_once_after_downtime(rt: Runtime, clock: FixedClock) -> None:
    sched = make_scheduler(rt, digest_cron="0 9 * * *", zone="UTC")
    await rt.service.declare("w", c.Declare("API down", "SEV2"), ALICE)
    await tick(sched, clock, at(23, 9, 0))  # first start
    await tick(sched, clock, at(24, 9, 0))
    assert len(await digests(rt)) == 1
    # Down from Tuesday 09:01 to Thursday 11:00: two fires missed, one digest on restart.
    for _ in range(3):
        await tick(sched, clock, at(26, 11, 0))
    assert len(await digests(rt)) == 2
    jobs = await rt.db.run(lambda r: r.schedules.list_jobs(kind=JobKind.DIGEST))
    assert [j.due_at for j in jobs if j.state is JobState.DONE] == [at(26, 9), at(24, 9)]
    # Down for longer than the catch-up window: yesterday's digest is not sent at night.
    await tick(sched, clock, at(27, 23, 0))
    assert len(await digests(rt)) == 2
    await tick(sched, clock, at(28, 9, 0))
    assert len(await digests(rt)) == 3


async def test_digest_with_nothing_open_posts_nothing(rt: Runtime, clock: FixedClock) -> None:
    sched = make_scheduler(rt, digest_cron="0 9 * * *", zone="UTC")
    await tick(sched, clock, at(23, 9, 0))
    await tick(sched, clock, at(24, 9, 0))
    assert await digests(rt) == []
    [job, _first] = await rt.db.run(lambda r: r.schedules.list_jobs(kind=JobKind.DIGEST))
    assert job.state is JobState.DONE and job.payload["messages"] == 0


async def test_overdue_action_items_are_sent_to_their_owners(
    rt: Runtime, clock: FixedClock, worker: OutboxWorker, port: RecordingPort
) -> None:
    sched = make_scheduler(rt, action_item_cron="0 10 * * mon", zone="UTC")
    svc = rt.service
    await svc.declare("w", c.Declare("API down", "SEV2"), ALICE)
    day = timedelta(days=1)
    await svc.execute("w", 1, c.AddActionItem("Alert on queue depth", "U_BOB", T0 + day), ALICE)
    await svc.execute("w", 1, c.AddActionItem("Runbook for failover", "U_BOB", T0 + 2 * day), ALICE)
    await svc.execute("w", 1, c.AddActionItem("Capacity review", "U_CAROL", T0 + 30 * day), ALICE)
    await svc.execute("w", 1, c.AddActionItem("Nobody's job", None, T0 + day), ALICE)
    done = await svc.execute("w", 1, c.AddActionItem("Already done", "U_DAN", T0 + day), ALICE)
    assert done.action_item is not None
    await svc.execute("w", 1, c.SetActionItemDone(done.action_item.id), ALICE)
    await tick(sched, clock, T0)  # first start: last Monday's fire is skipped
    await tick(sched, clock, at(23, 10, 0))  # this Monday: nothing overdue yet
    assert await scheduled(rt, "action_items_due") == []
    await tick(sched, clock, at(30, 10, 0))  # next Monday
    await tick(sched, clock, at(30, 10, 5))
    [dm] = await scheduled(rt, "action_items_due")
    assert dm.action == "direct" and dm.payload["user"] == "U_BOB"
    items = dm.payload["message"]["data"]["items"]
    assert [(i["text"], i["incident_ref"]) for i in items] == [
        ("Alert on queue depth", "INC-1"),
        ("Runbook for failover", "INC-1"),
    ]
    await drain(worker)
    assert port.of("direct") == [{"user": "U_BOB", "kind": "action_items_due"}]


async def test_postmortem_reminder_n_days_after_resolve_exactly_once(
    rt: Runtime, clock: FixedClock, worker: OutboxWorker, port: RecordingPort
) -> None:
    sched = make_scheduler(rt, postmortem_days=2)
    svc = rt.service
    await svc.declare("w", c.Declare("API down", "SEV2", commander="U_BOB"), ALICE)
    await svc.declare("w", c.Declare("still open", "SEV3"), ALICE)
    resolved_at = T0 + timedelta(hours=1)
    clock.set(resolved_at)
    await svc.execute("w", 1, c.ChangeStatus(Status.RESOLVED, "rolled back"), ALICE)
    await tick(sched, clock, resolved_at + timedelta(days=2, seconds=-1))
    assert await scheduled(rt, "postmortem_reminder") == []
    await tick(sched, clock, resolved_at + timedelta(days=2))
    for hours in (1, 24, 24 * 5):
        await tick(sched, clock, resolved_at + timedelta(days=2, hours=hours))
    [row] = await scheduled(rt, "postmortem_reminder")
    assert row.payload["room"] == "inc:1:room"
    assert row.payload["message"]["data"]["mention"] == "U_BOB"
    assert "postmortem" in row.payload["message"]["text"]
    await drain(worker)
    assert [p["kind"] for p in port.of("post")].count("postmortem_reminder") == 1


async def test_postmortem_reminder_waits_for_the_final_resolve(
    rt: Runtime, clock: FixedClock
) -> None:
    sched = make_scheduler(rt, postmortem_days=2)
    svc = rt.service
    await svc.declare("w", c.Declare("flapping", "SEV2"), ALICE)
    await svc.execute("w", 1, c.ChangeStatus(Status.RESOLVED, "looks fixed"), ALICE)
    clock.set(T0 + timedelta(days=1))
    await svc.execute("w", 1, c.ChangeStatus(Status.INVESTIGATING, "it's back"), ALICE)
    await tick(sched, clock, T0 + timedelta(days=2))
    assert await scheduled(rt, "postmortem_reminder") == []
    clock.set(T0 + timedelta(days=3))
    await svc.execute("w", 1, c.ChangeStatus(Status.RESOLVED, "fixed for real"), ALICE)
    await tick(sched, clock, T0 + timedelta(days=4, hours=23))
    assert await scheduled(rt, "postmortem_reminder") == []
    await tick(sched, clock, T0 + timedelta(days=5))
    assert len(await scheduled(rt, "postmortem_reminder")) == 1


async def test_no_postmortem_reminder_when_turned_off(rt: Runtime, clock: FixedClock) -> None:
    sched = make_scheduler(rt, postmortem_days=0)
    await rt.service.declare("w", c.Declare("x", "SEV2"), ALICE)
    await rt.service.execute("w", 1, c.ChangeStatus(Status.RESOLVED, "done"), ALICE)
    await tick(sched, clock, T0 + timedelta(days=3))
    assert await scheduled(rt, "postmortem_reminder") == []


def test_cron_fire_times_follow_daylight_saving() -> None:
    winter = latest_fire("0 9 * * *", "Europe/Berlin", datetime(2026, 1, 15, 12, tzinfo=UTC))
    summer = latest_fire("0 9 * * *", "Europe/Berlin", datetime(2026, 7, 15, 12, tzinfo=UTC))
    assert winter == datetime(2026, 1, 15, 8, tzinfo=UTC)
    assert summer == datetime(2026, 7, 15, 7, tzinfo=UTC)
    # The spring-forward day: 09:00 local exists and is 07:00 UTC.
    spring = next_fire("0 9 * * *", "Europe/Berlin", datetime(2026, 3, 29, 0, tzinfo=UTC))
    assert spring == datetime(2026, 3, 29, 7, tzinfo=UTC)


def test_latest_fire_for_frequent_and_rare_schedules() -> None:
    now = datetime(2026, 11, 23, 9, 7, 30, tzinfo=UTC)
    assert latest_fire("*/5 * * * *", "UTC", now) == datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    assert latest_fire("0 10 * * mon", "UTC", now) == datetime(2026, 11, 16, 10, tzinfo=UTC)
    assert latest_fire("0 0 1 1 *", "UTC", now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert latest_fire("0 0 29 2 *", "UTC", now) is None  # next leap day is 2028
