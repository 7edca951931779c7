"""Teams' endpoint and wiring: ``POST /api/messages`` through the SDK's JWT check and adapter.

The listeners (handlers/teams_listeners.py) turn activities and card invokes into desk calls;
what people see afterwards is planned by the core and delivered by the outbox.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator
from typing import cast

from aiohttp import web
from microsoft_agents.hosting.aiohttp import jwt_authorization_middleware, start_agent_process

from handlers.appkeys import RUNTIME
from handlers.middleware import json_error
from handlers.platform import Platform
from handlers.teams_listeners import TeamsListeners, missing_room_setting
from integrations.teams.directory import TEAMS_STORE, TeamsDirectory
from integrations.teams.factory import teams_ports
from integrations.teams.people import TeamsPeople
from integrations.teams.sdk import (
    TEAMS,
    TeamsBot,
    TeamsSlot,
    auth_configuration,
    teams_configured,
    token_problem,
)

log = logging.getLogger(__name__)

ANONYMOUS_WARNING = (
    "TEAMS ANONYMOUS MODE IS ON (SITREP_TEAMS_ALLOW_ANONYMOUS=true): POST /api/messages "
    "accepts requests WITHOUT a Bot Framework token and anyone who can reach this server can "
    "act as any Teams user. Use it for local development only, never in production."
)


def mount(app: web.Application) -> None:
    """Mount ``POST /api/messages`` when Teams is configured; the SDK stack starts with the app."""
    settings = app[RUNTIME].settings
    if not teams_configured(settings):
        return
    config = auth_configuration(settings)
    app[TEAMS] = TeamsSlot(config)
    # The SDK's JWT middleware looks its settings up under this fixed string key.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        app["agent_configuration"] = config
    app.router.add_post("/api/messages", messages)


async def teams_context(app: web.Application) -> AsyncIterator[None]:
    """Run the SDK stack and the listeners; the Teams port joins the runtime while it runs."""
    if TEAMS not in app:
        yield
        return
    runtime, slot = app[RUNTIME], app[TEAMS]
    s = runtime.settings
    if s.teams_allow_anonymous:
        log.warning(ANONYMOUS_WARNING)
    missing = missing_room_setting(s)
    if missing:
        log.error(missing)
    if s.teams_app_id and s.teams_app_password is None:
        log.error(
            "SITREP_TEAMS_APP_ID is set but SITREP_TEAMS_APP_PASSWORD is not: Teams "
            "will refuse every message sitrep sends"
        )
    bot = TeamsBot(s, slot.config, slot.token_provider_factory)
    directory = TeamsDirectory(
        runtime.units,
        runtime.clock,
        s.workspace,
        store=app[TEAMS_STORE],
        default_service_url=s.teams_service_url,
        tenant_id=s.teams_tenant_id,
        link_entra=not s.teams_allow_anonymous,
    )
    TeamsListeners(runtime, directory).attach(bot.agent)
    slot.bot, slot.directory, slot.people = bot, directory, runtime.people
    runtime.people.add_source(TeamsPeople(directory))
    if "teams" not in runtime.ports:
        runtime.ports.update(await teams_ports(app))
    log.info(
        "teams ready",
        extra={"app_id": s.teams_app_id or "(anonymous)", "anonymous": s.teams_allow_anonymous},
    )
    yield
    slot.bot = None
    await bot.close()


PLATFORM = Platform("teams", mount, teams_context)


async def messages(request: web.Request) -> web.StreamResponse:
    """Validate the caller's JWT (the SDK's middleware), then let the adapter run the turn."""
    settings = request.app[RUNTIME].settings
    audience = None if settings.teams_allow_anonymous else settings.teams_app_id
    problem = token_problem(request.headers.get("Authorization"), audience)
    if problem is not None:
        # One short line and a 401, never the token itself (it may be a real one, mangled).
        log.warning("teams: refused a request: %s", problem)
        return json_error(401, f"Invalid Bot Framework token: {problem}")
    response = await jwt_authorization_middleware(request, _process)
    return cast(web.StreamResponse, response)


async def _process(request: web.Request) -> web.StreamResponse:
    slot = request.app[TEAMS]
    if slot.bot is None or not request.app[RUNTIME].accepting:
        return json_error(503, "sitrep is starting or stopping; Teams will retry")
    response = await start_agent_process(request, slot.bot.agent, slot.bot.adapter)
    return response if response is not None else web.Response(status=202)
