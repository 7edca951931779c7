"""The service graph shared by the web app and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from bot.alerting.intake import AlertIntake
from bot.alerting.rules import rules_from_config
from bot.chatops.desk import Desk
from bot.config import Settings
from bot.delivery import OutboxWorker
from bot.notify import NotifyContext
from bot.ports import ChatPort, Clock, SystemClock
from bot.repository import UnitOfWork
from bot.service import IncidentService
from bot.telemetry import Telemetry
from storage.db import Database


@dataclass
class Runtime:
    """Everything a request handler may need, built once per app."""

    settings: Settings
    db: Database
    clock: Clock
    service: IncidentService
    telemetry: Telemetry
    alerts: AlertIntake
    desk: Desk
    ports: dict[str, ChatPort] = field(default_factory=dict)
    worker: OutboxWorker | None = None
    accepting: bool = True

    @property
    def units(self) -> UnitOfWork:
        """Transactions for an integration's own tables (the Teams directory)."""
        return self.db

    async def database_ready(self) -> bool:
        """True when the database answers."""
        return await self.db.ping()

    @property
    def dialect(self) -> str:
        """The database's SQL dialect, for the readiness probe."""
        return self.db.dialect

    def wake_outbox(self) -> None:
        """Tell the delivery worker there is new work (no-op before it starts)."""
        if self.worker is not None:
            self.worker.wake()


RUNTIME = web.AppKey("runtime", Runtime)


def build_runtime(settings: Settings, *, clock: Clock | None = None) -> Runtime:
    """The service graph without the web server (the CLI uses this too)."""
    db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
    clock = clock or SystemClock()
    notify = NotifyContext(
        platforms=tuple(settings.chat_platforms),
        policy=settings.policy(),
        base_url=settings.public_url,
        mirror=settings.mirror_updates,
    )
    service = IncidentService(db, settings.policy(), clock, notify)
    wake: list[Runtime] = []
    alerts = AlertIntake(
        db,
        service,
        rules_from_config(settings.alert_rules),
        clock,
        # One intake per runtime, so concurrent webhooks share its commit queue.
        on_commit=lambda: wake[0].wake_outbox() if wake else None,
        settle=settings.alert_settle_seconds,
        notice_backlog=settings.alert_notice_backlog,
        workspace=settings.workspace,
    )
    runtime = Runtime(
        settings=settings,
        db=db,
        clock=clock,
        service=service,
        telemetry=Telemetry(),
        alerts=alerts,
        desk=Desk(
            service,
            alerts,
            clock,
            settings.workspace,
            settings.public_url,
            wake=lambda: wake[0].wake_outbox() if wake else None,
        ),
    )
    wake.append(runtime)
    return runtime
