"""A stateful fake of PagerDuty's Events API v2 (``POST /v2/enqueue``) over real HTTP.

It enforces what PagerDuty enforces: a known ``routing_key`` (an integration key of one of
the fake's services), ``event_action`` of trigger / acknowledge / resolve, and for a trigger
``payload.summary``, ``payload.source`` and ``payload.severity`` (critical, error, warning,
info); a refusal is 400 with PagerDuty's shape (``status: invalid event``, ``message``,
``errors``). A good event is 202 ``{"status": "success", "message": "Event processed",
"dedup_key": ...}``. Incidents are deduplicated by (integration key, dedup key) as PagerDuty
does: a trigger while the incident is open adds an alert, not a page; after resolve it opens
a new incident. ``rate_limit_next`` answers 429 (PagerDuty sends no ``Retry-After`` unless
told), ``fail_next`` a 5xx. ``webhook`` builds the v3 webhook PagerDuty would send.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.loopback import BodyProblem, LoopbackService, ScriptedFaults

SEVERITIES = frozenset({"critical", "error", "warning", "info"})
ACTIONS = frozenset({"trigger", "acknowledge", "resolve"})


@dataclass
class PdIncident:
    """One PagerDuty incident opened by events."""

    id: str
    service: str
    dedup_key: str
    summary: str
    severity: str
    status: str = "triggered"  # triggered, acknowledged, resolved
    alerts: int = 1
    events: list[dict[str, Any]] = field(default_factory=list)


class FakePagerDutyEvents(ScriptedFaults, LoopbackService):
    """Events API v2 with services named by their integration keys."""

    default_retry_after = None  # PagerDuty sends none unless told

    def __init__(self, services: dict[str, str] | None = None) -> None:
        super().__init__()
        self.services = dict(services or {})  # integration key → service name
        self.incidents: list[PdIncident] = []
        self.received: list[dict[str, Any]] = []  # every request body, accepted or not
        self.delay = 0.0  # seconds every answer takes (a slow PagerDuty)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/enqueue", self._enqueue)

    # -- reading state ------------------------------------------------------------------------

    def open_incidents(self, service: str | None = None) -> list[PdIncident]:
        """Incidents not resolved, of one service or all."""
        return [
            i
            for i in self.incidents
            if i.status != "resolved" and (service is None or i.service == service)
        ]

    def incident(self, dedup_key: str) -> PdIncident | None:
        """The latest incident with this dedup key."""
        found = [i for i in self.incidents if i.dedup_key == dedup_key]
        return found[-1] if found else None

    # -- the webhook PagerDuty would send ----------------------------------------------------

    def webhook(
        self, dedup_key: str, event_type: str, *, agent: str = "Dana Oncall"
    ) -> dict[str, Any]:
        """A v3 webhook body about the incident of ``dedup_key`` (acknowledging it first when
        ``event_type`` is ``incident.acknowledged``)."""
        inc = self.incident(dedup_key)
        assert inc is not None, f"no incident for {dedup_key}"
        if event_type == "incident.acknowledged":
            inc.status = "acknowledged"
        now = datetime.now(UTC).isoformat()
        return {
            "event": {
                "id": f"01{uuid.uuid4().hex[:24].upper()}",
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": now,
                "agent": {
                    "id": "PAGENT1",
                    "type": "user_reference",
                    "summary": agent,
                    "html_url": "https://fake.pagerduty.com/users/PAGENT1",
                },
                "client": None,
                "data": {
                    "id": inc.id,
                    "type": "incident",
                    "number": self.incidents.index(inc) + 1,
                    "status": inc.status,
                    "title": inc.summary,
                    "html_url": f"https://fake.pagerduty.com/incidents/{inc.id}",
                    "incident_key": inc.dedup_key,
                    "created_at": now,
                    "urgency": "high",
                    "service": {"id": "PSVC1", "type": "service_reference", "summary": inc.service},
                    "assignees": [{"id": "PAGENT1", "summary": agent, "type": "user_reference"}],
                },
            }
        }

    @staticmethod
    def sign(body: bytes, secret: str) -> dict[str, str]:
        """The headers PagerDuty signs a webhook delivery with."""
        sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {
            "X-PagerDuty-Signature": f"v1={sig}",
            "X-Webhook-Id": str(uuid.uuid4()),
            "Content-Type": "application/json",
        }

    # -- the API ------------------------------------------------------------------------------

    async def gate(self, request: web.Request) -> web.Response | None:
        """The body must be JSON (400 first of all); then the scripted 5xx and 429. The
        ``routing_key`` in the body is the only credential, checked with the event."""
        if self.delay:
            await asyncio.sleep(self.delay)
        body = await self.json_value(request)
        self.received.append(body if isinstance(body, dict) else {"_": body})
        if (status := self.take_failure()) is not None:
            return web.json_response({"status": "error"}, status=status)
        if (headers := self.take_throttle()) is not None:
            return web.json_response(
                {
                    "status": "throttle event",
                    "message": "Requests for this service are arriving"
                    " too quickly. Please retry later.",
                },
                status=429,
                headers=headers,
            )
        return None

    def body_refusal(self, problem: BodyProblem) -> web.Response:
        """PagerDuty's 400 ``invalid event`` for a body it cannot read."""
        if problem is BodyProblem.NOT_JSON:
            return _invalid(["Event object is not valid JSON"])
        return _invalid(["Event object is invalid"])

    async def _enqueue(self, request: web.Request) -> web.Response:
        body = await self.json_body(request)
        errors = _errors(body)
        key = str(body.get("routing_key") or "")
        if not errors and key not in self.services:
            errors = ["Invalid routing key"]
        if errors:
            return _invalid(errors)
        dedup = body.get("dedup_key") or uuid.uuid4().hex
        self._apply(self.services[key], body["event_action"], dedup, body)
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": dedup}, status=202
        )

    def _apply(self, service: str, action: str, dedup: str, body: dict[str, Any]) -> None:
        current = next(
            (
                i
                for i in reversed(self.incidents)
                if i.service == service and i.dedup_key == dedup and i.status != "resolved"
            ),
            None,
        )
        if action == "trigger":
            if current is not None:
                current.alerts += 1
                current.events.append(body)
                return
            payload = body["payload"]
            inc = PdIncident(
                id=f"Q{len(self.incidents) + 1:06d}",
                service=service,
                dedup_key=dedup,
                summary=payload["summary"],
                severity=payload["severity"],
                events=[body],
            )
            self.incidents.append(inc)
        elif current is not None:  # acknowledge or resolve; of nothing open, a no-op
            current.status = "acknowledged" if action == "acknowledge" else "resolved"
            current.events.append(body)


def _errors(body: dict[str, Any]) -> list[str]:
    errors = []
    if not str(body.get("routing_key") or "").strip():
        errors.append("'routing_key' is missing or blank")
    action = body.get("event_action")
    if action not in ACTIONS:
        errors.append(
            "'event_action' is missing or blank"
            if not action
            else "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)"
        )
    if action == "trigger":
        payload = body.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or blank")
        else:
            for name in ("summary", "source", "severity"):
                if not str(payload.get(name) or "").strip():
                    errors.append(f"'payload.{name}' is missing or blank")
            if payload.get("severity") and payload["severity"] not in SEVERITIES:
                errors.append(
                    "'payload.severity' is invalid (must be one of: critical, error, warning, info)"
                )
            if len(str(payload.get("summary") or "")) > 1024:
                errors.append("'payload.summary' is too long (max 1024 characters)")
    elif action in ("acknowledge", "resolve") and not str(body.get("dedup_key") or "").strip():
        errors.append("'dedup_key' is missing or blank")
    if len(str(body.get("dedup_key") or "")) > 255:
        errors.append("'dedup_key' is too long (max 255 characters)")
    return errors


def _invalid(errors: list[str]) -> web.Response:
    return web.json_response(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
        status=400,
    )
