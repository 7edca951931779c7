"""The storage primitives behind exactly-once: insert-or-skip on (kind, dedup_key) and
candidate rows that concurrent transactions split between them instead of sharing."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.repository import Repo
from bot.runtime import Runtime
from bot.scheduling.reminders import escalate_after
from bot.scheduling.store import JobKind, JobState, NewJob
from storage.db import Database
from tests.conftest import T0

ALICE = Actor("U_ALICE", "alice")


def job(key: str = "reminder:1:x") -> NewJob:
    return NewJob("w", JobKind.REMINDER.value, key, T0, JobState.DONE, incident_id=1, anchor_at=T0)


async def test_record_job_inserts_once(rt: Runtime) -> None:
    assert await rt.db.run(lambda r: r.schedules.record_job(job(), T0)) is True
    assert await rt.db.run(lambda r: r.schedules.record_job(job(), T0)) is False
    # The losing insert leaves its transaction usable (no IntegrityError to roll back).
    both = await rt.db.run(
        lambda r: (r.schedules.record_job(job(), T0), r.schedules.record_job(job("other"), T0))
    )
    assert both == (False, True)
    assert len(await rt.db.run(lambda r: r.schedules.list_jobs())) == 2


def test_overlapping_transactions_insert_the_same_job_once(rt: Runtime) -> None:
    """Both transactions insert before either commits; exactly one wins."""
    if rt.db.dialect == "sqlite":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE; nothing can overlap")
    dbs = [Database(rt.settings.database_url) for _ in range(2)]
    barrier = threading.Barrier(2)

    def insert(db: Database) -> bool:
        def work(repo: Repo) -> bool:
            barrier.wait(timeout=10)
            won = repo.schedules.record_job(job(), T0)
            time.sleep(0.2)  # hold the transaction open so the other one waits on us
            return won

        return db.run_sync(work)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(insert, dbs))
    for db in dbs:
        db.close()
    assert sorted(results) == [False, True]


async def test_concurrent_transactions_take_disjoint_candidates(rt: Runtime) -> None:
    if rt.db.dialect == "sqlite":
        pytest.skip("row locks are a Postgres feature; SQLite has one writer at a time")
    for i in range(10):
        await rt.service.declare("w", c.Declare(f"incident {i}", "SEV2"), ALICE)
    now = T0 + timedelta(minutes=30)
    after = escalate_after(rt.settings.policy())
    dbs = [Database(rt.settings.database_url) for _ in range(2)]
    barrier = threading.Barrier(2)

    def take(db: Database, hold: float) -> list[int]:
        def work(repo: Repo) -> list[int]:
            if hold:
                got = repo.schedules.reminder_candidates(now, after, limit=4, workspace="w")
                barrier.wait(timeout=10)
                time.sleep(hold)
            else:
                barrier.wait(timeout=10)
                got = repo.schedules.reminder_candidates(now, after, limit=4, workspace="w")
            return [i.number for i in got]

        return db.run_sync(work)

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(take, dbs[0], 0.3)
        second = pool.submit(take, dbs[1], 0.0)
        a, b = first.result(), second.result()
    for db in dbs:
        db.close()
    assert a == [1, 2, 3, 4] and b == [5, 6, 7, 8]


async def test_candidates_leave_once_reminded_and_return_for_escalation(rt: Runtime) -> None:
    await rt.service.declare("w", c.Declare("x", "SEV2"), ALICE)
    after = escalate_after(rt.settings.policy())
    due = T0 + timedelta(minutes=30)

    async def candidates(minutes: int) -> list[int]:
        now = T0 + timedelta(minutes=minutes)
        return await rt.db.run(
            lambda r: [
                i.number
                for i in r.schedules.reminder_candidates(now, after, limit=10, workspace="w")
            ]
        )

    assert await candidates(29) == []
    assert await candidates(30) == [1]
    reminded = NewJob("w", "reminder", "r", due, JobState.DONE, incident_id=1, anchor_at=due)
    await rt.db.run(lambda r: r.schedules.record_job(reminded, T0))
    assert await candidates(45) == []
    assert await candidates(60) == [1]
    escalated = NewJob("w", "escalation", "e", due, JobState.DONE, incident_id=1, anchor_at=due)
    await rt.db.run(lambda r: r.schedules.record_job(escalated, T0))
    assert await candidates(600) == []
