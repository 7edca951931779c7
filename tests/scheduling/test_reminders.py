"""Update reminders follow real updates: cadence, snooze, off, resolve, escalation, catch-up.

Time is a FixedClock moved by hand; the tick is called directly, as APScheduler would.
"""

from __future__ import annotations

from datetime import timedelta

from bot.delivery import OutboxWorker
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Role, Status
from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.scheduling.engine import Scheduler
from bot.scheduling.reminders import Stage, reminder_stage
from bot.scheduling.store import JobKind
from tests.conftest import T0
from tests.scheduling.conftest import make_scheduler, scheduled
from tests.support.chat import RecordingPort, drain

ALICE = Actor("U_ALICE", "alice")


async def declare(
    rt: Runtime, title: str = "API down", severity: str = "SEV2", **kw: object
) -> int:
    out = await rt.service.declare("w", c.Declare(title, severity, **kw), ALICE)  # type: ignore[arg-type]
    return out.incident.number


async def tick_at(sched: Scheduler, clock: FixedClock, minutes: float) -> None:
    clock.set(T0 + timedelta(minutes=minutes))
    report = await sched.tick(clock.now())
    assert not report.errors


async def reminders(rt: Runtime) -> list[dict[str, object]]:
    """Reminder messages enqueued for rooms, as their message data."""
    return [r.payload["message"]["data"] for r in await scheduled(rt, "reminder")]


async def test_reminder_when_the_cadence_elapses_mentioning_the_comms_lead(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    n = await declare(rt)  # SEV2: every 30 minutes
    await rt.service.execute("w", n, c.AssignRole(Role.COMMS_LEAD, "U_CAROL"), ALICE)
    await tick_at(sched, clock, 29)
    assert await reminders(rt) == []
    await tick_at(sched, clock, 30)
    [data] = await reminders(rt)
    assert data["mention"] == "U_CAROL" and data["overdue"] is False
    assert data["escalate_to"] is None
    rows = await scheduled(rt, "reminder")
    assert rows[0].payload["room"] == "inc:1:room" and rows[0].action == "post"
    await tick_at(sched, clock, 31)
    await tick_at(sched, clock, 45)
    assert len(await reminders(rt)) == 1


async def test_commander_is_mentioned_when_there_is_no_comms_lead(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    await declare(rt, commander="U_BOB")
    await tick_at(sched, clock, 30)
    [data] = await reminders(rt)
    assert data["mention"] == "U_BOB"


async def test_posting_an_update_moves_the_deadline(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    n = await declare(rt)
    clock.set(T0 + timedelta(minutes=20))
    await rt.service.execute("w", n, c.PostUpdate("Rolled back the deploy"), ALICE)
    await tick_at(sched, clock, 30)
    await tick_at(sched, clock, 49)
    assert await reminders(rt) == []
    await tick_at(sched, clock, 50)
    assert len(await reminders(rt)) == 1
    # Another real update: the next reminder is 30 minutes after it, not on a fixed clock.
    clock.set(T0 + timedelta(minutes=55))
    await rt.service.execute("w", n, c.PostUpdate("Error rate falling"), ALICE)
    await tick_at(sched, clock, 84)
    assert len(await reminders(rt)) == 1
    await tick_at(sched, clock, 85)
    data = await reminders(rt)
    assert len(data) == 2 and data[1]["overdue"] is False


async def test_cadence_follows_the_severity(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    await declare(rt, "one", "SEV1")  # 15 min
    await declare(rt, "three", "SEV3")  # 60 min
    await declare(rt, "four", "SEV4")  # none
    await tick_at(sched, clock, 15)
    assert [d["incident"]["ref"] for d in await reminders(rt)] == ["INC-1"]  # type: ignore[index]
    await tick_at(sched, clock, 60)
    refs = [d["incident"]["ref"] for d in await reminders(rt)]  # type: ignore[index]
    assert sorted(refs) == ["INC-1", "INC-1", "INC-2"]  # INC-1 escalated at 30
    await tick_at(sched, clock, 24 * 60)
    refs = [d["incident"]["ref"] for d in await reminders(rt)]  # type: ignore[index]
    assert "INC-3" not in refs


async def test_escalation_after_a_second_interval(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    n = await declare(rt)
    await rt.service.execute("w", n, c.AssignRole(Role.COMMS_LEAD, "U_CAROL"), ALICE)
    await tick_at(sched, clock, 30)
    await tick_at(sched, clock, 59)
    assert len(await reminders(rt)) == 1
    await tick_at(sched, clock, 60)
    first, second = await reminders(rt)
    assert first["overdue"] is False
    assert second["overdue"] is True and second["escalate_to"] == "S_ONCALL"
    assert second["mention"] == "U_CAROL"
    # The stakeholder thread is marked "update overdue".
    [mark] = [r for r in await scheduled(rt, "notice")]
    assert mark.payload["room"] == "@broadcast"
    assert mark.payload["thread"] == "inc:1:broadcast"
    assert "overdue" in mark.payload["message"]["text"].lower()
    # ...and so is the incident's broadcast message, edited in place.
    [flag] = [r for r in await scheduled(rt, "broadcast")]
    assert (flag.action, flag.payload["key"]) == ("upsert", "inc:1:broadcast")
    assert flag.payload["message"]["data"]["update_overdue"] is True
    # Escalation happens once per missed deadline, not every tick after it.
    for minute in range(61, 240, 7):
        await tick_at(sched, clock, minute)
    assert len(await reminders(rt)) == 2
    jobs = await rt.db.run(lambda r: r.schedules.list_jobs(incident_id=1))
    # (The declaration's similar-incidents job is the one other job of the incident.)
    assert sorted(j.kind for j in jobs) == [JobKind.ESCALATION, JobKind.REMINDER, JobKind.SIMILAR]


async def test_private_incident_escalates_in_the_room_only(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    await declare(rt, private=True)
    await tick_at(sched, clock, 60)
    [data] = await reminders(rt)
    assert data["overdue"] is True and data["escalate_to"] == "S_ONCALL"
    assert await scheduled(rt, "notice") == []


async def test_no_escalation_group_still_marks_the_thread(rt: Runtime, clock: FixedClock) -> None:
    sched = make_scheduler(rt, escalation_group="")
    await declare(rt)
    await tick_at(sched, clock, 60)
    [data] = await reminders(rt)
    assert data["overdue"] is True and data["escalate_to"] is None
    assert len(await scheduled(rt, "notice")) == 1


async def test_catch_up_after_three_hours_down_sends_one_message(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    await declare(rt)  # due at +30, which is 12 ticks of a 15-minute clock ago by +3h
    for _ in range(5):  # a restart ticks at once, then every few seconds
        await tick_at(sched, clock, 180)
    [data] = await reminders(rt)
    assert data["overdue"] is True  # one late reminder, escalated, not 12 reminders
    assert len(await scheduled(rt, "notice")) == 1


async def test_ticking_through_three_hours_sends_a_reminder_and_one_escalation(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    await declare(rt)
    for minute in range(0, 181):
        await tick_at(sched, clock, minute)
    data = await reminders(rt)
    assert [d["overdue"] for d in data] == [False, True]


async def test_catch_up_within_the_first_interval_is_a_plain_reminder(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    await declare(rt)
    await tick_at(sched, clock, 50)  # down from +10 to +50: due at +30, escalation at +60
    [data] = await reminders(rt)
    assert data["overdue"] is False


async def test_snooze_postpones_and_then_reminds(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    n = await declare(rt)
    clock.set(T0 + timedelta(minutes=25))
    until = T0 + timedelta(minutes=120)
    await rt.service.execute("w", n, c.SetReminders(True, until), ALICE)
    for minute in (30, 60, 90, 119):
        await tick_at(sched, clock, minute)
    assert await reminders(rt) == []
    await tick_at(sched, clock, 120)
    [data] = await reminders(rt)
    assert data["overdue"] is False
    await tick_at(sched, clock, 150)  # one cadence after the snooze ended: escalate
    assert [d["overdue"] for d in await reminders(rt)] == [False, True]


async def test_a_snooze_survives_status_changes_and_a_downgrade(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    n = await declare(rt)  # SEV2 at 09:00, due 09:30
    clock.set(T0 + timedelta(minutes=25))
    await rt.service.execute("w", n, c.SetReminders(True, T0 + timedelta(minutes=120)), ALICE)
    clock.set(T0 + timedelta(minutes=40))
    await rt.service.execute("w", n, c.ChangeStatus(Status.IDENTIFIED), ALICE)
    await rt.service.execute("w", n, c.ChangeSeverity("SEV3"), ALICE)
    inc = await rt.service.get("w", n)
    assert inc.next_update_due_at == T0 + timedelta(minutes=120)
    for minute in (45, 60, 90, 119):
        await tick_at(sched, clock, minute)
    assert await reminders(rt) == []
    await tick_at(sched, clock, 120)
    assert len(await reminders(rt)) == 1


async def test_an_upgrade_tightens_the_deadline_and_a_downgrade_loosens_it(rt: Runtime) -> None:
    n = await declare(rt, severity="SEV3")  # every 60 minutes: due 10:00
    await rt.service.execute("w", n, c.ChangeSeverity("SEV1"), ALICE)  # every 15
    assert (await rt.service.get("w", n)).next_update_due_at == T0 + timedelta(minutes=15)
    await rt.service.execute("w", n, c.ChangeSeverity("SEV3"), ALICE)
    assert (await rt.service.get("w", n)).next_update_due_at == T0 + timedelta(minutes=60)


async def test_status_changes_do_not_move_the_deadline(rt: Runtime, clock: FixedClock) -> None:
    n = await declare(rt)
    clock.set(T0 + timedelta(minutes=20))
    await rt.service.execute("w", n, c.ChangeStatus(Status.MONITORING, "fix deployed"), ALICE)
    assert (await rt.service.get("w", n)).next_update_due_at == T0 + timedelta(minutes=30)


async def test_snooze_while_overdue_stops_the_pending_escalation(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    n = await declare(rt)
    await tick_at(sched, clock, 30)
    clock.set(T0 + timedelta(minutes=40))
    await rt.service.execute("w", n, c.SetReminders(True, T0 + timedelta(minutes=100)), ALICE)
    await tick_at(sched, clock, 60)
    await tick_at(sched, clock, 99)
    assert len(await reminders(rt)) == 1


async def test_off_stops_reminders_and_on_restarts_them(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    n = await declare(rt)
    clock.set(T0 + timedelta(minutes=10))
    await rt.service.execute("w", n, c.SetReminders(False), ALICE)
    for minute in (30, 60, 300, 600):
        await tick_at(sched, clock, minute)
    assert await reminders(rt) == []
    clock.set(T0 + timedelta(minutes=600))
    await rt.service.execute("w", n, c.SetReminders(True), ALICE)
    await tick_at(sched, clock, 629)
    assert await reminders(rt) == []
    await tick_at(sched, clock, 630)  # a fresh interval from re-enabling
    assert len(await reminders(rt)) == 1


async def test_resolving_stops_reminders(rt: Runtime, sched: Scheduler, clock: FixedClock) -> None:
    n = await declare(rt)
    clock.set(T0 + timedelta(minutes=20))
    await rt.service.execute("w", n, c.ChangeStatus(Status.RESOLVED, "fixed"), ALICE)
    for minute in (30, 60, 600):
        await tick_at(sched, clock, minute)
    assert await reminders(rt) == []


async def test_resolving_after_the_reminder_stops_the_escalation(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    n = await declare(rt)
    await tick_at(sched, clock, 30)
    clock.set(T0 + timedelta(minutes=45))
    await rt.service.execute("w", n, c.ChangeStatus(Status.RESOLVED, "fixed"), ALICE)
    await tick_at(sched, clock, 60)
    await tick_at(sched, clock, 600)
    assert len(await reminders(rt)) == 1


async def test_reopen_starts_a_fresh_interval(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    n = await declare(rt)
    clock.set(T0 + timedelta(minutes=10))
    await rt.service.execute("w", n, c.ChangeStatus(Status.RESOLVED, "fixed"), ALICE)
    clock.set(T0 + timedelta(minutes=200))
    await rt.service.execute("w", n, c.ChangeStatus(Status.INVESTIGATING, "back"), ALICE)
    await tick_at(sched, clock, 229)
    assert await reminders(rt) == []
    await tick_at(sched, clock, 230)
    [data] = await reminders(rt)
    assert data["overdue"] is False


async def test_reminders_are_delivered_into_the_incident_room(
    rt: Runtime, sched: Scheduler, clock: FixedClock, worker: OutboxWorker, port: RecordingPort
) -> None:
    await declare(rt)
    await drain(worker)
    await tick_at(sched, clock, 60)  # overdue at once: room reminder + broadcast thread mark
    await drain(worker)
    room = port.of("open_room")[0]["id"]
    posts = [p for p in port.of("post") if p["kind"] in ("reminder", "notice")]
    assert [(p["room"], p["kind"]) for p in posts] == [
        (room, "reminder"),
        ("C_BROADCAST", "notice"),
    ]
    assert posts[1]["thread"] is not None


def test_stage_is_pure(rt: Runtime) -> None:
    from bot.domain.decide import declare as decide_declare

    policy = rt.settings.policy()
    inc, _ = decide_declare(
        c.Declare("x", "SEV2"), workspace="w", number=1, actor=ALICE, now=T0, policy=policy
    )
    assert reminder_stage(inc, policy, T0 + timedelta(minutes=29)) is None
    assert reminder_stage(inc, policy, T0 + timedelta(minutes=30)) is Stage.DUE
    assert reminder_stage(inc, policy, T0 + timedelta(minutes=60)) is Stage.OVERDUE
