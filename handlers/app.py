"""Application wiring: ``create_app(settings)`` builds the aiohttp app; nothing runs at import.

``cleanup_ctx`` owns every long-lived resource (database, outbox worker, scheduler, chat
clients), so they start and stop with the app and each test gets a fresh, isolated app.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from bot.config import Settings
from bot.delivery import DeliveryPolicy, OutboxWorker
from bot.ports import ChatPort, Clock
from handlers import (
    api,
    headers,
    health,
    outside,
    outside_api,
    search_api,
    slack,
    stats_api,
    teams,
    throttle,
    tickets,
    web_admin,
    web_dashboard,
    web_outside,
    web_postmortem,
    web_publish,
    web_search,
    web_sessions,
    webhooks,
)
from handlers import web as web_ui
from handlers.appkeys import RUNTIME
from handlers.compose import build_runtime
from handlers.middleware import error_middleware, metrics_middleware, quiet_malformed_requests
from handlers.platform import Platform
from handlers.scheduler import install as install_scheduler
from handlers.similar import install as install_similar
from handlers.throttle import auth_throttle_middleware
from integrations.teams.directory import TEAMS_STORE
from storage.db import Database
from storage.migrate import upgrade
from storage.teams_repo import teams_repo

log = logging.getLogger(__name__)

PortFactory = Callable[[web.Application], Awaitable[dict[str, ChatPort]]]
PORT_FACTORIES = web.AppKey("port_factories", list[PortFactory])
# The concrete database, for migrating and closing it; handlers see only RUNTIME's protocol.
DATABASE = web.AppKey("database", Database)
# Every chat platform, wired the same way (routes at build, a context that runs it).
PLATFORMS: tuple[Platform, ...] = (slack.PLATFORM, teams.PLATFORM)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    port_factories: list[PortFactory] | None = None,
    run_worker: bool = True,
) -> web.Application:
    """Build the sitrep web application."""
    runtime = build_runtime(settings, clock=clock)
    quiet_malformed_requests()
    app = web.Application(
        # The throttle sits outside every credential check (api.register adds the API's).
        middlewares=[metrics_middleware, error_middleware, auth_throttle_middleware],
        client_max_size=1024 * 1024,
    )
    app[RUNTIME] = runtime
    app[DATABASE] = runtime.db
    app[TEAMS_STORE] = teams_repo
    throttle.install(app, settings)
    headers.install(app)
    app[PORT_FACTORIES] = (
        list(port_factories) if port_factories is not None else default_port_factories()
    )

    health.register(app)
    api.register(app)
    search_api.register(app)
    stats_api.register(app)
    outside_api.register(app)
    web_ui.register(app)
    web_admin.register(app)
    web_dashboard.register(app)
    web_sessions.register(app)
    web_postmortem.register(app)
    web_publish.register(app)
    web_outside.register(app)
    web_search.register(app)
    tickets.register(app)  # /webhooks/jira, before /webhooks/{source}
    webhooks.register(app)
    for platform in PLATFORMS:
        platform.mount(app)

    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_chat_ports)
    for platform in PLATFORMS:
        # A port a factory supplied (a test's fake) takes the platform's place.
        app.cleanup_ctx.append(platform.context)
    app.cleanup_ctx.append(_warn_unconfigured_platforms)
    app.cleanup_ctx.append(outside.context)
    if run_worker:
        app.cleanup_ctx.append(_outbox_worker)
        install_scheduler(app)
        install_similar(app)
    app.on_shutdown.append(_stop_intake)
    return app


def serve(settings: Settings, *, host: str, port: int, print_fn: Callable[[str], None]) -> None:
    """Run the app until SIGINT/SIGTERM (what ``sitrep serve`` does)."""
    # Request handlers hand every unit of work to the database thread and back; the default
    # 5 ms switch interval makes each handoff wait for the event loop's time slice. A shorter
    # interval measurably raises webhook throughput (bench/ingest.py) at no cost when idle.
    sys.setswitchinterval(0.0005)
    loop = new_event_loop(settings.event_loop)
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_heap)  # last: after every startup hook has run
    web.run_app(
        app,
        host=host,
        port=port,
        print=print_fn,
        shutdown_timeout=10,
        access_log=None,
        loop=loop,
    )


def new_event_loop(kind: str = "auto") -> asyncio.AbstractEventLoop:
    """The server's event loop: uvloop when installed (unless ``kind`` is "asyncio").

    uvloop runs the transports, timers and callbacks in C: less CPU per webhook and per Slack
    request (bench/ingest.py). ``SITREP_EVENT_LOOP=asyncio`` keeps the standard loop.
    """
    if kind != "asyncio":
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise RuntimeError(
                    "SITREP_EVENT_LOOP=uvloop, but uvloop is not installed (pip install uvloop)"
                ) from None
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


async def _freeze_startup_heap(_app: web.Application) -> None:
    # Everything loaded so far (modules, SQLAlchemy and Slack SDK internals, settings) lives as
    # long as the process. Left in the tracked heap, each full collection walks those ~150,000
    # objects: measured pauses of 90-125 ms that stalled every request in flight (bench/slack.py
    # p99). Frozen, full collections only walk what requests allocate. A request allocates
    # thousands of short-lived objects; young collections every 20,000 allocations instead of
    # 700 cost a few milliseconds each and measurably less CPU per webhook (bench/ingest.py).
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def default_port_factories() -> list[PortFactory]:
    """Extra ports beside the platforms' own (tests pass fakes here); none by default."""
    return []


async def _database(app: web.Application) -> AsyncIterator[None]:
    db = app[DATABASE]
    await asyncio.get_running_loop().run_in_executor(None, upgrade, db.engine)
    log.info("database ready", extra={"dialect": db.dialect})
    yield
    await app[RUNTIME].people.close()
    db.close()


async def _chat_ports(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    for factory in app[PORT_FACTORIES]:
        runtime.ports.update(await factory(app))
    yield


async def _warn_unconfigured_platforms(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    missing = [p for p in runtime.settings.chat_platforms if p not in runtime.ports]
    if missing:
        log.warning(
            "chat platform not configured; its messages wait in the outbox",
            extra={"platforms": ",".join(missing)},
        )
    yield


async def _outbox_worker(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    s = runtime.settings
    worker = OutboxWorker(
        runtime.db,
        runtime.ports,
        runtime.clock,
        DeliveryPolicy(
            max_attempts=s.outbox_max_attempts,
            backoff_cap=s.outbox_backoff_cap_seconds,
            lease=timedelta(seconds=s.outbox_lease_seconds),
        ),
        workspaces=[s.workspace],
        services=runtime.services,
    )
    runtime.worker = worker
    runtime.service.on_change(lambda _outcome: worker.wake())
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop, s.outbox_poll_seconds))
    yield
    stop.set()
    await task
    # Give messages committed just before shutdown a brief chance to go out.
    await worker.drain(5.0)


async def _stop_intake(app: web.Application) -> None:
    app[RUNTIME].accepting = False
