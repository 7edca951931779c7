"""``sitrep incident page INC-1 TARGET`` and ``sitrep incident ticket INC-1 [jira|servicenow]``.

The CLI only queues, as chat does: the core's ``Page`` and ``RequestTicket`` write the page or
the ticket's create to the outbox in the command's transaction, and the server's worker
delivers it. A refusal (unknown target, nothing configured, a ticket already there) prints
the core's message, naming the configured targets, and exits 2 with nothing written.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bot.domain import commands as c
from bot.domain.errors import DomainError
from bot.paging.targets import paging_targets
from bot.runtime import Runtime
from bot.service import Outcome, parse_ref
from bot.tickets.planner import ticket_planners
from bot.tickets.refs import ALIASES
from handlers.clikit import actor, fail, out, run, settings


def _number(ref: str) -> int:
    try:
        return parse_ref(ref)
    except DomainError as exc:
        fail(str(exc))


def _execute(ref: str, cmd: c.Command, after: str) -> None:
    n = _number(ref)

    async def go(rt: Runtime) -> Outcome:
        return await rt.service.execute(rt.settings.workspace, n, cmd, actor())

    outcome = run(go)
    for ev in outcome.events:
        out.print(f"{outcome.incident.ref}: {ev.text}", markup=False, highlight=False)
    out.print(f"{outcome.incident.ref}: {after}", markup=False, highlight=False)


def incident_page(
    ref: Annotated[str, typer.Argument(help="The incident: INC-42 or 42.")],
    target: Annotated[
        str | None,
        typer.Argument(
            help="A configured paging target (a PagerDuty service or Opsgenie team);"
            " leave it out to list them.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Page on-call for an incident through a configured PagerDuty or Opsgenie target."""
    if target is None or not target.strip():
        s = settings()
        known = paging_targets(s.pagerduty_routing_keys, s.opsgenie_targets).names()
        configured = ", ".join(known) if known else "none: paging is not configured"
        fail(f"page whom? Name a target; configured: {configured}")
    _execute(ref, c.Page(target), "the page is queued; the server's outbox sends it")


def incident_ticket(
    ref: Annotated[str, typer.Argument(help="The incident: INC-42 or 42.")],
    service: Annotated[
        str | None,
        typer.Argument(
            help="jira or servicenow; leave it out to open one in every configured service.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Open a ticket for an incident in Jira or ServiceNow."""
    asked = (service or "").strip().lower()
    if asked and asked not in ALIASES:
        known = ", ".join(p.service for p in ticket_planners(settings())) or "none is configured"
        fail(f"open a ticket where? Use jira or servicenow (configured: {known})")
    _execute(
        ref,
        c.RequestTicket(ALIASES[asked] if asked else None),
        "the ticket is queued; its link lands on the timeline once the service opened it",
    )
