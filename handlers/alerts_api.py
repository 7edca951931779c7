"""The alert and maintenance API: ``/api/alerts``, ``/api/alert-groups/declare``,
``/api/maintenance``. Bearer auth is the /api middleware's job; this module only translates.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.alerting.intake import AlertIntake
from bot.alerting.maintenance import MAX_DURATION, parse_duration
from bot.alerting.model import AlertQuery, MaintenanceWindow
from bot.domain.alert import StoredAlert
from bot.domain.decide import Actor
from bot.domain.errors import InvalidCommand
from bot.domain.labels import LabelMatcher, parse_matcher
from bot.domain.limits import check_time, parse_id, seconds_duration
from bot.domain.snapshot import iso
from bot.repository import Repo
from bot.runtime import Runtime
from bot.service import parse_ref
from handlers.api import incident_json
from handlers.appkeys import RUNTIME
from handlers.body import page_params, read_json
from handlers.principal import api_actor, api_reader

MAX_LIST = 500


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MatcherBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    op: str = "="
    value: str = Field(max_length=1000)


class MaintenanceBody(_Body):
    duration: str | int = Field(description="e.g. 2h, 90m, 1h30m, or seconds")
    matchers: list[str | MatcherBody] = Field(min_length=1, max_length=50)
    reason: str = Field(default="", max_length=1000)
    starts_at: datetime | None = None


class DeclareGroupBody(_Body):
    source: str = Field(min_length=1, max_length=32)
    group_key: str = Field(min_length=1, max_length=500)
    severity: str | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)


def register(app: web.Application) -> None:
    """Mount the alert and maintenance routes (under the /api token check)."""
    r = app.router
    r.add_get("/api/alerts", list_alerts)
    r.add_post("/api/alert-groups/declare", declare_group)
    r.add_get("/api/maintenance", list_maintenance)
    r.add_post("/api/maintenance", create_maintenance)
    r.add_delete("/api/maintenance/{id}", cancel_maintenance)


def _runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def _intake(request: web.Request) -> AlertIntake:
    return _runtime(request).alerts


def _actor(request: web.Request) -> Actor:
    return api_actor(request)


def _bad_request(message: str, **extra: Any) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": message, **extra}), content_type="application/json"
    )


def _validate(model: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        raise _bad_request("body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        raise _bad_request(f"{where}: {err['msg']}", field=where) from None


def alert_json(alert: StoredAlert, refs: dict[int, str]) -> dict[str, Any]:
    """The API's alert representation."""
    return {
        "id": alert.id,
        "source": alert.source,
        "fingerprint": alert.fingerprint,
        "group_key": alert.group_key,
        "status": alert.status,
        "severity": alert.severity,
        "title": alert.title,
        "description": alert.description,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "links": alert.links,
        "starts_at": iso(alert.starts_at),
        "ends_at": iso(alert.ends_at),
        "first_seen_at": iso(alert.first_seen_at),
        "last_seen_at": iso(alert.last_seen_at),
        "incident": refs.get(alert.incident_id) if alert.incident_id else None,
        "suppressed_by": alert.suppressed_by,
        "route": alert.extra.get("route", ""),
        "rule": alert.extra.get("rule", ""),
    }


def window_json(window: MaintenanceWindow, now: datetime) -> dict[str, Any]:
    """The API's maintenance-window representation."""
    return {
        "id": window.id,
        "state": window.state(now),
        "starts_at": iso(window.starts_at),
        "ends_at": iso(window.ends_at),
        "matchers": [m.as_json() for m in window.matchers],
        "matchers_text": window.matchers_text(),
        "reason": window.reason,
        "created_by": window.created_by,
        "created_at": iso(window.created_at),
        "cancelled_at": iso(window.cancelled_at),
        "cancelled_by": window.cancelled_by,
    }


async def list_alerts(request: web.Request) -> web.Response:
    """GET /api/alerts?status=&source=&group_key=&incident=INC-3&label=service=api&limit=&offset="""
    runtime = _runtime(request)
    workspace = runtime.settings.workspace
    q = request.query
    limit, offset = page_params(request, MAX_LIST)
    status = q.get("status") or None
    if status not in (None, "firing", "resolved"):
        raise _bad_request("status: use firing or resolved", field="status")
    try:
        labels: tuple[LabelMatcher, ...] = tuple(parse_matcher(v) for v in q.getall("label", []))
    except InvalidCommand as exc:
        raise _bad_request(f"label: {exc}", field="label") from None
    incident_id = None
    if q.get("incident"):
        number = parse_ref(q["incident"])
        # A private incident's alerts are as private as the incident.
        incident_id = (await runtime.service.get(workspace, number, reader=api_reader(request))).id
    query = AlertQuery(
        status=status,
        source=q.get("source") or None,
        group_key=q.get("group_key") or None,
        incident_id=incident_id,
        labels=labels,
        limit=limit,
        offset=offset,
    )
    alerts = await _intake(request).list_alerts(workspace, query)
    ids = sorted({a.incident_id for a in alerts if a.incident_id is not None})

    def refs(repo: Repo) -> dict[int, str]:
        found = {}
        for i in ids:
            inc = repo.get_incident_by_id(i)
            if inc is not None:
                found[i] = inc.ref
        return found

    ref_map = await runtime.service.read(refs) if ids else {}
    return web.json_response({"alerts": [alert_json(a, ref_map) for a in alerts]})


async def declare_group(request: web.Request) -> web.Response:
    """POST /api/alert-groups/declare {"source", "group_key", "severity"?, "title"?}"""
    body: DeclareGroupBody = _validate(DeclareGroupBody, await read_json(request))
    runtime = _runtime(request)
    incident, created = await _intake(request).declare_for_group(
        runtime.settings.workspace,
        body.source,
        body.group_key,
        _actor(request),
        severity=body.severity,
        title=body.title,
        origin="api",
    )
    return web.json_response(
        {"incident": incident_json(runtime, incident), "created": created},
        status=201 if created else 200,
    )


async def list_maintenance(request: web.Request) -> web.Response:
    """GET /api/maintenance[?all=true]"""
    runtime = _runtime(request)
    include_past = request.query.get("all", "").lower() in ("1", "true", "yes")
    windows = await _intake(request).maintenance.list(
        runtime.settings.workspace, include_past=include_past
    )
    now = runtime.clock.now()
    return web.json_response({"maintenance": [window_json(w, now) for w in windows]})


async def create_maintenance(request: web.Request) -> web.Response:
    """POST /api/maintenance {"duration": "2h", "matchers": ["service=api"], "reason": "..."}"""
    body: MaintenanceBody = _validate(MaintenanceBody, await read_json(request))
    runtime = _runtime(request)
    try:
        duration = (
            seconds_duration(body.duration, maximum=MAX_DURATION)
            if isinstance(body.duration, int)
            else parse_duration(body.duration)
        )
    except InvalidCommand as exc:
        raise _bad_request(str(exc), field="duration") from None
    if body.starts_at is not None:
        try:
            check_time(body.starts_at, "starts_at")
        except InvalidCommand as exc:
            raise _bad_request(str(exc), field="starts_at") from None
    window = await _intake(request).maintenance.create(
        runtime.settings.workspace,
        starts_at=body.starts_at,
        duration=duration,
        matchers=[
            m if isinstance(m, str) else LabelMatcher(m.name, m.op, m.value) for m in body.matchers
        ],
        reason=body.reason,
        actor=_actor(request),
    )
    return web.json_response({"maintenance": window_json(window, runtime.clock.now())}, status=201)


async def cancel_maintenance(request: web.Request) -> web.Response:
    """DELETE /api/maintenance/{id}: end a window now."""
    window_id = parse_id(request.match_info["id"], "maintenance window")
    runtime = _runtime(request)
    window = await _intake(request).maintenance.cancel(
        runtime.settings.workspace, window_id, actor=_actor(request)
    )
    return web.json_response({"maintenance": window_json(window, runtime.clock.now())})
