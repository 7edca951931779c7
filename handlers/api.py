"""The JSON API under /api: bearer-token protected, translated into core commands."""

from __future__ import annotations

import hmac
import json
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.domain import commands as c
from bot.domain.limits import parse_id
from bot.domain.model import ActionItem, Incident, Role, Status, StatusUpdate, TimelineEntry
from bot.domain.snapshot import IncidentSnapshot, incident_snapshot, iso
from bot.identity.registry import Refusal
from bot.identity.tokens import Scope, looks_like_token
from bot.postmortem import render_postmortem
from bot.runtime import Runtime
from bot.service import IncidentDetail, parse_ref
from handlers import admin_api
from handlers.appkeys import RUNTIME
from handlers.body import page_params, read_json
from handlers.middleware import json_error
from handlers.principal import API_TOKEN, api_actor, api_reader
from handlers.throttle import audit_lockout, auth_throttled
from integrations.export.render import render_facts

M = TypeVar("M", bound=BaseModel)
MAX_LIST = 500


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DeclareBody(_Body):
    title: str = Field(min_length=1, max_length=200)
    severity: str | None = None
    summary: str = Field(default="", max_length=4000)
    private: bool = False
    commander: str | None = Field(default=None, max_length=200)
    runbook_url: str = Field(default="", max_length=2000)
    service: str = Field(default="", max_length=100)


class TextBody(_Body):
    text: str = Field(min_length=1, max_length=4000)


class StatusBody(_Body):
    status: Status
    text: str = Field(default="", max_length=4000)


class SeverityBody(_Body):
    severity: str = Field(min_length=1)


class RoleBody(_Body):
    role: Role
    user: str = Field(min_length=1, max_length=200)


class ActionItemBody(_Body):
    text: str = Field(min_length=1, max_length=1000)
    owner: str | None = None
    due: datetime | None = None


class ActionItemPatch(_Body):
    done: bool


class FieldsBody(_Body):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    summary: str | None = None
    impact: str | None = None
    root_cause: str | None = None
    contributing_factors: str | None = None
    what_went_well: str | None = None
    what_went_wrong: str | None = None
    runbook_url: str | None = None


class RemindBody(_Body):
    enabled: bool = True
    snooze_minutes: int | None = Field(default=None, ge=1, le=24 * 60)


def register(app: web.Application) -> None:
    """Mount the API routes (and the token check that guards them)."""
    app.middlewares.append(api_auth_middleware)
    r = app.router
    r.add_get("/api/incidents", list_incidents)
    r.add_post("/api/incidents", declare_incident)
    r.add_get("/api/incidents/{ref}", get_incident)
    r.add_patch("/api/incidents/{ref}", edit_incident)
    r.add_post("/api/incidents/{ref}/acknowledge", acknowledge)
    r.add_post("/api/incidents/{ref}/status", change_status)
    r.add_post("/api/incidents/{ref}/severity", change_severity)
    r.add_post("/api/incidents/{ref}/roles", assign_role)
    r.add_post("/api/incidents/{ref}/updates", post_update)
    r.add_post("/api/incidents/{ref}/notes", add_note)
    r.add_post("/api/incidents/{ref}/reminders", set_reminders)
    r.add_get("/api/incidents/{ref}/timeline", get_timeline)
    r.add_post("/api/incidents/{ref}/action-items", add_action_item)
    r.add_patch("/api/incidents/{ref}/action-items/{item}", patch_action_item)
    r.add_get("/api/incidents/{ref}/postmortem", get_postmortem)
    admin_api.register(app)


@web.middleware
async def api_auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require a bearer token on every /api route: the shared ``SITREP_API_TOKEN`` (all
    scopes) or a personal/service token carrying the scope the route needs."""
    if not request.path.startswith("/api/") or request.path == "/api/messages":
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    given = given.strip()
    if scheme.lower() == "bearer" and looks_like_token(given):
        return await _token_auth(request, handler, given)
    token = request.app[RUNTIME].settings.api_token
    if token is None or not token.get_secret_value():
        return json_error(403, "the API is disabled: set SITREP_API_TOKEN to enable it")
    if scheme.lower() != "bearer" or not given:
        return json_error(
            401, "missing bearer token", hint="send Authorization: Bearer <SITREP_API_TOKEN>"
        )
    ok = hmac.compare_digest(given.encode(), token.get_secret_value().encode())
    refused = auth_throttled(request, ok)
    if refused is not None:
        return refused
    if not ok:
        await audit_lockout(request)
        return json_error(401, "invalid bearer token")
    return await handler(request)


async def _token_auth(request: web.Request, handler: Handler, secret: str) -> web.StreamResponse:
    runtime = _runtime(request)
    found = await runtime.tokens.authenticate(secret)
    refused = auth_throttled(request, not isinstance(found, Refusal))
    if refused is not None:
        return refused
    if isinstance(found, Refusal):
        await audit_lockout(request)
        return json_error(401, found.value)
    if found.workspace != _workspace(request):
        return json_error(401, "token belongs to another workspace")
    scope = required_scope(request.method, request.path)
    if not found.allows(scope):
        return json_error(403, f"this token lacks the {scope.value} scope", scope=scope.value)
    request[API_TOKEN] = found
    return await handler(request)


def required_scope(method: str, path: str) -> Scope:
    """The scope an /api route needs: reads and writes of incidents or alerts; maintenance
    windows, tokens and the audit log are admin."""
    write = method not in ("GET", "HEAD", "OPTIONS")
    if path.startswith(("/api/tokens", "/api/audit", "/api/maintenance")):
        return Scope.ADMIN
    if path.startswith(("/api/alerts", "/api/alert-groups")):
        return Scope.ALERTS_WRITE if write else Scope.ALERTS_READ
    if path.startswith(("/api/incidents", "/api/stats")):
        return Scope.INCIDENTS_WRITE if write else Scope.INCIDENTS_READ
    return Scope.ADMIN


# -- helpers -------------------------------------------------------------------------------


def _runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def _workspace(request: web.Request) -> str:
    return _runtime(request).settings.workspace


_actor = api_actor


def _number(request: web.Request) -> int:
    return parse_ref(request.match_info["ref"])


async def _body(request: web.Request, model: type[M]) -> M:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise _bad_request("body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        raise _bad_request(f"{where}: {err['msg']}", field=where) from None


def _bad_request(message: str, **extra: Any) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": message, **extra}), content_type="application/json"
    )


def incident_json(runtime: Runtime, incident: Incident) -> IncidentSnapshot:
    """The API's incident representation."""
    return incident_snapshot(incident, runtime.service.policy, runtime.settings.public_url)


def _entry_json(e: TimelineEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": iso(e.at),
        "kind": e.kind.value,
        "actor": e.actor,
        "text": e.text,
        "data": e.data,
        "source": e.source,
        "external_ref": e.external_ref,
        "pinned": e.pinned,
    }


def _update_json(u: StatusUpdate) -> dict[str, Any]:
    return {
        "id": u.id,
        "at": iso(u.at),
        "author": u.author,
        "text": u.text,
        "status": u.status.value,
        "severity": u.severity,
    }


def _item_json(i: ActionItem) -> dict[str, Any]:
    return {
        "id": i.id,
        "text": i.text,
        "owner": i.owner,
        "due": iso(i.due),
        "done": i.done,
        "done_at": iso(i.done_at),
        "created_at": iso(i.created_at),
        "created_by": i.created_by,
    }


def _detail_json(runtime: Runtime, d: IncidentDetail) -> dict[str, Any]:
    m = d.metrics

    def secs(v: Any) -> float | None:
        return None if v is None else v.total_seconds()

    return {
        **incident_json(runtime, d.incident),
        "metrics": {
            "time_to_acknowledge_seconds": secs(m.time_to_acknowledge),
            "time_to_mitigate_seconds": secs(m.time_to_mitigate),
            "time_to_resolve_seconds": secs(m.time_to_resolve),
        },
        "timeline": [_entry_json(e) for e in d.timeline],
        "updates": [_update_json(u) for u in d.updates],
        "action_items": [_item_json(i) for i in d.action_items],
    }


async def _run(request: web.Request, cmd: c.Command, *, status: int = 200) -> web.Response:
    runtime = _runtime(request)
    outcome = await runtime.service.execute(
        _workspace(request), _number(request), cmd, _actor(request), reader=api_reader(request)
    )
    body: dict[str, Any] = {
        "incident": incident_json(runtime, outcome.incident),
        "changed": outcome.changed,
        "events": [{"kind": e.kind.value, "text": e.text, "at": iso(e.at)} for e in outcome.events],
    }
    if outcome.action_item is not None:
        body["action_item"] = _item_json(outcome.action_item)
    return web.json_response(body, status=status)


# -- routes --------------------------------------------------------------------------------


async def list_incidents(request: web.Request) -> web.Response:
    """GET /api/incidents?status=open|<status>[,...]&severity=SEV2&limit=&offset="""
    runtime = _runtime(request)
    q = request.query
    limit, offset = page_params(request, MAX_LIST)
    raw = [s for s in q.get("status", "").split(",") if s]
    open_only = "open" in raw
    try:
        statuses = [Status(s) for s in raw if s != "open"]
    except ValueError:
        allowed = ", ".join(["open", *Status])
        raise _bad_request(f"status: unknown value; use one of {allowed}") from None
    incidents = await runtime.service.list(
        _workspace(request),
        open_only=open_only,
        statuses=statuses,
        severity=q.get("severity") or None,
        limit=limit,
        offset=offset,
        reader=api_reader(request),
    )
    return web.json_response({"incidents": [incident_json(runtime, i) for i in incidents]})


async def declare_incident(request: web.Request) -> web.Response:
    """POST /api/incidents"""
    body = await _body(request, DeclareBody)
    runtime = _runtime(request)
    key = request.headers.get("Idempotency-Key")
    outcome = await runtime.service.declare(
        _workspace(request),
        c.Declare(
            title=body.title,
            severity=body.severity,
            summary=body.summary,
            private=body.private,
            commander=body.commander,
            origin="api",
            runbook_url=body.runbook_url,
            service=body.service,
        ),
        _actor(request),
        dedup_key=f"api:declare:{key}" if key else None,
    )
    status = 200 if outcome.replayed else 201
    return web.json_response({"incident": incident_json(runtime, outcome.incident)}, status=status)


async def get_incident(request: web.Request) -> web.Response:
    """GET /api/incidents/{ref}"""
    runtime = _runtime(request)
    detail = await runtime.service.detail(
        _workspace(request), _number(request), reader=api_reader(request)
    )
    return web.json_response(_detail_json(runtime, detail))


async def edit_incident(request: web.Request) -> web.Response:
    """PATCH /api/incidents/{ref}: set title, summary, impact and postmortem fields."""
    body = await _body(request, FieldsBody)
    fields = body.model_dump(exclude_none=True)
    if not fields:
        raise _bad_request("nothing to change: send at least one field")
    runtime = _runtime(request)
    # One transaction: a refused field must not leave the fields before it applied.
    outcome = await runtime.service.execute_all(
        _workspace(request),
        _number(request),
        [c.EditField(name, value) for name, value in fields.items()],
        _actor(request),
        reader=api_reader(request),
    )
    return web.json_response({"incident": incident_json(runtime, outcome.incident)})


async def acknowledge(request: web.Request) -> web.Response:
    """POST /api/incidents/{ref}/acknowledge"""
    return await _run(request, c.Acknowledge())


async def change_status(request: web.Request) -> web.Response:
    """POST /api/incidents/{ref}/status {"status": "identified", "text": "..."}"""
    body = await _body(request, StatusBody)
    return await _run(request, c.ChangeStatus(body.status, body.text))


async def change_severity(request: web.Request) -> web.Response:
    """POST /api/incidents/{ref}/severity {"severity": "SEV1"}"""
    body = await _body(request, SeverityBody)
    return await _run(request, c.ChangeSeverity(body.severity))


async def assign_role(request: web.Request) -> web.Response:
    """POST /api/incidents/{ref}/roles {"role": "commander", "user": "U123"}"""
    body = await _body(request, RoleBody)
    return await _run(request, c.AssignRole(body.role, body.user))


async def post_update(request: web.Request) -> web.Response:
    """POST /api/incidents/{ref}/updates {"text": "..."}: a stakeholder update."""
    body = await _body(request, TextBody)
    return await _run(request, c.PostUpdate(body.text), status=201)


async def add_note(request: web.Request) -> web.Response:
    """POST /api/incidents/{ref}/notes {"text": "..."}"""
    body = await _body(request, TextBody)
    return await _run(request, c.AddNote(body.text), status=201)


async def set_reminders(request: web.Request) -> web.Response:
    """POST /api/incidents/{ref}/reminders {"enabled": false} or {"snooze_minutes": 30}"""
    body = await _body(request, RemindBody)
    until = None
    if body.snooze_minutes:
        until = _runtime(request).clock.now() + timedelta(minutes=body.snooze_minutes)
    return await _run(request, c.SetReminders(enabled=body.enabled, until=until))


async def get_timeline(request: web.Request) -> web.Response:
    """GET /api/incidents/{ref}/timeline"""
    runtime = _runtime(request)
    detail = await runtime.service.detail(
        _workspace(request), _number(request), reader=api_reader(request)
    )
    return web.json_response({"timeline": [_entry_json(e) for e in detail.timeline]})


async def add_action_item(request: web.Request) -> web.Response:
    """POST /api/incidents/{ref}/action-items {"text", "owner", "due"}"""
    body = await _body(request, ActionItemBody)
    return await _run(request, c.AddActionItem(body.text, body.owner, body.due), status=201)


async def patch_action_item(request: web.Request) -> web.Response:
    """PATCH /api/incidents/{ref}/action-items/{item} {"done": true}"""
    body = await _body(request, ActionItemPatch)
    item = parse_id(request.match_info["item"], "action item")
    return await _run(request, c.SetActionItemDone(item, body.done))


async def get_postmortem(request: web.Request) -> web.Response:
    """GET /api/incidents/{ref}/postmortem?format=md|html|json"""
    fmt = request.query.get("format", "md")
    if fmt not in ("md", "html", "json"):
        raise _bad_request("format: use md, html or json")
    runtime = _runtime(request)
    text = await render_postmortem(
        runtime.service,
        _workspace(request),
        _number(request),
        lambda f: render_facts(f, fmt),
        reader=api_reader(request),
    )
    content_type = {"md": "text/markdown", "html": "text/html", "json": "application/json"}[fmt]
    return web.Response(text=text, content_type=content_type, charset="utf-8")


Fmt = Literal["md", "html", "json"]
