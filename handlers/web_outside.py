"""Paging on-call and opening tickets from the incident page.

``POST /incidents/{number}/page`` (``target``) and ``POST /incidents/{number}/tickets``
(``service``: jira, servicenow, or empty for every configured one) need a responder and the
form's CSRF token (the ``handlers.web`` guard); they run the core's ``Page`` and
``RequestTicket``, whose planners queue the page or the ticket in the outbox, then 303 back.
A refusal re-renders the incident page with the core's message at the form. The cards
themselves are added to the incident page through ``handlers.web.INCIDENT_CARDS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.errors import InvalidCommand
from bot.domain.model import EventKind
from bot.paging.targets import OPSGENIE, PAGERDUTY, PageTarget
from bot.repository import Repo
from bot.security.access import Access
from bot.service import IncidentDetail
from bot.tickets.planner import ticket_planners
from bot.tickets.refs import ALIASES, ticket_key
from handlers.web import INCIDENT_CARDS, _act, _page, _runtime, _viewer
from integrations.web import session as sess
from integrations.web.incident import FormError
from integrations.web.outside import PAGE_FORM, TICKET_FORM, OutsideView, outside_cards


def register(app: web.Application) -> None:
    """Mount the two forms and add their cards to the incident page."""
    app.router.add_post("/incidents/{number}/page", _page(page, Access.RESPONDER))
    app.router.add_post("/incidents/{number}/tickets", _page(ticket, Access.RESPONDER))
    app[INCIDENT_CARDS].append(card)


def page_targets(settings: Settings) -> list[PageTarget]:
    """The configured paging targets, by name (as ``bot.runtime`` gives them to the planner)."""
    targets = [PageTarget(name, PAGERDUTY) for name in settings.pagerduty_routing_keys]
    targets += [PageTarget(name, OPSGENIE) for name in settings.opsgenie_targets]
    return sorted(targets, key=lambda t: t.name.lower())


def ticket_services(settings: Settings) -> list[str]:
    """The configured ticket services, in the planners' order."""
    return [p.service for p in ticket_planners(settings)]


async def card(
    request: web.Request,
    session: sess.Session,
    detail: IncidentDetail,
    error: FormError | None,
    values: Mapping[str, str],
) -> str:
    """The Page on-call form and the Tickets card (empty when neither is configured)."""
    runtime = _runtime(request)
    settings = runtime.settings
    targets = page_targets(settings)
    services = ticket_services(settings)
    if not targets and not services:
        return ""
    incident = detail.incident
    ws, incident_id = settings.workspace, incident.id
    assert incident_id is not None

    def refs(repo: Repo) -> dict[str, dict[str, Any] | None]:
        return {s: repo.get_chat_ref(ws, s, ticket_key(incident_id)) for s in services}

    tickets = await runtime.service.read(refs) if services else {}
    paged = [str(e.data.get("target", "")) for e in detail.timeline if e.kind is EventKind.PAGED]
    view = OutsideView(
        number=incident.number,
        csrf=_viewer(request, session).csrf,
        targets=[(t.name, t.label) for t in targets],
        paged=[p for p in paged if p],
        tickets=tickets,
        is_open=incident.is_open,
        can_act=session.role >= Access.RESPONDER,
        error_form=error.form if error is not None else "",
        error=error.message if error is not None else "",
        picked=values.get("target", ""),
    )
    return outside_cards(view)


def _page_command(values: Mapping[str, str]) -> c.Command:
    return c.Page(values.get("target", ""))


def _ticket_command(values: Mapping[str, str]) -> c.Command:
    asked = values.get("service", "").lower()
    if asked and asked not in ALIASES:
        raise InvalidCommand("Open a ticket where? Pick jira or servicenow.")
    return c.RequestTicket(ALIASES[asked] if asked else None)


async def page(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/page (target)"""
    return await _act(request, session, PAGE_FORM, _page_command, anchor=f"#form-{PAGE_FORM}")


async def ticket(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/tickets (service)"""
    return await _act(request, session, TICKET_FORM, _ticket_command, anchor=f"#form-{TICKET_FORM}")
