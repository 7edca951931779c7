"""Concurrent ticks (separate engines and connections, as separate replicas have) record and
enqueue each reminder, escalation, digest and postmortem nudge exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest_asyncio

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Status
from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.scheduling.engine import ScheduleConfig, Scheduler
from bot.scheduling.store import JobKind
from storage.db import Database
from tests.conftest import T0
from tests.scheduling.conftest import scheduled

ALICE = Actor("U_ALICE", "alice")
REPLICAS = 4


@pytest_asyncio.fixture
async def replicas(rt: Runtime) -> AsyncIterator[list[Scheduler]]:
    """Schedulers that share nothing but the database, with small batches to interleave."""
    dbs = [Database(rt.settings.database_url) for _ in range(REPLICAS)]
    config = replace(
        ScheduleConfig.from_settings(rt.settings),
        batch=7,
        digest_cron="0 9 * * *",
        postmortem_days=1,
    )
    yield [Scheduler(db, rt.service.notify, config) for db in dbs]
    for db in dbs:
        db.close()


async def tick_together(replicas: list[Scheduler], when: datetime) -> None:
    reports = await asyncio.gather(*(r.tick(when) for r in replicas))
    assert not [e for rep in reports for e in rep.errors]


async def test_concurrent_ticks_send_each_reminder_once(
    rt: Runtime, replicas: list[Scheduler]
) -> None:
    for i in range(40):
        await rt.service.declare("w", c.Declare(f"incident {i}", "SEV2"), ALICE)
    for minutes in (30, 30, 31, 60, 60, 61, 300):
        await tick_together(replicas, T0 + timedelta(minutes=minutes))
    rows = await scheduled(rt, "reminder")
    per_incident = Counter((r.ordering_key, r.payload["message"]["data"]["overdue"]) for r in rows)
    assert len(per_incident) == 80 and set(per_incident.values()) == {1}
    marks = Counter(r.ordering_key for r in await scheduled(rt, "notice"))
    assert len(marks) == 40 and set(marks.values()) == {1}
    jobs = await rt.db.run(lambda r: r.schedules.list_jobs(limit=1000))
    # (Each declaration also left its similar-incidents job, which no tick runs.)
    kinds = Counter(j.kind for j in jobs if j.incident_id is not None)
    assert kinds == {JobKind.REMINDER: 40, JobKind.ESCALATION: 40, JobKind.SIMILAR: 40}


async def test_concurrent_ticks_send_one_digest_and_one_postmortem_nudge(
    rt: Runtime, replicas: list[Scheduler]
) -> None:
    await tick_together(replicas, T0)  # first start records today's fire
    for i in range(5):
        await rt.service.declare("w", c.Declare(f"incident {i}", "SEV2"), ALICE)
    await rt.service.execute("w", 1, c.ChangeStatus(Status.RESOLVED, "done"), ALICE)
    for seconds in (0, 0, 1, 5):
        await tick_together(replicas, T0 + timedelta(days=1, seconds=seconds))
    assert len(await scheduled(rt, "digest")) == 1
    assert len(await scheduled(rt, "postmortem_reminder")) == 1


async def test_a_command_racing_a_tick_never_loses_the_new_deadline(
    rt: Runtime, replicas: list[Scheduler], clock: FixedClock
) -> None:
    """An update posted while ticks run either precedes the reminder or moves the deadline."""
    for i in range(20):
        await rt.service.declare("w", c.Declare(f"incident {i}", "SEV2"), ALICE)
    now = T0 + timedelta(minutes=30)
    clock.set(now)
    updates = [rt.service.execute("w", n, c.PostUpdate("still on it"), ALICE) for n in range(1, 21)]
    await asyncio.gather(*updates, *(r.tick(now) for r in replicas))
    # Every incident now owes its next update at +60; a reminder for +30 may or may not have
    # gone out, but the +60 deadline is reminded exactly once.
    await tick_together(replicas, T0 + timedelta(minutes=60))
    rows = await scheduled(rt, "reminder")
    late = Counter(
        r.ordering_key
        for r in rows
        if r.payload["message"]["data"]["due_at"] == "2026-11-23T10:00:00Z"
    )
    assert len(late) == 20 and set(late.values()) == {1}
