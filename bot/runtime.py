"""The service graph shared by the web app and the CLI, over a database built elsewhere.

The composition root (handlers.compose) constructs the storage and passes it in, so the core
never imports storage, the ORM or the web framework.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Generic

from typing_extensions import TypeVar

from bot.alerting.intake import AlertIntake
from bot.alerting.rules import rules_from_config
from bot.audit_log import AuditLog
from bot.chatops.desk import Desk
from bot.config import Settings
from bot.delivery import OutboxWorker
from bot.identity.registry import TokenRegistry
from bot.identity.session_registry import SessionRegistry
from bot.notify import NotifyContext
from bot.paging.acks import PageAcks
from bot.paging.planner import PagingPlanner
from bot.paging.targets import paging_targets
from bot.people import CachedPeople
from bot.ports import ChatPort, Clock, ServicePort, SystemClock
from bot.publish.planner import publish_planners
from bot.repository import Database, UnitOfWork
from bot.search.service import SearchService
from bot.service import IncidentService
from bot.similar.worker import SimilarIncidents
from bot.stats_cache import StatsCache
from bot.statuspage.planner import statuspage_planners
from bot.statuspage.rules import StatuspageRules
from bot.telemetry import Telemetry
from bot.tickets.planner import ticket_planners

# The concrete database type, so the composition root (and tests) keep its extra surface
# (the engine for migrations); everything else sees the protocol.
DB = TypeVar("DB", bound=Database, default=Database, covariant=True)
D = TypeVar("D", bound=Database)


@dataclass
class Runtime(Generic[DB]):
    """Everything a request handler may need, built once per app."""

    settings: Settings
    db: DB
    clock: Clock
    service: IncidentService
    telemetry: Telemetry
    alerts: AlertIntake
    desk: Desk
    tokens: TokenRegistry
    audit: AuditLog
    people: CachedPeople
    pages: PageAcks
    sessions: SessionRegistry
    search: SearchService
    # Dashboard figures, kept SITREP_STATS_CACHE_SECONDS (every stats surface reads through it).
    stats: StatsCache
    ports: dict[str, ChatPort] = field(default_factory=dict)
    # Outside services the outbox delivers to (pagerduty, opsgenie), once configured.
    services: dict[str, ServicePort] = field(default_factory=dict)
    worker: OutboxWorker | None = None
    # Similar past incidents (None when SITREP_SIMILAR_INCIDENTS is off).
    similar: SimilarIncidents | None = None
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
        """Tell the delivery worker there is new work (no-op before it starts).

        Called after every alert-intake commit too, so it also wakes the similar-incidents
        worker, which runs only when a declaration recorded a job.
        """
        if self.worker is not None:
            self.worker.wake()
        if self.similar is not None:
            self.similar.wake()


def assemble_runtime(settings: Settings, db: D, *, clock: Clock | None = None) -> Runtime[D]:
    """The service graph over ``db``, without the web server (the CLI uses this too)."""
    clock = clock or SystemClock()
    notify = NotifyContext(
        platforms=tuple(settings.chat_platforms),
        policy=settings.policy(),
        base_url=settings.public_url,
        mirror=settings.mirror_updates,
    )
    service = IncidentService(db, settings.policy(), clock, notify)
    people = CachedPeople(db, clock, ttl=timedelta(hours=settings.people_ttl_hours))
    service.people = people
    targets = paging_targets(settings.pagerduty_routing_keys, settings.opsgenie_targets)
    service.planners.append(PagingPlanner(targets, settings.policy(), settings.public_url))
    service.planners.extend(ticket_planners(settings))
    service.planners.extend(
        statuspage_planners(StatuspageRules.from_settings(settings), settings.policy())
    )
    service.planners.extend(publish_planners(settings))
    wake: list[Runtime[D]] = []
    search = SearchService(db)
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
            search=search,
            statuspage=StatuspageRules.from_settings(settings),
        ),
        tokens=TokenRegistry(db, clock),
        audit=AuditLog(db, settings.workspace),
        people=people,
        pages=PageAcks(service, settings.workspace),
        sessions=SessionRegistry(db, clock, settings.workspace),
        search=search,
        stats=StatsCache(db, clock, ttl=settings.stats_cache_seconds),
    )
    if settings.similar_incidents:
        runtime.similar = similar = SimilarIncidents(
            db,
            notify,
            clock,
            workspace=settings.workspace,
            count=settings.similar_incidents_count,
            on_posted=runtime.wake_outbox,
        )
        service.on_declare(similar.record)
        service.on_change(lambda _outcome: similar.wake())
    wake.append(runtime)
    return runtime
