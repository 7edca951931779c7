"""The incident page's "Page on-call" form and "Tickets" card (pure HTML, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.tickets.refs import LABELS, linked
from integrations.export.document import safe_url
from integrations.web.layout import csrf_field, esc, options

# Which of this card's forms a refusal belongs to (handlers.web's FormError keys).
PAGE_FORM = "page"
TICKET_FORM = "ticket"


@dataclass(frozen=True, slots=True)
class OutsideView:
    """What the cards show for one incident."""

    number: int
    csrf: str
    # (name, label) of every configured paging target, e.g. ("payments", "payments (PagerDuty)").
    targets: Sequence[tuple[str, str]]
    # Targets this incident paged so far, as the timeline names them.
    paged: Sequence[str]
    # Every configured ticket service, and its stored ref (None: no ticket asked for yet).
    tickets: Mapping[str, dict[str, Any] | None]
    is_open: bool
    can_act: bool
    # The refused form's key and the core's message, and what was picked in it.
    error_form: str = ""
    error: str = ""
    picked: str = ""


def outside_cards(view: OutsideView) -> str:
    """Both cards; each is empty when its services are not configured."""
    return _page_form(view) + _tickets(view)


def _error(view: OutsideView, key: str) -> str:
    if view.error_form != key or not view.error:
        return ""
    return f'<p class="error" id="{key}-error">{esc(view.error)}</p>'


def _page_form(view: OutsideView) -> str:
    if not view.targets or not view.can_act:
        return ""
    paged = ""
    if view.paged:
        paged = f'<p class="hint">Paged so far: {esc(", ".join(dict.fromkeys(view.paged)))}.</p>'
    if not view.is_open:
        # The core refuses to page a resolved incident; say so instead of offering it.
        return (
            f'<section id="form-{PAGE_FORM}" class="card no-print"><h3>Page on-call</h3>'
            f'{paged}<p class="muted">Reopen the incident to page anyone.</p></section>'
        )
    error = _error(view, PAGE_FORM)
    cls = "card has-error" if error else "card"
    described = f' aria-describedby="{PAGE_FORM}-error"' if error else ""
    picked = view.picked if view.error_form == PAGE_FORM else ""
    return f"""<form method="post" action="/incidents/{view.number}/page" id="form-{PAGE_FORM}"
 class="{cls} no-print"{described}>{csrf_field(view.csrf)}<h3>Page on-call</h3>{error}{paged}
<label for="p-target">Whom to page</label>
<select id="p-target" name="target" required>{options(view.targets, picked)}</select>
<button type="submit">Page on-call</button></form>"""


def _tickets(view: OutsideView) -> str:
    if not view.tickets:
        return ""
    rows = []
    for service, ref in view.tickets.items():
        label = LABELS.get(service, service)
        url = safe_url((ref or {}).get("url"))
        if linked(ref) and url:
            key = esc(str((ref or {}).get("key") or "ticket"))
            state = f'{esc(label)} <a href="{esc(url)}" rel="noopener noreferrer">{key}</a>'
        elif ref:
            state = f"{esc(label)}: being opened."
        elif view.can_act:
            state = (
                f'<form method="post" action="/incidents/{view.number}/tickets">'
                f"{csrf_field(view.csrf)}"
                f'<input type="hidden" name="service" value="{esc(service)}">'
                f'<button type="submit" class="secondary">Open {esc(label)}</button></form>'
            )
        else:
            state = f'{esc(label)}: <span class="muted">none yet.</span>'
        rows.append(f'<li data-service="{esc(service)}">{state}</li>')
    error = _error(view, TICKET_FORM)
    cls = "card has-error no-print" if error else "card no-print"
    return (
        f'<section id="form-{TICKET_FORM}" class="{cls}" aria-labelledby="tickets-h">'
        f'<h3 id="tickets-h">Tickets</h3>{error}<ul class="tickets">{"".join(rows)}</ul></section>'
    )
