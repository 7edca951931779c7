"""Outside services' ports (PagerDuty, Opsgenie), built from their settings when configured.

One HTTP client session serves them all; it opens with the app and closes after the outbox
worker has stopped. A service whose setting block is empty gets no port, so its rows (none
are written: paging refuses an unconfigured target) would simply wait.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.config import Settings, secret_text
from bot.ports import ServicePort
from handlers.appkeys import RUNTIME
from integrations.opsgenie.alerts import OpsgenieAlerts
from integrations.pagerduty.events import PagerDutyEvents

log = logging.getLogger(__name__)


def build_services(settings: Settings, session: aiohttp.ClientSession) -> dict[str, ServicePort]:
    """The ports of every configured outside service."""
    services: dict[str, ServicePort] = {}
    timeout = settings.paging_timeout_seconds
    if settings.pagerduty_routing_keys:
        keys = {name: secret_text(key) for name, key in settings.pagerduty_routing_keys.items()}
        services["pagerduty"] = PagerDutyEvents(
            lambda: session, keys, base_url=settings.pagerduty_events_url, timeout=timeout
        )
    if settings.opsgenie_targets and secret_text(settings.opsgenie_api_key):
        responders = {
            name: [r.as_json() for r in targets]
            for name, targets in settings.opsgenie_targets.items()
        }
        services["opsgenie"] = OpsgenieAlerts(
            lambda: session,
            secret_text(settings.opsgenie_api_key),
            responders,
            base_url=settings.opsgenie_api_url,
            timeout=timeout,
        )
    return services


async def context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the shared session and the ports, for the app's lifetime."""
    runtime = app[RUNTIME]
    session = aiohttp.ClientSession(
        headers={"User-Agent": "sitrep"}, timeout=aiohttp.ClientTimeout(total=30)
    )
    runtime.services.update(build_services(runtime.settings, session))
    if runtime.services:
        log.info("outside services configured", extra={"services": ",".join(runtime.services)})
    try:
        yield
    finally:
        runtime.services.clear()
        await session.close()
