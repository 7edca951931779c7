"""The scheduler inside the real app: APScheduler ticks on its own, the reminder reaches the
chat port, the metric counts it, and shutdown is clean."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.ports import ChatPort, FixedClock
from bot.runtime import Runtime
from handlers.app import PortFactory
from handlers.scheduler import SCHEDULER, TickRunner
from tests.support.chat import RecordingPort

ALICE = Actor("U_ALICE", "alice")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Tick fast so the test waits milliseconds, not seconds."""
    return {
        "scheduler_tick_seconds": 0.05,
        "digest_cron": "",
        "action_item_reminder_cron": "",
        "escalation_group": "S_ONCALL",
    }


@pytest.fixture
def port() -> RecordingPort:
    """A fresh in-memory chat port per test."""
    return RecordingPort()


@pytest.fixture
def port_factories(port: RecordingPort) -> list[PortFactory]:
    """Install the in-memory port as Slack."""

    async def factory(_app: web.Application) -> dict[str, ChatPort]:
        return {"slack": port}

    return [factory]


async def until(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_the_app_ticks_and_delivers_a_reminder(
    client: TestClient[Any, Any], runtime: Runtime, clock: FixedClock, port: RecordingPort
) -> None:
    await runtime.service.declare("default", c.Declare("API down", "SEV2"), ALICE)

    async def room_open() -> bool:
        return bool(port.of("open_room"))

    await until(room_open)
    clock.advance(minutes=30)

    async def reminded() -> bool:
        return any(p["kind"] == "reminder" for p in port.of("post"))

    await until(reminded)
    await asyncio.sleep(0.3)  # several more ticks: still one reminder
    assert [p["kind"] for p in port.of("post")].count("reminder") == 1
    resp = await client.get("/metrics")
    body = await resp.text()
    assert 'sitrep_reminders_sent_total{kind="reminder"} 1.0' in body


async def test_the_engine_is_reachable_for_a_manual_tick(
    client: TestClient[Any, Any], runtime: Runtime, clock: FixedClock
) -> None:
    engine = client.app[SCHEDULER]
    report = await engine.tick(clock.now())
    assert report.errors == []


async def test_stop_waits_for_a_running_tick(runtime: Runtime, clock: FixedClock) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    class SlowEngine:
        config = type("C", (), {"crons": staticmethod(dict)})()
        finished = False

        async def tick(self, now: object) -> object:
            started.set()
            await release.wait()
            self.finished = True
            return None

    engine = SlowEngine()
    runner = TickRunner(engine, clock.now, 0.01, "UTC")  # type: ignore[arg-type]
    runner.start()
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(runner.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # a tick in its transaction is allowed to finish
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert engine.finished
