"""PagerDuty Events API v2: ``trigger`` and ``resolve`` events for sitrep's pages.

``POST {SITREP_PAGERDUTY_EVENTS_URL}/v2/enqueue`` with the target's integration (routing)
key, which only this port knows: outbox payloads name the target, never the key. The dedup
key is the page's (``bot.paging.targets.dedup_key``), so a retried trigger reaches the same
PagerDuty incident and the resolve closes it. PagerDuty answers 202 with the dedup key, 400
(``invalid event``) for a malformed event, 429 when the integration key is rate limited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from bot.paging.targets import PAGERDUTY, RESOLVE, TRIGGER
from bot.ports import DeliveryError, OutsideCall
from integrations.outbound import post_json

# sitrep severity rank → PagerDuty's four severities.
_SEVERITY = {1: "critical", 2: "error", 3: "warning"}


def severity(rank: int) -> str:
    """PagerDuty's severity for a sitrep severity rank (SEV1 critical … SEV4+ info)."""
    return _SEVERITY.get(rank, "info")


def event(call: OutsideCall, routing_key: str) -> dict[str, Any]:
    """The Events v2 body for a page's trigger or resolve."""
    p = call.payload
    base = {"routing_key": routing_key, "dedup_key": p["dedup_key"]}
    if call.action == RESOLVE:
        return base | {"event_action": "resolve"}
    if call.action != TRIGGER:
        raise DeliveryError(f"pagerduty: unknown action {call.action!r}", permanent=True)
    body: dict[str, Any] = base | {
        "event_action": "trigger",
        "payload": {
            "summary": str(p.get("summary") or p["dedup_key"])[:1024],
            "source": str(p.get("source") or "sitrep"),
            "severity": severity(int(p.get("rank") or 0)),
            "component": str(p.get("incident") or ""),
            "custom_details": {
                "incident": p.get("incident"),
                "severity": p.get("severity"),
                "status": p.get("status"),
            },
        },
        "client": "sitrep",
    }
    if p.get("url"):
        body["client_url"] = p["url"]
        body["links"] = [{"href": p["url"], "text": f"{p.get('incident', 'Incident')} in sitrep"}]
    return body


class PagerDutyEvents:
    """The outbox's port to the Events API v2."""

    service = PAGERDUTY

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        routing_keys: Mapping[str, str],
        *,
        base_url: str = "https://events.pagerduty.com",
        timeout: float = 10.0,
    ) -> None:
        self._session = session
        self._keys = {name.lower(): key for name, key in routing_keys.items()}
        self._url = URL(base_url.rstrip("/") + "/v2/enqueue")
        self._timeout = timeout

    async def deliver(self, call: OutsideCall) -> dict[str, Any]:
        """Send the event; PagerDuty's answer (status, dedup key) is the delivery's result."""
        target = str(call.payload.get("target", ""))
        key = self._keys.get(target.lower())
        if not key:
            raise DeliveryError(f"pagerduty: no integration key for {target!r}", permanent=True)
        answer = await post_json(
            self._session(),
            self._url,
            event(call, key),
            service=self.service,
            seconds=self._timeout,
        )
        return {
            "status": answer.get("status"),
            "dedup_key": answer.get("dedup_key"),
            "message": answer.get("message"),
        }
