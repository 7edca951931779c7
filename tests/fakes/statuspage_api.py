"""A stateful fake of Atlassian Statuspage's REST API v1 (page incidents, components) over real
HTTP.

It enforces what Statuspage enforces: ``Authorization: OAuth <key>`` else 401; a known page
id else 404; on create an ``incident`` object with a non-empty ``name`` (422 otherwise), a
``status`` among investigating/identified/monitoring/resolved (422), ``impact_override``
among none/minor/major/critical (422), components as ``{id: status}`` with known ids and
statuses operational/degraded_performance/partial_outage/major_outage (422); a body that is
not a JSON object with ``incident`` is 400; ``metadata``, when given, must be an object whose
top-level values are objects (422); an unknown incident id is 404. ``GET …/incidents/
unresolved`` answers a bare JSON array of the incidents not resolved, newest first, with
their metadata (``per_page`` at most 100, 400 otherwise). ``rate_limit_next`` answers 420
(Statuspage's own) or 429 with ``Retry-After``; ``fail_next`` a 5xx; ``lose_next_create``
makes the next create happen but answer 502 (the connection dropped after Statuspage acted);
``stop()`` makes the service unreachable. Incidents and component statuses are kept.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import Answer, BodyProblem, LoopbackService, answer_may_be_lost

STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage")
IMPACTS = ("none", "minor", "major", "critical")


@dataclass
class PageIncident:
    """One incident on the page, with the updates it was given in order."""

    id: str
    name: str
    status: str
    impact: str
    components: dict[str, str]
    updates: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


class FakeStatuspage(LoopbackService):
    """Statuspage's API for one page."""

    empty_body = b"null"

    def __init__(self, api_key: str, page_id: str, components: tuple[str, ...]) -> None:
        super().__init__()
        self.api_key = api_key
        self.page_id = page_id
        self.component_status = {c: "operational" for c in components}
        self.incidents: dict[str, PageIncident] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self._limit: list[tuple[int, str]] = []
        self._fail: list[int] = []
        self._lose_creates = 0
        self.listed = 0  # unresolved listings answered

    def lose_next_create(self, n: int = 1) -> None:
        """Create the next ``n`` incidents but answer 502, as if the answer were lost."""
        self._lose_creates += n

    def rate_limit_next(self, n: int = 1, *, status: int = 420, retry_after: str = "1") -> None:
        """Answer the next ``n`` calls with ``status`` (420 or 429) and ``Retry-After``."""
        self._limit.extend([(status, retry_after)] * n)

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        """Answer the next ``n`` calls with a server error."""
        self._fail.extend([status] * n)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/pages/{page}/incidents", self._create)
        app.router.add_patch("/v1/pages/{page}/incidents/{id}", self._patch)
        app.router.add_get("/v1/pages/{page}/incidents/unresolved", self._unresolved)
        app.router.add_get("/v1/pages/{page}/incidents/{id}", self._get)

    # -- handlers ------------------------------------------------------------------------------

    async def gate(self, request: web.Request) -> web.Response | None:
        """``OAuth <key>`` else 401, the page else 404; then the scripted 420/429 and 5xx."""
        if request.headers.get("Authorization") != f"OAuth {self.api_key}":
            return _error(401, "Could not authenticate")
        if request.match_info.get("page") != self.page_id:
            return _error(404, "The requested resource could not be found.")
        if self._limit:
            status, wait = self._limit.pop(0)
            return web.json_response(
                {"error": "Rate limit exceeded"}, status=status, headers={"Retry-After": wait}
            )
        if self._fail:
            return _error(self._fail.pop(0), "Service unavailable")
        return None

    def body_refusal(self, problem: BodyProblem) -> web.Response:
        """Statuspage's 400 for a body it cannot read."""
        if problem is BodyProblem.NOT_JSON:
            return _error(400, "body is not JSON")
        return _error(400, "incident is missing")

    def lost_answer(self) -> web.Response | None:
        """A 502 after the create happened, when ``lose_next_create`` scripted one."""
        if not self._lose_creates:
            return None
        self._lose_creates -= 1
        return _error(502, "Bad gateway")

    async def _incident(self, request: web.Request) -> dict[str, Any]:
        """The ``incident`` object of a write (400 without one); the write is recorded."""
        body = await self.json_body(request)
        if not isinstance(body.get("incident"), dict):
            raise Answer(self.body_refusal(BodyProblem.NOT_OBJECT))
        self.requests.append((request.method, request.path, body))
        return dict(body["incident"])

    @answer_may_be_lost
    async def _create(self, request: web.Request) -> web.Response:
        got = await self._incident(request)
        name = got.get("name")
        if not isinstance(name, str) or not name.strip():
            return _error(422, "Name can't be blank")
        problem = self._problem(got, creating=True)
        if problem:
            return _error(422, problem)
        metadata = got.get("metadata", {})
        if not isinstance(metadata, dict) or any(
            not isinstance(v, dict) for v in metadata.values()
        ):
            return _error(422, "Metadata top level values must be objects")
        inc = PageIncident(
            id=uuid.uuid4().hex[:12],
            name=name,
            status=got.get("status") or "investigating",
            impact=got.get("impact_override") or "none",
            components={},
            metadata=metadata,
        )
        self.incidents[inc.id] = inc
        self._apply(inc, got)
        return web.json_response(self._json(inc), status=201)

    async def _unresolved(self, request: web.Request) -> web.Response:
        try:
            per_page = int(request.query.get("per_page", "100"))
        except ValueError:
            return _error(400, "per_page must be a number")
        if not 1 <= per_page <= 100:
            return _error(400, "per_page must be between 1 and 100")
        self.listed += 1
        open_ = [i for i in self.incidents.values() if i.status != "resolved"]
        return web.json_response([self._json(i) for i in reversed(open_)][:per_page])

    async def _patch(self, request: web.Request) -> web.Response:
        got = await self._incident(request)
        inc = self.incidents.get(request.match_info["id"])
        if inc is None:
            return _error(404, "The requested resource could not be found.")
        problem = self._problem(got, creating=False)
        if problem:
            return _error(422, problem)
        if "name" in got:
            inc.name = str(got["name"])
        self._apply(inc, got)
        return web.json_response(self._json(inc))

    async def _get(self, request: web.Request) -> web.Response:
        inc = self.incidents.get(request.match_info["id"])
        if inc is None:
            return _error(404, "The requested resource could not be found.")
        return web.json_response(self._json(inc))

    # -- rules ---------------------------------------------------------------------------------

    def _problem(self, got: dict[str, Any], *, creating: bool) -> str | None:
        status = got.get("status")
        if (creating or status is not None) and status not in STATUSES:
            return f"Status is not included in the list ({status!r})"
        impact = got.get("impact_override")
        if impact is not None and impact not in IMPACTS:
            return f"Impact override is not included in the list ({impact!r})"
        components = got.get("components") or {}
        if not isinstance(components, dict):
            return "components must be an object"
        for cid, cstatus in components.items():
            if cid not in self.component_status:
                return f"Component {cid!r} not found"
            if cstatus not in COMPONENT_STATUSES:
                return f"Component status is not included in the list ({cstatus!r})"
        ids = got.get("component_ids") or []
        if not isinstance(ids, list) or any(i not in self.component_status for i in ids):
            return "component_ids names an unknown component"
        body = got.get("body")
        if body is not None and not isinstance(body, str):
            return "body must be text"
        return None

    def _apply(self, inc: PageIncident, got: dict[str, Any]) -> None:
        if got.get("status"):
            inc.status = str(got["status"])
        for cid, cstatus in (got.get("components") or {}).items():
            inc.components[cid] = cstatus
            self.component_status[cid] = cstatus
        inc.updates.append({"status": inc.status, "body": str(got.get("body") or "")})

    def _json(self, inc: PageIncident) -> dict[str, Any]:
        return {
            "id": inc.id,
            "name": inc.name,
            "status": inc.status,
            "impact": inc.impact,
            "page_id": self.page_id,
            "shortlink": f"https://stspg.io/{inc.id}",
            "components": [{"id": c, "status": s} for c, s in sorted(inc.components.items())],
            "incident_updates": list(reversed(inc.updates)),
            "metadata": inc.metadata,
        }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
