"""The outbox's port to Atlassian Statuspage (REST API v1): one page incident per incident.

``create`` opens the page's incident (name, status, body, affected components with their
status, impact) and records its id in sitrep at once (the timeline and the stored ref, as
ticket links are kept: ``bot.tickets.links``); ``update`` and ``resolve`` patch it. A create
whose id is already recorded (a retry after the answer was kept) patches instead of opening
a second incident. Statuspage throttles with 420 (and 429): both are retried after
``Retry-After`` (``integrations.outbound``).

A create whose incident Statuspage made but whose answer sitrep never kept (the connection
dropped, the process died before recording) is found again: every incident sitrep opens
carries ``metadata: {"sitrep": {"key": "sitrep:<workspace>:INC-<n>"}}``, and a create whose
earlier attempt was sent (the create journal, ``bot.journal``, kept in the database so any
replica sees it) first pages through the page's unresolved incidents for that key, linking
the one it finds. A first create sends at once. The metadata, not the name: the name is the
incident's public title (two incidents may share one, and people rename incidents in
Statuspage), while metadata is never shown on the page and is ours alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import aiohttp
from yarl import URL

from bot.journal import sent_at
from bot.ports import DeliveryError, OutsideCall
from bot.statuspage.rules import CREATE, RESOLVE, STATUSPAGE, UPDATE
from bot.tickets.links import TicketLinks
from bot.tickets.refs import linked
from integrations.outbound import journaled_create, request_json, request_json_any

# Unresolved incidents read when looking for a lost create: pages of ``_PER_PAGE``, at most
# ``_MAX_PAGES`` (a thousand open incidents is not a page people read).
_PER_PAGE = 100
_MAX_PAGES = 10


def marker(workspace: str, number: int) -> str:
    """The key sitrep leaves in a page incident's metadata to find it again."""
    return f"sitrep:{workspace}:INC-{number}"


def marked(incident: Any) -> str:
    """The sitrep key in a page incident's metadata, or ``""``."""
    meta = incident.get("metadata") if isinstance(incident, dict) else None
    ours = meta.get("sitrep") if isinstance(meta, dict) else None
    return str(ours.get("key") or "") if isinstance(ours, dict) else ""


def incident_body(p: Mapping[str, Any], *, creates: bool, key: str | None = None) -> dict[str, Any]:
    """The ``incident`` object Statuspage takes, from a planned payload (``key``: the create's
    metadata marker)."""
    components = [str(c) for c in p.get("components") or []]
    body: dict[str, Any] = {"status": p["status"], "body": p["body"]}
    if components:
        body["component_ids"] = components
        body["components"] = {c: p["component_status"] for c in components}
    if creates:
        body["name"] = p["name"]
        body["impact_override"] = p["impact"]
    if key:
        # Top-level metadata values must be objects (Statuspage's rule).
        body["metadata"] = {"sitrep": {"key": key}}
    return {"incident": body}


class StatuspageIncidents:
    """``ServicePort`` of the status page."""

    service = STATUSPAGE

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        links: TicketLinks,
        *,
        api_key: str,
        page_id: str,
        base_url: str = "https://api.statuspage.io/v1",
        timeout: float = 10.0,
    ) -> None:
        self._session = session
        self._links = links
        self._auth = f"OAuth {api_key}"
        self._page = URL(base_url.rstrip("/")) / "pages" / page_id / "incidents"
        self._timeout = timeout

    async def deliver(self, call: OutsideCall) -> dict[str, Any]:
        """Make the call ``call.action`` names; the page incident's id is the result."""
        if call.action not in (CREATE, UPDATE, RESOLVE):
            raise DeliveryError(f"statuspage: unknown action {call.action!r}", permanent=True)
        p = call.payload
        number = int(p["number"])
        stored = await self._links.find(call.workspace, number, STATUSPAGE)
        if linked(stored):
            assert stored is not None
            ext = str(stored["id"])
            await self._call("PATCH", self._page / ext, incident_body(p, creates=False))
            return {"id": ext}
        if call.action != CREATE:
            # The create is ahead on this lane; it has not been answered yet.
            raise DeliveryError("statuspage: the page incident is not created yet")
        key = marker(call.workspace, number)
        answer = await self._find(key) if sent_at(stored) is not None else None
        if answer is None:
            answer = await journaled_create(
                partial(self._links.sending, call.workspace, number, STATUSPAGE),
                partial(self._links.unsent, call.workspace, number, STATUSPAGE),
                partial(self._call, "POST", self._page, incident_body(p, creates=True, key=key)),
            )
        ext = str(answer.get("id") or "")
        if not ext:
            raise DeliveryError("statuspage: the answer named no incident id", permanent=True)
        url = str(answer.get("shortlink") or "")
        await self._links.record(call.workspace, number, STATUSPAGE, key=ext, ext_id=ext, url=url)
        return {"id": ext, "url": url}

    async def _find(self, key: str) -> dict[str, Any] | None:
        """The page's unresolved incident marked ``key`` (left by an unanswered create)."""
        # Unresolved only: what a create left behind moments ago (newest first).
        for page in range(1, _MAX_PAGES + 1):
            url = (self._page / "unresolved").with_query(per_page=str(_PER_PAGE), page=str(page))
            rows = await request_json_any(
                self._session(),
                "GET",
                url,
                service=self.service,
                headers={"Authorization": self._auth},
                seconds=self._timeout,
            )
            rows = rows if isinstance(rows, list) else []
            found = next((dict(i) for i in rows if isinstance(i, dict) and marked(i) == key), None)
            if found is not None or len(rows) < _PER_PAGE:
                return found
        return None

    async def _call(
        self, method: str, url: URL, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        return await request_json(
            self._session(),
            method,
            url,
            body,
            service=self.service,
            headers={"Authorization": self._auth},
            seconds=self._timeout,
        )
