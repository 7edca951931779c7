"""The outbox's port to Atlassian Statuspage (REST API v1): one page incident per incident.

``create`` opens the page's incident (name, status, body, affected components with their
status, impact) and records its id in sitrep at once (the timeline and the stored ref, as
ticket links are kept: ``bot.tickets.links``); ``update`` and ``resolve`` patch it. A create
whose id is already recorded (a retry after the answer was kept) patches instead of opening
a second incident. Statuspage throttles with 420 (and 429): both are retried after
``Retry-After`` (``integrations.outbound``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from bot.ports import DeliveryError, OutsideCall
from bot.statuspage.rules import CREATE, RESOLVE, STATUSPAGE, UPDATE
from bot.tickets.links import TicketLinks
from bot.tickets.refs import linked
from integrations.outbound import request_json


def incident_body(p: Mapping[str, Any], *, creates: bool) -> dict[str, Any]:
    """The ``incident`` object Statuspage takes, from a planned payload."""
    components = [str(c) for c in p.get("components") or []]
    body: dict[str, Any] = {"status": p["status"], "body": p["body"]}
    if components:
        body["component_ids"] = components
        body["components"] = {c: p["component_status"] for c in components}
    if creates:
        body["name"] = p["name"]
        body["impact_override"] = p["impact"]
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
        answer = await self._call("POST", self._page, incident_body(p, creates=True))
        ext = str(answer.get("id") or "")
        if not ext:
            raise DeliveryError("statuspage: the answer named no incident id", permanent=True)
        url = str(answer.get("shortlink") or "")
        await self._links.record(call.workspace, number, STATUSPAGE, key=ext, ext_id=ext, url=url)
        return {"id": ext, "url": url}

    async def _call(self, method: str, url: URL, body: Mapping[str, Any]) -> dict[str, Any]:
        return await request_json(
            self._session(),
            method,
            url,
            body,
            service=self.service,
            headers={"Authorization": self._auth},
            seconds=self._timeout,
        )
