"""``POST /api/incidents/{ref}/page`` and ``…/tickets``: page on-call and open tickets.

Both run the core's commands (``Page``, ``RequestTicket``), whose outside planners queue the
page or the ticket's create in the command's transaction; the outbox delivers it. A refusal
(unknown target, nothing configured, a ticket already there, a resolved incident) is the
core's message as a 4xx, and nothing is written. Needs ``incidents:write`` like every other
incident command (handlers.api.required_scope).
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import Field

from bot.domain import commands as c
from handlers.api import _Body, _command, _run
from handlers.appkeys import RUNTIME
from handlers.openapi_models import CommandResult
from handlers.openapi_routes import Reply, Route, mount, read_body


class PageBody(_Body):
    """Whom to page: a configured paging target (a PagerDuty service, an Opsgenie team)."""

    target: str = Field(min_length=1, max_length=100, examples=["payments"])


class TicketBody(_Body):
    """Where to open the incident's ticket; null (or absent) opens one in every configured
    ticket service that has none yet."""

    service: Literal["jira", "servicenow"] | None = Field(default=None, examples=["jira"])


def register(app: web.Application) -> None:
    """Mount the paging and ticket routes."""
    mount(app, ROUTES)


async def page_oncall(request: web.Request) -> Reply[CommandResult]:
    """Page on-call through a configured target; an unknown target is a 400 naming the
    configured ones. Paging the same target again reaches the same page (deduplicated)."""
    body = await read_body(request, PageBody)
    reply = await _run(request, c.Page(body.target))
    request.app[RUNTIME].wake_outbox()
    return reply


async def open_ticket(request: web.Request) -> Reply[CommandResult]:
    """Queue opening the incident's ticket in Jira or ServiceNow (or every configured one);
    the link lands on the timeline once the service answers. A second ask is a 400."""
    body = await read_body(request, TicketBody)
    reply = await _run(request, c.RequestTicket(body.service))
    request.app[RUNTIME].wake_outbox()
    return reply


ROUTES: tuple[Route, ...] = (
    _command("/page", page_oncall, "pageOncall", "Page on-call", body=PageBody),
    _command("/tickets", open_ticket, "openTicket", "Open a ticket", body=TicketBody),
)
