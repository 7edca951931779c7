"""The outbox's port to ServiceNow's Table API: an ``incident`` record per sitrep incident.

``create`` looks for a record with the incident's ``correlation_id`` first (a create retried
after ServiceNow answered but before sitrep stored the answer finds it instead of opening a
second one), else ``POST /api/now/table/incident``; the ``sys_id`` and number are recorded in
sitrep at once. ``update`` patches state, urgency/impact and the short description; resolving
sets state 6 with ``close_code`` and ``close_notes``, closing state 7.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from bot.ports import DeliveryError, OutsideCall
from bot.tickets.links import TicketLinks
from bot.tickets.refs import CREATE, SERVICENOW, UPDATE, linked
from integrations.jira.adf import clean, one_line
from integrations.outbound import request_json

# sitrep status → ServiceNow incident state (1 New, 2 In Progress, 6 Resolved, 7 Closed).
STATES = {
    "investigating": "2",
    "identified": "2",
    "monitoring": "2",
    "resolved": "6",
    "closed": "7",
}
# Severity rank → (urgency, impact); ServiceNow derives the priority from the pair.
_URGENCY_IMPACT = {1: ("1", "1"), 2: ("1", "2"), 3: ("2", "2")}


def urgency_impact(rank: int) -> tuple[str, str]:
    """ServiceNow's urgency and impact (1 high … 3 low) for a severity rank."""
    return _URGENCY_IMPACT.get(rank, ("3", "3"))


@dataclass(frozen=True, slots=True)
class ServiceNowConfig:
    """What the port needs from the settings (credentials stay in ``authorization``)."""

    base_url: str
    authorization: str
    close_code: str = "Solution provided"
    assignment_group: str = ""


class ServiceNowTickets:
    """The ``ServicePort`` of ServiceNow."""

    service = SERVICENOW

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        links: TicketLinks,
        config: ServiceNowConfig,
        *,
        timeout: float = 10.0,
    ) -> None:
        self._session = session
        self._links = links
        self._config = config
        self._table = URL(config.base_url.rstrip("/") + "/api/now/table/incident")
        self._timeout = timeout

    async def deliver(self, call: OutsideCall) -> dict[str, Any]:
        """Make the call ``call.action`` names; the record's ids are the delivery's result."""
        if call.action == CREATE:
            return await self._create(call.workspace, call.payload)
        if call.action == UPDATE:
            return await self._update(call.workspace, call.payload)
        raise DeliveryError(f"servicenow: unknown action {call.action!r}", permanent=True)

    async def _call(
        self, method: str, url: URL, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        return await request_json(
            self._session(),
            method,
            url,
            body,
            service=self.service,
            headers={"Authorization": self._config.authorization},
            seconds=self._timeout,
        )

    def _link(self, sys_id: str) -> str:
        return f"{self._config.base_url.rstrip('/')}/nav_to.do?uri=incident.do%3Fsys_id%3D{sys_id}"

    async def _create(self, workspace: str, p: Mapping[str, Any]) -> dict[str, Any]:
        number = int(p["number"])
        ref = await self._links.find(workspace, number, SERVICENOW)
        if linked(ref):
            assert ref is not None
            return {"sys_id": ref["id"], "number": ref.get("key")}
        found = await self._call(
            "GET",
            self._table.with_query(
                sysparm_query=f"correlation_id={p['dedup_key']}",
                sysparm_fields="sys_id,number",
                sysparm_limit="1",
            ),
        )
        rows = found.get("result") or []
        if rows and isinstance(rows, list) and isinstance(rows[0], dict):
            record = rows[0]
        else:
            urgency, impact = urgency_impact(int(p.get("rank") or 0))
            body: dict[str, Any] = {
                "short_description": one_line(
                    f"{p['incident']} {p['severity']}: {p['title']}", 160
                ),
                "description": clean(
                    "\n\n".join(
                        x
                        for x in (
                            str(p.get("summary") or ""),
                            f"Worked in sitrep: {p.get('url') or p['incident']}",
                        )
                        if x
                    )
                ),
                "urgency": urgency,
                "impact": impact,
                "correlation_id": p["dedup_key"],
                "correlation_display": "sitrep",
                **self._state_fields(p),
            }
            if self._config.assignment_group:
                body["assignment_group"] = self._config.assignment_group
            answer = await self._call("POST", self._table, body)
            record = answer.get("result") or {}
        sys_id, ticket = str(record.get("sys_id") or ""), str(record.get("number") or "")
        if not sys_id:
            raise DeliveryError("servicenow: the answer had no sys_id", permanent=True)
        await self._links.record(
            workspace,
            number,
            SERVICENOW,
            key=ticket or sys_id,
            ext_id=sys_id,
            url=self._link(sys_id),
        )
        return {"sys_id": sys_id, "number": ticket}

    async def _update(self, workspace: str, p: Mapping[str, Any]) -> dict[str, Any]:
        ref = await self._links.find(workspace, int(p["number"]), SERVICENOW)
        if not linked(ref):
            raise DeliveryError(f"servicenow: {p['incident']} has no record yet")
        assert ref is not None
        sys_id = str(ref["id"])
        changes = set(p.get("changes") or ())
        body: dict[str, Any] = {}
        if "severity" in changes:
            body["urgency"], body["impact"] = urgency_impact(int(p.get("rank") or 0))
        if changes & {"severity", "title"}:
            body["short_description"] = one_line(
                f"{p['incident']} {p['severity']}: {p['title']}", 160
            )
        if "status" in changes:
            body |= self._state_fields(p)
        if body:
            await self._call("PATCH", self._table / sys_id, body)
        return {"sys_id": sys_id, "changes": sorted(changes)}

    def _state_fields(self, p: Mapping[str, Any]) -> dict[str, Any]:
        status = str(p.get("status") or "investigating")
        fields: dict[str, Any] = {"state": STATES.get(status, "2")}
        if status in ("resolved", "closed"):
            said = str(p.get("resolution") or "")
            fields["close_code"] = self._config.close_code
            fields["close_notes"] = clean(said) or f"{p['incident']} resolved in sitrep."
        return fields
