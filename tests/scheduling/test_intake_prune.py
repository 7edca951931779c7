"""Request dedup keys are pruned once they are older than the retention window, and only then."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlmodel import col

from bot.config import Settings
from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.scheduling.engine import ScheduleConfig, Scheduler
from handlers import scheduler as install
from handlers.appkeys import RUNTIME
from storage.db import Database
from storage.tables import IntakeKeyRow
from tests.scheduling.conftest import make_scheduler


def stored_keys(rt: Runtime[Database]) -> set[str]:
    with rt.db.session() as session:
        return set(session.scalars(select(col(IntakeKeyRow.key))))


async def sight(rt: Runtime[Database], key: str, clock: FixedClock) -> None:
    now = clock.now()
    assert await rt.db.run(lambda repo: repo.first_sighting(key, now))


async def test_keys_older_than_the_retention_window_are_pruned_and_younger_ones_kept(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    sched = make_scheduler(rt, dedup_retention=timedelta(hours=48))
    await sight(rt, "w:slack:trigger-old", clock)
    await sight(rt, "alert:other:alertmanager:old", clock)
    clock.advance(hours=24)
    await sight(rt, "w:idem-young", clock)
    clock.advance(hours=24, seconds=1)  # the first two are now 48h 1s old, the last 24h 1s

    assert await sched.prune_intake_keys(clock.now()) == 2
    assert stored_keys(rt) == {"w:idem-young"}
    # A pruned key is forgotten: the same id is a first sighting again.
    await sight(rt, "w:slack:trigger-old", clock)


async def test_a_key_exactly_at_the_window_edge_is_kept_and_a_second_prune_removes_nothing(
    rt: Runtime[Database], clock: FixedClock, sched: Scheduler
) -> None:
    await sight(rt, "w:edge", clock)
    clock.advance(hours=48)
    assert await sched.prune_intake_keys(clock.now()) == 0
    assert stored_keys(rt) == {"w:edge"}
    clock.advance(seconds=1)
    assert await sched.prune_intake_keys(clock.now()) == 1
    assert await sched.prune_intake_keys(clock.now()) == 0


def test_the_retention_window_comes_from_settings(rt: Runtime[Database]) -> None:
    assert make_scheduler(rt).config.dedup_retention == timedelta(hours=48)
    custom = rt.settings.model_copy(update={"dedup_retention_hours": 72})
    assert ScheduleConfig.from_settings(custom).dedup_retention == timedelta(hours=72)


def test_dedup_retention_hours_is_read_from_the_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("SITREP_DEDUP_RETENTION_HOURS", "6")
    assert Settings(_env_file=None).dedup_retention_hours == 6


async def test_the_running_app_prunes_old_keys_on_its_own(
    app: Any, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The APScheduler job in the real app calls the prune; the database decides what goes."""
    monkeypatch.setattr(install, "PRUNE_SECONDS", 0.05)
    runtime: Runtime[Database] = app[RUNTIME]
    async with TestClient(TestServer(app, host="127.0.0.1")):
        await sight(runtime, "w:old", clock)
        clock.advance(hours=49)
        await sight(runtime, "w:new", clock)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while "w:old" in stored_keys(runtime):
            assert loop.time() < deadline, "the prune job never ran"
            await asyncio.sleep(0.02)
        assert stored_keys(runtime) == {"w:new"}
