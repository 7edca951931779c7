"""The alert and maintenance API: ``/api/alerts``, ``/api/alert-groups/declare``,
``/api/maintenance``. Bearer auth is the /api middleware's job; this module only translates.
Declared in ``ROUTES`` (see ``handlers.openapi_routes``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from bot.alerting.intake import AlertIntake
from bot.alerting.maintenance import MAX_DURATION, parse_duration
from bot.alerting.model import AlertQuery, MaintenanceWindow
from bot.domain.alert import StoredAlert
from bot.domain.decide import Actor
from bot.domain.errors import InvalidCommand
from bot.domain.labels import LabelMatcher, parse_matcher
from bot.domain.limits import MAX_ID, MAX_OFFSET, check_time, parse_id, seconds_duration
from bot.domain.snapshot import iso
from bot.repository import Repo
from bot.runtime import Runtime
from bot.service import parse_ref
from handlers.api import REF, incident_out
from handlers.appkeys import RUNTIME
from handlers.body import page_params
from handlers.openapi_models import (
    AlertList,
    AlertOut,
    GroupDeclared,
    MatcherOut,
    WindowEnvelope,
    WindowList,
    WindowOut,
)
from handlers.openapi_routes import Param, Reply, Route, bad_request, mount, read_body
from handlers.principal import api_actor, api_reader

MAX_LIST = 500


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MatcherBody(_Body):
    """A label matcher: ``op`` is ``=``, ``!=``, ``=~`` or ``!~``."""

    name: str = Field(min_length=1, max_length=200)
    op: str = "="
    value: str = Field(max_length=1000)


# What ``limits.parse_duration`` and ``seconds_duration`` accept, told to the schema (the
# handler's own messages stay those of the parsers).
DurationText = Annotated[
    str,
    WithJsonSchema(
        {"type": "string", "pattern": r"^\s*(?:[0-9]+|(?:[0-9]+\s*[wdhmsWDHMS]\s*)+)\s*$"}
    ),
]
DurationSeconds = Annotated[
    int,
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": int(MAX_DURATION.total_seconds())}),
]
MatcherText = Annotated[
    str, WithJsonSchema({"type": "string", "minLength": 1, "examples": ["service=api"]})
]


class MaintenanceBody(_Body):
    """A maintenance window: from ``starts_at`` (default now) for ``duration``."""

    duration: DurationText | DurationSeconds = Field(
        description="e.g. 2h, 90m, 1h30m (a bare number is minutes), or an integer of "
        "seconds; at most 30 days",
        examples=["2h"],
    )
    matchers: list[MatcherText | MatcherBody] = Field(
        min_length=1, max_length=50, examples=[["service=api", 'env=~"prod.*"']]
    )
    reason: str = Field(default="", max_length=1000)
    starts_at: datetime | None = None


class DeclareGroupBody(_Body):
    """The alert group (``source`` + ``group_key``, as ``GET /api/alerts`` shows them)."""

    source: str = Field(min_length=1, max_length=32)
    group_key: str = Field(min_length=1, max_length=500)
    severity: str | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)


def register(app: web.Application) -> None:
    """Mount the alert and maintenance routes (under the /api token check)."""
    mount(app, ROUTES)


def _runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def _intake(request: web.Request) -> AlertIntake:
    return _runtime(request).alerts


def _actor(request: web.Request) -> Actor:
    return api_actor(request)


_bad_request = bad_request


def alert_out(alert: StoredAlert, refs: dict[int, str]) -> AlertOut:
    """The API's alert representation."""
    return AlertOut(
        id=alert.id,
        source=alert.source,
        fingerprint=alert.fingerprint,
        group_key=alert.group_key,
        status=alert.status,
        severity=alert.severity,
        title=alert.title,
        description=alert.description,
        labels=alert.labels,
        annotations=alert.annotations,
        links=alert.links,
        starts_at=iso(alert.starts_at),
        ends_at=iso(alert.ends_at),
        first_seen_at=iso(alert.first_seen_at),
        last_seen_at=iso(alert.last_seen_at),
        incident=refs.get(alert.incident_id) if alert.incident_id else None,
        suppressed_by=alert.suppressed_by,
        route=str(alert.extra.get("route", "")),
        rule=str(alert.extra.get("rule", "")),
    )


def window_out(window: MaintenanceWindow, now: datetime) -> WindowOut:
    """The API's maintenance-window representation."""
    return WindowOut(
        id=window.id,
        state=window.state(now),
        starts_at=iso(window.starts_at),
        ends_at=iso(window.ends_at),
        matchers=[MatcherOut.model_validate(m.as_json()) for m in window.matchers],
        matchers_text=window.matchers_text(),
        reason=window.reason,
        created_by=window.created_by,
        created_at=iso(window.created_at),
        cancelled_at=iso(window.cancelled_at),
        cancelled_by=window.cancelled_by,
    )


async def list_alerts(request: web.Request) -> Reply[AlertList]:
    """Alerts, newest first, filtered by status, source, group, incident and label matchers
    (``label=service=api``, repeatable; ``=``, ``!=``, ``=~``, ``!~``). A private incident's
    alerts only for its members."""
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
    return Reply(AlertList(alerts=[alert_out(a, ref_map) for a in alerts]))


async def declare_group(request: web.Request) -> Reply[GroupDeclared]:
    """Declare an incident for an alert group (201), or return the one it already feeds (200)."""
    body = await read_body(request, DeclareGroupBody)
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
    return Reply(
        GroupDeclared(incident=incident_out(runtime, incident), created=created),
        status=201 if created else 200,
    )


async def list_maintenance(request: web.Request) -> Reply[WindowList]:
    """Current and scheduled maintenance windows (``all=true``: past ones too)."""
    runtime = _runtime(request)
    include_past = request.query.get("all", "").lower() in ("1", "true", "yes")
    windows = await _intake(request).maintenance.list(
        runtime.settings.workspace, include_past=include_past
    )
    now = runtime.clock.now()
    return Reply(WindowList(maintenance=[window_out(w, now) for w in windows]))


async def create_maintenance(request: web.Request) -> Reply[WindowEnvelope]:
    """Open a maintenance window: alerts matching every matcher are recorded but declare and
    page nothing while it lasts (at most 30 days)."""
    body = await read_body(request, MaintenanceBody)
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
    return Reply(WindowEnvelope(maintenance=window_out(window, runtime.clock.now())), status=201)


async def cancel_maintenance(request: web.Request) -> Reply[WindowEnvelope]:
    """End a maintenance window now."""
    window_id = parse_id(request.match_info["id"], "maintenance window")
    runtime = _runtime(request)
    window = await _intake(request).maintenance.cancel(
        runtime.settings.workspace, window_id, actor=_actor(request)
    )
    return Reply(WindowEnvelope(maintenance=window_out(window, runtime.clock.now())))


WINDOW_ID = Param(
    "id",
    "path",
    Annotated[int, Field(ge=1, le=MAX_ID, examples=[1])],
    "the window's id",
    required=True,
)

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/api/alerts",
        list_alerts,
        "listAlerts",
        "List alerts",
        responses={200: AlertList},
        params=(
            Param("status", "query", Literal["firing", "resolved"], "firing or resolved"),
            Param("source", "query", str, "the sending integration, e.g. alertmanager"),
            Param("group_key", "query", str, "the alert group"),
            Param("incident", "query", REF.type, "alerts feeding this incident (``INC-3``)"),
            Param(
                "label",
                "query",
                list[Annotated[str, Field(min_length=1)]],
                "label matchers, all must hold: ``service=api``, ``env=~prod.*``",
                explode=True,
            ),
            Param("limit", "query", Annotated[int, Field(ge=1, le=MAX_LIST)], "page size (100)"),
            Param("offset", "query", Annotated[int, Field(ge=0, le=MAX_OFFSET)], "rows to skip"),
        ),
        errors=frozenset({404}),
        tag="alerts",
    ),
    Route(
        "POST",
        "/api/alert-groups/declare",
        declare_group,
        "declareAlertGroup",
        "Declare an incident for an alert group",
        responses={201: GroupDeclared, 200: GroupDeclared},
        body=DeclareGroupBody,
        errors=frozenset({404}),
        tag="alerts",
    ),
    Route(
        "GET",
        "/api/maintenance",
        list_maintenance,
        "listMaintenance",
        "List maintenance windows",
        responses={200: WindowList},
        params=(Param("all", "query", bool, "include past and cancelled windows"),),
        tag="maintenance",
    ),
    Route(
        "POST",
        "/api/maintenance",
        create_maintenance,
        "createMaintenance",
        "Open a maintenance window",
        responses={201: WindowEnvelope},
        body=MaintenanceBody,
        tag="maintenance",
    ),
    Route(
        "DELETE",
        "/api/maintenance/{id}",
        cancel_maintenance,
        "cancelMaintenance",
        "End a maintenance window",
        responses={200: WindowEnvelope},
        params=(WINDOW_ID,),
        tag="maintenance",
    ),
)
