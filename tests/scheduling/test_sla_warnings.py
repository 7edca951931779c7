"""SLA breach warnings: posted to the room once a share of a target has passed, once across
ticks and replicas, never after an acknowledgement (or resolution) in time, escaped.

Time is a FixedClock moved by hand; the tick is called directly, as APScheduler would.
Defaults: SEV1 must be acknowledged within 5 min and resolved within 4 h; warnings at 80%.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest_asyncio

from bot.delivery import OutboxWorker
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Status
from bot.outbox_types import OutboxRecord
from bot.ports import ChatMessage, FixedClock
from bot.runtime import Runtime
from bot.scheduling.engine import ScheduleConfig, Scheduler
from bot.scheduling.store import JobKind
from integrations.slack.blocks import render
from storage.db import Database
from tests.conftest import T0
from tests.scheduling.conftest import make_scheduler, scheduled
from tests.support.chat import RecordingPort, drain

ALICE = Actor("U_ALICE", "alice")
SYSTEM_ALERT = Actor("sitrep", "sitrep", trusted=True)


async def declare(rt: Runtime, title: str = "Checkout down", severity: str = "SEV1") -> int:
    # Declared by the system (as an alert would), so nobody has acknowledged it yet.
    out = await rt.service.declare("w", c.Declare(title, severity, origin="slack"), SYSTEM_ALERT)
    return out.incident.number


async def warnings(rt: Runtime, target: str = "ack") -> list[OutboxRecord]:
    return [r for r in await scheduled(rt) if r.idempotency_key.startswith(f"sched:sla_{target}:")]


async def tick_at(sched: Scheduler, clock: FixedClock, seconds: float) -> None:
    clock.set(T0 + timedelta(seconds=seconds))
    report = await sched.tick(clock.now())
    assert not report.errors


async def test_ack_warning_comes_at_80_percent_of_the_target_and_only_once(
    rt: Runtime, clock: FixedClock
) -> None:
    sched = make_scheduler(rt, sla_warn_percent=80)
    await declare(rt)
    await tick_at(sched, clock, 3 * 60 + 59)
    assert await warnings(rt) == []
    await tick_at(sched, clock, 4 * 60)
    [row] = await warnings(rt)
    message = row.payload["message"]
    assert row.payload["room"] == "inc:1:room" and row.action == "post"
    assert message["kind"] == "notice"
    assert "INC-1 (SEV1)" in message["text"] and "1 min left to acknowledge" in message["text"]
    assert message["data"]["sla"] == {
        "target": "ack",
        "severity": "SEV1",
        "within_seconds": 300,
        "breach_at": "2026-11-23T09:05:00Z",
    }
    for seconds in (4 * 60 + 1, 4 * 60 + 30, 4 * 60 + 59):
        await tick_at(sched, clock, seconds)
    assert len(await warnings(rt)) == 1
    [job] = await rt.db.run(lambda r: r.schedules.list_jobs(kind=JobKind.SLA_ACK.value))
    assert job.dedup_key == "sla_ack:1:SEV1" and job.due_at == T0 + timedelta(minutes=4)


async def test_acknowledging_in_time_cancels_the_warning(rt: Runtime, clock: FixedClock) -> None:
    sched = make_scheduler(rt, sla_warn_percent=80)
    n = await declare(rt)
    clock.set(T0 + timedelta(minutes=3))
    await rt.service.execute("w", n, c.Acknowledge(), ALICE)
    for minutes in (4, 4.5, 10):
        await tick_at(sched, clock, minutes * 60)
    assert await warnings(rt) == []


async def test_resolving_in_time_cancels_the_resolve_warning(
    rt: Runtime, clock: FixedClock
) -> None:
    sched = make_scheduler(rt, sla_warn_percent=50)
    n = await declare(rt)
    clock.set(T0 + timedelta(minutes=1))
    await declare(rt, "Still open")  # declared at 09:01: warned at half of 4 h, 11:01
    await rt.service.execute("w", n, c.ChangeStatus(Status.RESOLVED), ALICE)
    await tick_at(sched, clock, 2 * 3600)
    assert await warnings(rt, "resolve") == []
    await tick_at(sched, clock, 2 * 3600 + 60)
    [row] = await warnings(rt, "resolve")
    assert row.ordering_key == "inc:2" and "left to resolve" in row.payload["message"]["text"]


async def test_no_warning_once_the_target_has_passed(rt: Runtime, clock: FixedClock) -> None:
    sched = make_scheduler(rt, sla_warn_percent=80)
    await declare(rt)
    await tick_at(sched, clock, 5 * 60)  # first tick after downtime: the target is gone
    await tick_at(sched, clock, 20 * 60)
    assert await warnings(rt) == []


async def test_a_severity_change_brings_the_new_target_and_its_own_warning(
    rt: Runtime, clock: FixedClock
) -> None:
    sched = make_scheduler(rt, sla_warn_percent=80)
    n = await declare(rt, severity="SEV3")  # acknowledge within 60 min
    await tick_at(sched, clock, 10 * 60)
    assert await warnings(rt) == []
    # A system upgrade (no person: no auto-acknowledge) to SEV2: 15 min, warned at 12.
    await rt.service.execute("w", n, c.ChangeSeverity("SEV2"), SYSTEM_ALERT)
    await tick_at(sched, clock, 12 * 60)
    [row] = await warnings(rt)
    assert row.payload["message"]["data"]["sla"]["severity"] == "SEV2"


async def test_warnings_are_off_at_zero_percent(rt: Runtime, clock: FixedClock) -> None:
    sched = make_scheduler(rt, sla_warn_percent=0)
    await declare(rt)
    await tick_at(sched, clock, 4 * 60 + 30)
    assert await warnings(rt) == []


async def test_the_title_is_escaped_in_the_rendered_warning(rt: Runtime, clock: FixedClock) -> None:
    sched = make_scheduler(rt, sla_warn_percent=80)
    await declare(rt, title="<!channel> pay <https://evil.example|here> @here")
    await tick_at(sched, clock, 4 * 60)
    [row] = await warnings(rt)
    fallback, blocks = render(ChatMessage.from_json(row.payload["message"]))
    shown = fallback + str(blocks)
    assert "<!channel>" not in shown and "<https://evil" not in shown
    assert "&lt;!channel&gt;" in shown


@pytest_asyncio.fixture
async def replicas(rt: Runtime) -> AsyncIterator[list[Scheduler]]:
    """Schedulers sharing only the database, with small batches so they interleave."""
    dbs = [Database(rt.settings.database_url) for _ in range(4)]
    config = replace(ScheduleConfig.from_settings(rt.settings), batch=3, sla_warn_percent=80)
    yield [Scheduler(db, rt.service.notify, config) for db in dbs]
    for db in dbs:
        db.close()


async def test_replicas_ticking_together_warn_each_incident_once(
    rt: Runtime, replicas: list[Scheduler]
) -> None:
    for i in range(20):
        await declare(rt, f"incident {i}")
    for seconds in (240, 240, 250, 260):
        reports = await asyncio.gather(*(r.tick(T0 + timedelta(seconds=seconds)) for r in replicas))
        assert not [e for rep in reports for e in rep.errors]
    rows = await warnings(rt)
    assert sorted(r.ordering_key for r in rows) == sorted(f"inc:{i}" for i in range(1, 21))


async def test_the_warning_is_delivered_into_the_incident_room(
    rt: Runtime, clock: FixedClock, worker: OutboxWorker, port: RecordingPort
) -> None:
    sched = make_scheduler(rt, sla_warn_percent=80)
    await declare(rt)
    await drain(worker)
    await tick_at(sched, clock, 4 * 60)
    await drain(worker)
    room = port.of("open_room")[0]["id"]
    [post] = [p for p in port.of("post") if "left to acknowledge" in str(p.get("text", ""))]
    assert post["room"] == room and post["kind"] == "notice"
