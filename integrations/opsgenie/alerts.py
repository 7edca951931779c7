"""Opsgenie Alert API: create and close the alert of a sitrep page.

``POST {SITREP_OPSGENIE_API_URL}/v2/alerts`` with ``Authorization: GenieKey <key>`` creates
the alert (alias = the page's dedup key, so a retry or a second page while it is open is
deduplicated by Opsgenie; responders from ``SITREP_OPSGENIE_TARGETS``);
``POST /v2/alerts/<alias>/close?identifierType=alias`` closes it. Opsgenie answers 202 with a
``requestId`` (processing is asynchronous), 401 for a missing or wrong key, 422 for an
invalid request, 429 when rate limited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from bot.paging.targets import OPSGENIE, RESOLVE, TRIGGER
from bot.ports import DeliveryError, OutsideCall
from integrations.outbound import post_json

# Opsgenie truncates nothing itself: a longer message is refused.
MAX_MESSAGE = 130


def priority(rank: int) -> str:
    """Opsgenie's priority for a sitrep severity rank (SEV1 → P1 … P5)."""
    return f"P{min(max(rank, 1), 5)}" if rank else "P3"


def create_body(call: OutsideCall, responders: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The create-alert request of a page."""
    p = call.payload
    summary = str(p.get("summary") or p["dedup_key"])
    details = {k: str(p[k]) for k in ("incident", "severity", "status", "url") if p.get(k)}
    return {
        "message": summary[:MAX_MESSAGE],
        "alias": p["dedup_key"],
        "description": summary + (f"\n\n{p['url']}" if p.get("url") else ""),
        "responders": [dict(r) for r in responders],
        "priority": priority(int(p.get("rank") or 0)),
        "source": str(p.get("source") or "sitrep"),
        "entity": str(p.get("incident") or ""),
        "tags": ["sitrep"] + ([str(p["severity"])] if p.get("severity") else []),
        "details": details,
    }


class OpsgenieAlerts:
    """The outbox's port to the Alert API."""

    service = OPSGENIE

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        api_key: str,
        responders: Mapping[str, Sequence[Mapping[str, str]]],
        *,
        base_url: str = "https://api.opsgenie.com",
        timeout: float = 10.0,
    ) -> None:
        self._session = session
        self._key = api_key
        self._responders = {name.lower(): list(r) for name, r in responders.items()}
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    async def deliver(self, call: OutsideCall) -> dict[str, Any]:
        """Create or close the alert; Opsgenie's ``requestId`` is the delivery's result."""
        target = str(call.payload.get("target", ""))
        responders = self._responders.get(target.lower())
        if responders is None:
            raise DeliveryError(f"opsgenie: no responders for {target!r}", permanent=True)
        if call.action == TRIGGER:
            url = URL(f"{self._base}/v2/alerts", encoded=True)
            body = create_body(call, responders)
        elif call.action == RESOLVE:
            alias = quote(call.payload["dedup_key"], safe="")
            url = URL(f"{self._base}/v2/alerts/{alias}/close?identifierType=alias", encoded=True)
            body = {"source": "sitrep", "note": f"{call.payload.get('incident', '')} resolved"}
        else:
            raise DeliveryError(f"opsgenie: unknown action {call.action!r}", permanent=True)
        answer = await post_json(
            self._session(),
            url,
            body,
            service=self.service,
            headers={"Authorization": f"GenieKey {self._key}"},
            seconds=self._timeout,
        )
        return {"request_id": answer.get("requestId"), "result": answer.get("result")}
