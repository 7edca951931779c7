"""A stateful fake of Opsgenie's Alert API over real HTTP.

``POST /v2/alerts`` (create) and ``POST /v2/alerts/{identifier}/close`` with
``identifierType`` id, alias or tiny. Like Opsgenie: without ``Authorization: GenieKey <key>``
(or with another key) 401; a body without ``message``, a message over 130 characters or a
malformed responder is 422 with ``errors``; a good request is 202 with ``result``, ``took`` and
``requestId`` and is applied. An alias with an open alert is deduplicated (its ``count``
grows, nobody is notified again); closing an unknown alert is accepted (Opsgenie processes
requests asynchronously). ``rate_limit_next`` answers 429, ``fail_next`` a 5xx. ``webhook``
builds the outgoing-webhook body Opsgenie would send about an alert.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import Answer, BodyProblem, LoopbackService, ScriptedFaults

MAX_MESSAGE = 130
RESPONDER_TYPES = frozenset({"team", "user", "escalation", "schedule"})


@dataclass
class OgAlert:
    """One Opsgenie alert."""

    id: str
    tiny_id: str
    alias: str
    message: str
    priority: str
    responders: list[dict[str, Any]]
    status: str = "open"  # open, closed
    acknowledged: bool = False
    count: int = 1
    body: dict[str, Any] = field(default_factory=dict)


class FakeOpsgenie(ScriptedFaults, LoopbackService):
    """The Alert API for one API integration key."""

    default_retry_after = None  # Opsgenie sends none unless told
    empty_body = b"{}"

    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.alerts: list[OgAlert] = []
        self.requests: list[tuple[str, dict[str, str], Any]] = []  # (path, headers, body)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/alerts", self._create)
        app.router.add_post("/v2/alerts/{identifier}/close", self._close)

    # -- reading state ------------------------------------------------------------------------

    def open_alerts(self) -> list[OgAlert]:
        """Alerts not closed."""
        return [a for a in self.alerts if a.status == "open"]

    def alert(self, alias: str) -> OgAlert | None:
        """The latest alert with this alias."""
        found = [a for a in self.alerts if a.alias == alias]
        return found[-1] if found else None

    def webhook(
        self, alias: str, action: str, *, username: str = "lee@example.com"
    ) -> dict[str, Any]:
        """The outgoing-webhook body about the alert of ``alias`` (acknowledging it first when
        ``action`` is ``Acknowledge``)."""
        found = self.alert(alias)
        assert found is not None, f"no alert {alias}"
        if action == "Acknowledge":
            found.acknowledged = True
        now_ms = int(time.time() * 1000)
        return {
            "action": action,
            "integrationName": "sitrep",
            "integrationId": "4ff8f-integration",
            "source": {"name": "", "type": "web"},
            "alert": {
                "alertId": found.id,
                "tinyId": found.tiny_id,
                "alias": found.alias,
                "message": found.message,
                "priority": found.priority,
                "tags": ["sitrep"],
                "details": {},
                "entity": "",
                "source": "sitrep",
                "responders": found.responders,
                "createdAt": now_ms,
                "updatedAt": now_ms * 1_000_000,
                "username": username,
                "userId": "u-1",
            },
        }

    # -- the API ------------------------------------------------------------------------------

    async def gate(self, request: web.Request) -> web.Response | None:
        """Faults, then ``GenieKey`` else 401, then throttling: Opsgenie's order. The body
        is recorded as sent; the routes refuse one that is not an object."""
        try:
            body = await self.json_value(request)
        except Answer:
            body = None  # kept as unreadable; the route refuses it after the faults and the key
        self.requests.append((request.path_qs, dict(request.headers), body))
        if (status := self.take_failure()) is not None:
            return web.json_response({"message": "Service unavailable"}, status=status)
        if request.headers.get("Authorization", "") != f"GenieKey {self.api_key}":
            return _answer(401, message="Could not authenticate")
        if (headers := self.take_throttle()) is not None:
            resp = _answer(429, message="You are making too many requests!")
            resp.headers.update(headers)
            return resp
        return None

    def body_refusal(self, problem: BodyProblem) -> web.Response:
        """Opsgenie's 422 for a body it cannot read."""
        return _answer(422, message="Request body is not processable.")

    async def _create(self, request: web.Request) -> web.Response:
        body = await self.json_body(request)
        errors: dict[str, str] = {}
        message = str(body.get("message") or "").strip()
        if not message:
            errors["message"] = "Message can not be empty."
        elif len(message) > MAX_MESSAGE:
            errors["message"] = f"Message can not be longer than {MAX_MESSAGE} characters."
        if len(str(body.get("alias") or "")) > 512:
            errors["alias"] = "Alias can not be longer than 512 characters."
        responders = body.get("responders") or []
        for i, r in enumerate(responders if isinstance(responders, list) else [None]):
            if (
                not isinstance(r, dict)
                or r.get("type") not in RESPONDER_TYPES
                or not (r.get("id") or r.get("name") or r.get("username"))
            ):
                errors[f"responders[{i}]"] = "Responder is not valid."
        if body.get("priority", "P3") not in {"P1", "P2", "P3", "P4", "P5"}:
            errors["priority"] = "Priority should be one of [P1, P2, P3, P4, P5]."
        if errors:
            return _answer(
                422,
                message="Request body is not processable. Please check the errors.",
                errors=errors,
            )
        alias = str(body.get("alias") or uuid.uuid4().hex)
        current = next((a for a in self.open_alerts() if a.alias == alias), None)
        if current is not None:
            current.count += 1
        else:
            self.alerts.append(
                OgAlert(
                    id=str(uuid.uuid4()),
                    tiny_id=str(len(self.alerts) + 1),
                    alias=alias,
                    message=message,
                    priority=body.get("priority", "P3"),
                    responders=list(responders),
                    body=body,
                )
            )
        return _answer(202, result="Request will be processed")

    async def _close(self, request: web.Request) -> web.Response:
        await self.json_body(request)  # Opsgenie refuses a body that is not an object
        kind = request.query.get("identifierType", "id")
        if kind not in ("id", "alias", "tiny"):
            return _answer(422, message="identifierType should be one of [id, alias, tiny]")
        ident = request.match_info["identifier"]
        for a in self.open_alerts():
            if {"id": a.id, "alias": a.alias, "tiny": a.tiny_id}[kind] == ident:
                a.status = "closed"
        return _answer(202, result="Request will be processed")


def _answer(status: int, **fields: Any) -> web.Response:
    body = {**fields, "took": 0.01, "requestId": str(uuid.uuid4())}
    return web.json_response(body, status=status)
