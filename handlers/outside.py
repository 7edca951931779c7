"""Outside services' ports (PagerDuty, Opsgenie, Jira, ServiceNow), built from their settings.

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
from bot.publish.links import PublishLinks, ServicePublishLinks
from bot.publish.refs import CONFLUENCE, NOTION
from bot.statuspage.rules import STATUSPAGE
from bot.tickets.links import ServiceTicketLinks, TicketLinks
from bot.tickets.refs import JIRA, SERVICENOW
from handlers.appkeys import RUNTIME
from integrations.confluence.client import ConfluenceConfig, ConfluencePages
from integrations.jira.client import JiraConfig, JiraTickets, basic_auth
from integrations.notion.client import NotionConfig, NotionPages
from integrations.opsgenie.alerts import OpsgenieAlerts
from integrations.pagerduty.events import PagerDutyEvents
from integrations.servicenow.client import ServiceNowConfig, ServiceNowTickets
from integrations.statuspage.client import StatuspageIncidents

log = logging.getLogger(__name__)


def build_services(
    settings: Settings,
    session: aiohttp.ClientSession,
    links: TicketLinks | None = None,
    pages: PublishLinks | None = None,
) -> dict[str, ServicePort]:
    """The ports of every configured outside service (tickets need ``links``, publishing
    ``pages``)."""
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
    if links is not None:
        services.update(ticket_services(settings, session, links))
        if settings.statuspage_page_id:
            services[STATUSPAGE] = StatuspageIncidents(
                lambda: session,
                links,
                api_key=secret_text(settings.statuspage_api_key),
                page_id=settings.statuspage_page_id,
                base_url=settings.statuspage_api_url,
                timeout=settings.statuspage_timeout_seconds,
            )
    if pages is not None:
        services.update(publish_services(settings, session, pages))
    return services


def publish_services(
    settings: Settings, session: aiohttp.ClientSession, pages: PublishLinks
) -> dict[str, ServicePort]:
    """Confluence's and Notion's ports, for the blocks that are configured."""
    services: dict[str, ServicePort] = {}
    timeout = settings.publish_timeout_seconds
    if settings.confluence_url:
        config = ConfluenceConfig.from_settings(settings)
        services[CONFLUENCE] = ConfluencePages(lambda: session, pages, config, timeout=timeout)
    if settings.notion_parent_page_id:
        notion = NotionConfig.from_settings(settings)
        services[NOTION] = NotionPages(lambda: session, pages, notion, timeout=timeout)
    return services


def ticket_services(
    settings: Settings, session: aiohttp.ClientSession, links: TicketLinks
) -> dict[str, ServicePort]:
    """Jira's and ServiceNow's ports, for the blocks that are configured."""
    services: dict[str, ServicePort] = {}
    timeout = settings.tickets_timeout_seconds
    if settings.jira_url and settings.jira_project:
        bearer = secret_text(settings.jira_bearer_token)
        auth = (
            f"Bearer {bearer}"
            if bearer
            else basic_auth(settings.jira_email or "", secret_text(settings.jira_api_token))
        )
        config = JiraConfig(
            base_url=settings.jira_url,
            authorization=auth,
            project=settings.jira_project,
            issue_type=settings.jira_issue_type,
            priorities={
                settings.policy().severity(sev).name.upper(): name
                for sev, name in settings.jira_priorities.items()
            },
            transitions=dict(settings.jira_transitions),
            item_transitions=dict(settings.jira_item_transitions),
            item_type=settings.jira_action_item_type,
            subtasks=settings.jira_action_items_as_subtasks,
            accounts=dict(settings.jira_accounts),
        )
        services[JIRA] = JiraTickets(lambda: session, links, config, timeout=timeout)
    if settings.servicenow_url:
        user = settings.servicenow_username or ""
        config_sn = ServiceNowConfig(
            base_url=settings.servicenow_url,
            authorization=basic_auth(user, secret_text(settings.servicenow_password)),
            close_code=settings.servicenow_close_code,
            assignment_group=settings.servicenow_assignment_group or "",
        )
        services[SERVICENOW] = ServiceNowTickets(lambda: session, links, config_sn, timeout=timeout)
    return services


async def context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the shared session and the ports, for the app's lifetime."""
    runtime = app[RUNTIME]
    session = aiohttp.ClientSession(
        headers={"User-Agent": "sitrep"}, timeout=aiohttp.ClientTimeout(total=30)
    )
    runtime.services.update(
        build_services(
            runtime.settings,
            session,
            ServiceTicketLinks(runtime.service),
            ServicePublishLinks(runtime.service),
        )
    )
    if runtime.services:
        log.info("outside services configured", extra={"services": ",".join(runtime.services)})
    try:
        yield
    finally:
        runtime.services.clear()
        await session.close()
