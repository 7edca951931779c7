"""A stateful fake of ServiceNow's Table API for the ``incident`` table over real HTTP.

It enforces what an instance enforces: Basic auth of an integration user (else 401 with
ServiceNow's ``{"error": {"message", "detail"}, "status": "failure"}``), a JSON body, a
``short_description`` (the usual incident form policy), ``urgency``/``impact`` of 1 to 3, a
known ``state``, and — the out-of-box data policy — ``close_code`` and ``close_notes`` before
a record may be Resolved (6) or Closed (7) (403 *Data Policy Exception*, as ServiceNow
answers). Records get a 32-hex ``sys_id`` and an ``INC00100NN`` number; the priority follows
from urgency and impact. ``GET`` filters on ``field=value`` (``^``-joined) queries.
``rate_limit_next`` answers 429 with ``Retry-After``; ``fail_next`` a 5xx.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from aiohttp import web

from tests.fakes.loopback import BodyProblem, LoopbackService, ScriptedFaults

STATES = {"1", "2", "3", "6", "7", "8"}
_LEVELS = {"1", "2", "3"}


class FakeServiceNow(ScriptedFaults, LoopbackService):
    """One instance with an ``incident`` table."""

    json_media_type = True

    def __init__(self, user: str = "sitrep.integration", password: str = "sn-password") -> None:
        super().__init__()
        self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.records: dict[str, dict[str, Any]] = {}  # sys_id → record
        self.requests: list[tuple[str, str]] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/now/table/incident", self._create)
        app.router.add_get("/api/now/table/incident", self._query)
        app.router.add_patch("/api/now/table/incident/{sys_id}", self._patch)

    def by_correlation(self, correlation_id: str) -> list[dict[str, Any]]:
        """Records with this correlation id."""
        return [r for r in self.records.values() if r.get("correlation_id") == correlation_id]

    @staticmethod
    def _error(status: int, message: str, detail: str = "") -> web.Response:
        body = {"error": {"message": message, "detail": detail}, "status": "failure"}
        return web.json_response(body, status=status)

    async def gate(self, request: web.Request) -> web.Response | None:
        """Basic auth of the integration user else 401; then the scripted 429 and 5xx."""
        if request.headers.get("Authorization") != self._auth:
            return self._error(
                401, "User Not Authenticated", "Required to provide Auth information"
            )
        self.requests.append((request.method, request.path_qs))
        if (headers := self.take_throttle()) is not None:
            return web.json_response(
                {"error": {"message": "Too Many Requests"}, "status": "failure"},
                status=429,
                headers=headers,
            )
        if (status := self.take_failure()) is not None:
            return self._error(status, "Service Unavailable")
        return None

    def body_refusal(self, problem: BodyProblem) -> web.Response:
        """ServiceNow's 415 or 400 for a body it cannot read."""
        if problem is BodyProblem.MEDIA_TYPE:
            return self._error(415, "Unsupported Media Type")
        if problem is BodyProblem.NOT_JSON:
            return self._error(400, "Exception while reading request", "Cannot decode JSON")
        return self._error(400, "Invalid request", "The body must be an object")

    def _problem(self, record: dict[str, Any]) -> web.Response | None:
        if not str(record.get("short_description") or "").strip():
            return self._error(400, "Invalid request", "short_description is mandatory")
        for name in ("urgency", "impact"):
            if str(record.get(name, "3")) not in _LEVELS:
                return self._error(400, "Invalid request", f"{name} must be 1, 2 or 3")
        state = str(record.get("state", "1"))
        if state not in STATES:
            return self._error(400, "Invalid request", f"unknown state {state}")
        if state in ("6", "7") and not (record.get("close_code") and record.get("close_notes")):
            return self._error(
                403,
                "Operation Failed",
                "Data Policy Exception: The following fields are mandatory: Resolution code,"
                " Resolution notes",
            )
        return None

    @staticmethod
    def _priority(record: dict[str, Any]) -> str:
        return str(min(5, int(record.get("urgency", 3)) + int(record.get("impact", 3)) - 1))

    async def _create(self, request: web.Request) -> web.Response:
        body = await self.json_body(request)
        record = {"urgency": "3", "impact": "3", "state": "1"} | {
            k: str(v) if k in ("urgency", "impact", "state") else v for k, v in body.items()
        }
        if (problem := self._problem(record)) is not None:
            return problem
        sys_id = uuid.uuid4().hex
        record |= {
            "sys_id": sys_id,
            "number": f"INC{10000 + len(self.records) + 1:07d}",
            "priority": self._priority(record),
        }
        self.records[sys_id] = record
        return web.json_response({"result": record}, status=201)

    async def _query(self, request: web.Request) -> web.Response:
        terms = [t for t in request.query.get("sysparm_query", "").split("^") if t]
        rows = list(self.records.values())
        for term in terms:
            name, _, value = term.partition("=")
            rows = [r for r in rows if str(r.get(name, "")) == value]
        limit = int(request.query.get("sysparm_limit", "10000"))
        fields = [f for f in request.query.get("sysparm_fields", "").split(",") if f]
        if fields:
            rows = [{f: r.get(f, "") for f in fields} for r in rows]
        return web.json_response({"result": rows[:limit]})

    async def _patch(self, request: web.Request) -> web.Response:
        record = self.records.get(request.match_info["sys_id"])
        if record is None:
            return self._error(
                404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
            )
        body = await self.json_body(request)
        changed = record | {
            k: str(v) if k in ("urgency", "impact", "state") else v for k, v in body.items()
        }
        if (problem := self._problem(changed)) is not None:
            return problem
        changed["priority"] = self._priority(changed)
        record.clear()
        record.update(changed)
        return web.json_response({"result": record})
