"""Wire the scheduler into the app: APScheduler ticks, the database decides.

An interval job runs ``Scheduler.tick`` every ``scheduler_tick_seconds`` (and once at start,
which is the catch-up after downtime); cron jobs in ``SITREP_TIMEZONE`` fire the digest and
action-item schedules on time. Triggers hold no state: every decision is a database row, so
any number of replicas can run this side by side.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.runtime import Runtime
from bot.scheduling.cron import cron_trigger
from bot.scheduling.engine import ScheduleConfig, Scheduler, TickReport
from handlers.appkeys import RUNTIME

log = logging.getLogger(__name__)

SCHEDULER = web.AppKey("scheduler", Scheduler)
STOP_TIMEOUT = 10.0
# How often old request dedup keys are pruned: the retention window is days, so hourly keeps
# the table near its steady size without a delete on every tick.
PRUNE_SECONDS = 3600.0


def build_scheduler(runtime: Runtime) -> Scheduler:
    """The scheduling engine over the runtime's database, reporting to its metrics."""

    def on_sent(kind: str, n: int) -> None:
        runtime.telemetry.reminders_sent(kind, n)

    def wake() -> None:
        if runtime.worker is not None:
            runtime.worker.wake()

    return Scheduler(
        runtime.db,
        runtime.service.notify,
        ScheduleConfig.from_settings(runtime.settings),
        on_sent=on_sent,
        wake=wake,
    )


def install(app: web.Application) -> None:
    """Add the scheduler's cleanup context to the app."""
    # Each job run logs "executed successfully" at INFO: one line per tick and prune, which
    # drowns the lines people read (bot.logs quiets it too, but apps built in tests skip that).
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    app[SCHEDULER] = build_scheduler(app[RUNTIME])
    app.cleanup_ctx.append(_scheduler_ctx)


class TickRunner:
    """Owns the ``AsyncIOScheduler`` and lets in-flight ticks finish on shutdown."""

    def __init__(
        self, engine: Scheduler, now: Callable[[], datetime], tick_seconds: float, zone: str
    ) -> None:
        self.engine = engine
        self.now = now
        self.tick_seconds = tick_seconds
        self.zone = zone
        self._inflight: set[asyncio.Task[TickReport]] = set()
        self._apscheduler: Any = None

    def start(self) -> None:
        """Start ticking now, then every ``tick_seconds``; add the cron triggers."""
        zone = ZoneInfo(self.zone)
        sched = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=zone)
        sched.add_job(
            self._tick,
            IntervalTrigger(seconds=self.tick_seconds, timezone=zone),
            id="sitrep-tick",
            next_run_time=datetime.now(zone),  # catch up at once after a restart
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        sched.add_job(
            self._prune,
            IntervalTrigger(seconds=PRUNE_SECONDS, timezone=zone),
            id="sitrep-prune-intake-keys",
            next_run_time=datetime.now(zone),  # a long downtime may have left a backlog
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        for kind, expr in self.engine.config.crons().items():
            sched.add_job(
                self._cron,
                cron_trigger(expr, self.zone),
                id=f"sitrep-cron-{kind.value}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        sched.start()
        self._apscheduler = sched
        log.info(
            "scheduler started",
            extra={
                "tick_seconds": self.tick_seconds,
                "zone": self.zone,
                "crons": ",".join(k.value for k in self.engine.config.crons()),
            },
        )

    async def stop(self) -> None:
        """Stop triggering and wait (bounded) for a running tick to commit."""
        if self._apscheduler is not None:
            self._apscheduler.shutdown(wait=False)
            self._apscheduler = None
        if self._inflight:
            _, pending = await asyncio.wait(self._inflight, timeout=STOP_TIMEOUT)
            for task in pending:
                task.cancel()

    async def _tick(self) -> None:
        await self._guarded(lambda: self.engine.tick(self.now()))

    async def _cron(self) -> None:
        await self._guarded(lambda: self.engine.fire_cron(self.now()))

    async def _prune(self) -> None:
        async def prune() -> TickReport:
            await self.engine.prune_intake_keys(self.now())
            return TickReport()

        await self._guarded(prune)

    async def _guarded(self, make: Callable[[], Awaitable[TickReport]]) -> None:
        async def run() -> TickReport:
            return await make()

        task = asyncio.ensure_future(run())
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        try:
            # Shielded: APScheduler cancels its job futures on shutdown, but a tick that has
            # started its transaction should finish and record what it enqueued.
            await asyncio.shield(task)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("scheduler tick failed")


async def _scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    runner = TickRunner(
        app[SCHEDULER],
        runtime.clock.now,
        runtime.settings.scheduler_tick_seconds,
        runtime.settings.timezone,
    )
    runner.start()
    yield
    await runner.stop()
