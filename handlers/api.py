"""The JSON API under /api: bearer-token protected, translated into core commands.

Routes are declared in ``ROUTES`` (see ``handlers.openapi_routes`` for how to add one); the
router and the OpenAPI document at /api/openapi.json are both built from those declarations.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Literal

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field

from bot.domain import commands as c
from bot.domain.errors import EditConflict
from bot.domain.limits import MAX_ID, MAX_OFFSET, parse_id
from bot.domain.model import (
    ActionItem,
    Incident,
    Role,
    Status,
    StatusUpdate,
    TimelineEntry,
    text_version,
)
from bot.domain.snapshot import IncidentSnapshot, incident_snapshot, iso
from bot.identity.registry import Refusal
from bot.identity.tokens import Scope, looks_like_token
from bot.people import name_fields, shown_name
from bot.postmortem import render_postmortem
from bot.runtime import Runtime
from bot.service import IncidentDetail, parse_ref
from bot.statuspage.preview import preview_public
from bot.statuspage.rules import StatuspageRules
from handlers import admin_api, openapi
from handlers.appkeys import RUNTIME
from handlers.body import page_params
from handlers.middleware import json_error
from handlers.openapi_models import (
    ActionItemOut,
    CommandResult,
    EventOut,
    IncidentDetailOut,
    IncidentEnvelope,
    IncidentList,
    IncidentOut,
    Metrics,
    PublicPreviewOut,
    StaleEdit,
    StatusUpdateOut,
    Timeline,
    TimelineEntryOut,
)
from handlers.openapi_routes import (
    Param,
    Reply,
    Route,
    RouteHandler,
    Text,
    bad_request,
    mount,
    read_body,
)
from handlers.principal import API_TOKEN, api_actor, api_reader
from handlers.throttle import audit_lockout, auth_throttled
from integrations.export.render import render_facts

MAX_LIST = 500


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DeclareBody(_Body):
    """A new incident; severity defaults to the lowest configured one."""

    title: str = Field(min_length=1, max_length=200, examples=["Checkout returns 502"])
    severity: str | None = Field(default=None, examples=["SEV2"])
    summary: str = Field(default="", max_length=4000)
    private: bool = False
    commander: str | None = Field(default=None, max_length=200)
    runbook_url: str = Field(default="", max_length=2000)
    service: str = Field(default="", max_length=100)


class TextBody(_Body):
    """A note or stakeholder update."""

    text: str = Field(min_length=1, max_length=4000)


class UpdateBody(TextBody):
    """A stakeholder update; ``public`` also publishes it to the status page, but only with
    ``confirm``: without it the answer is the preview (200) and nothing is sent."""

    public: bool = False
    confirm: bool = False


class StatusBody(_Body):
    """A status move, with an optional note."""

    status: Status
    text: str = Field(default="", max_length=4000)


class SeverityBody(_Body):
    """A configured severity."""

    severity: str = Field(min_length=1, examples=["SEV1"])


class RoleBody(_Body):
    """Who takes a role."""

    role: Role
    user: str = Field(min_length=1, max_length=200, examples=["U012ABCDEF"])


class ActionItemBody(_Body):
    """Follow-up work; ``due`` is a time with a zone, years 2000 to 2199."""

    text: str = Field(min_length=1, max_length=1000, examples=["Alert on checkout 5xx rate"])
    owner: str | None = None
    due: datetime | None = None


class ActionItemPatch(_Body):
    """Done or not."""

    done: bool


class FieldsBody(_Body):
    """The fields to set; at least one."""

    # The handler refuses an empty edit; say so in the schema (null fields are not edits).
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    title: str | None = Field(default=None, min_length=1, max_length=200)
    summary: str | None = None
    impact: str | None = None
    root_cause: str | None = None
    contributing_factors: str | None = None
    what_went_well: str | None = None
    what_went_wrong: str | None = None
    lessons: str | None = None
    runbook_url: str | None = None


class RemindBody(_Body):
    """Reminders on or off, or snoozed for some minutes."""

    enabled: bool = True
    snooze_minutes: int | None = Field(default=None, ge=1, le=24 * 60)


class PublishBody(_Body):
    """Where to publish the postmortem (a configured target)."""

    target: Literal["confluence", "notion"]


def register(app: web.Application) -> None:
    """Mount the API routes (and the token check that guards them) and the API's docs."""
    app.middlewares.append(api_auth_middleware)
    mount(app, ROUTES)
    admin_api.register(app)
    openapi.register(app, scope_of=required_scope)


@web.middleware
async def api_auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require a bearer token on every /api route: the shared ``SITREP_API_TOKEN`` (all
    scopes) or a personal/service token carrying the scope the route needs."""
    if not request.path.startswith("/api/") or request.path == "/api/messages":
        return await handler(request)
    if request.path in openapi.PUBLIC_PATHS and request.method in ("GET", "HEAD"):
        return await handler(request)  # the API's description is no secret
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
    if path.startswith(("/api/incidents", "/api/search", "/api/stats")):
        return Scope.INCIDENTS_WRITE if write else Scope.INCIDENTS_READ
    return Scope.ADMIN


# -- helpers -------------------------------------------------------------------------------


def _runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def _workspace(request: web.Request) -> str:
    return _runtime(request).settings.workspace


_actor = api_actor
_body = read_body
_bad_request = bad_request


def _number(request: web.Request) -> int:
    return parse_ref(request.match_info["ref"])


def incident_json(runtime: Runtime, incident: Incident) -> IncidentSnapshot:
    """The API's incident representation, as a dict (`incident_out` is the typed one)."""
    return incident_snapshot(incident, runtime.service.policy, runtime.settings.public_url)


def incident_out(runtime: Runtime, incident: Incident) -> IncidentOut:
    """The API's incident representation."""
    return IncidentOut.model_validate(incident_json(runtime, incident))


# Ids stay for machines; the ``*_name`` fields (bot.people) are for people reading the JSON.
def _entry_out(e: TimelineEntry, names: Mapping[str, str]) -> TimelineEntryOut:
    return TimelineEntryOut(
        id=e.id,
        at=iso(e.at) or "",
        kind=e.kind,
        actor=e.actor,
        actor_name=shown_name(e, names),
        text=e.text,
        data=e.data,
        source=e.source,
        external_ref=e.external_ref,
        pinned=e.pinned,
    )


def _update_out(u: StatusUpdate, names: Mapping[str, str]) -> StatusUpdateOut:
    return StatusUpdateOut(
        id=u.id,
        at=iso(u.at) or "",
        author=u.author,
        author_name=names.get(u.author, u.author),
        text=u.text,
        status=u.status,
        severity=u.severity,
    )


def _item_out(i: ActionItem, names: Mapping[str, str] | None = None) -> ActionItemOut:
    """An action item; with ``names`` (the detail view) its people's names beside their ids."""
    named = name_fields({"owner": i.owner, "created_by": i.created_by}, names or {})
    return ActionItemOut(
        id=i.id,
        text=i.text,
        owner=i.owner,
        owner_name=named["owner_name"] if names is not None else None,
        created_by_name=named["created_by_name"] if names is not None else None,
        due=iso(i.due),
        done=i.done,
        done_at=iso(i.done_at),
        created_at=iso(i.created_at),
        created_by=i.created_by,
    )


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _detail_out(runtime: Runtime, d: IncidentDetail) -> IncidentDetailOut:
    m = d.metrics
    i = d.incident
    roles = {"commander": i.commander, "comms_lead": i.comms_lead, "scribe": i.scribe}
    return IncidentDetailOut.model_validate(
        {
            **incident_json(runtime, i),
            **name_fields({**roles, "declared_by": i.declared_by}, d.names),
            "metrics": Metrics(
                time_to_acknowledge_seconds=_seconds(m.time_to_acknowledge),
                time_to_mitigate_seconds=_seconds(m.time_to_mitigate),
                time_to_resolve_seconds=_seconds(m.time_to_resolve),
            ),
            "timeline": [_entry_out(e, d.names) for e in d.timeline],
            "updates": [_update_out(u, d.names) for u in d.updates],
            "action_items": [_item_out(a, d.names) for a in d.action_items],
        }
    )


async def _run(request: web.Request, cmd: c.Command, *, status: int = 200) -> Reply[CommandResult]:
    runtime = _runtime(request)
    outcome = await runtime.service.execute(
        _workspace(request), _number(request), cmd, _actor(request), reader=api_reader(request)
    )
    incident = incident_out(runtime, outcome.incident)
    events = [EventOut(kind=e.kind, text=e.text, at=iso(e.at) or "") for e in outcome.events]
    result = (
        CommandResult(incident=incident, changed=outcome.changed, events=events)
        if outcome.action_item is None
        # Only set when there is one: the key is absent otherwise, as it always was.
        else CommandResult(
            incident=incident,
            changed=outcome.changed,
            events=events,
            action_item=_item_out(outcome.action_item),
        )
    )
    return Reply(result, status=status)


# -- routes --------------------------------------------------------------------------------


async def list_incidents(request: web.Request) -> Reply[IncidentList]:
    """Incidents newest first, filtered by status (``open`` for every open one) and severity;
    private incidents only for their members and admins."""
    runtime = _runtime(request)
    q = request.query
    limit, offset = page_params(request, MAX_LIST)
    raw = [s for s in q.get("status", "").split(",") if s]
    open_only = "open" in raw
    try:
        statuses = [Status(s) for s in raw if s != "open"]
    except ValueError:
        allowed = ", ".join(["open", *Status])
        raise _bad_request(f"status: unknown value; use one of {allowed}", field="status") from None
    incidents = await runtime.service.list(
        _workspace(request),
        open_only=open_only,
        statuses=statuses,
        severity=q.get("severity") or None,
        limit=limit,
        offset=offset,
        reader=api_reader(request),
    )
    return Reply(IncidentList(incidents=[incident_out(runtime, i) for i in incidents]))


async def declare_incident(request: web.Request) -> Reply[IncidentEnvelope]:
    """Declare an incident. With an ``Idempotency-Key`` header a repeated request returns the
    incident the first one declared (200) instead of declaring another (201)."""
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
    return Reply(IncidentEnvelope(incident=incident_out(runtime, outcome.incident)), status=status)


async def get_incident(request: web.Request) -> Reply[IncidentDetailOut]:
    """An incident with its metrics, timeline, stakeholder updates and action items."""
    runtime = _runtime(request)
    detail = await runtime.service.detail(
        _workspace(request), _number(request), reader=api_reader(request)
    )
    return Reply(_detail_out(runtime, detail), headers={"ETag": fields_etag(detail.incident)})


# The fields PATCH sets; the ETag covers exactly these, so a note or a status move does not
# make an edit stale (as in the web editor, whose per-section versions these are).
EDIT_FIELDS: tuple[str, ...] = tuple(FieldsBody.model_fields)


def fields_etag(incident: Incident) -> str:
    """The incident's ETag: a fingerprint (the editor's ``text_version``) of its editable
    fields, each by its own version."""
    versions = "\0".join(text_version(getattr(incident, name)) for name in EDIT_FIELDS)
    return f'"{text_version(versions)}"'


def _matches(if_match: str, etag: str) -> bool:
    """RFC 9110 If-Match: ``*`` or a list of entity tags (weak ones never match)."""
    tags = [t.strip() for t in if_match.split(",")]
    return "*" in tags or etag in tags


def _stale(incident: Incident) -> Reply[StaleEdit]:
    etag = fields_etag(incident)
    current = {name: getattr(incident, name) for name in EDIT_FIELDS}
    message = (
        f"{incident.ref} was edited by someone else since your If-Match; nothing was changed. "
        "Merge your change into the current values and send it again with the new ETag."
    )
    return Reply(StaleEdit(error=message, etag=etag, current=current), 412, {"ETag": etag})


async def edit_incident(request: web.Request) -> Reply[IncidentEnvelope] | Reply[StaleEdit]:
    """Set the title, summary, impact and postmortem fields; all or none are applied.

    With ``If-Match`` (the ``ETag`` of a GET), the edit applies only if none of these fields
    changed since: otherwise a 412 with the current values, and nothing changes. Without it,
    the last writer wins."""
    body = await _body(request, FieldsBody)
    fields = body.model_dump(exclude_none=True)
    if not fields:
        raise _bad_request("nothing to change: send at least one field")
    runtime = _runtime(request)
    ws, number, reader = _workspace(request), _number(request), api_reader(request)
    if_match = request.headers.get("If-Match")
    bases: dict[str, str | None] = dict.fromkeys(fields)
    if if_match is not None:
        seen = (await runtime.service.detail(ws, number, reader=reader)).incident
        if not _matches(if_match, fields_etag(seen)):
            return _stale(seen)
        # Each field's version as the ETag saw it, checked again under the incident's row
        # lock: of two PATCHes racing on one ETag, exactly one wins and the other gets a 412.
        bases = {name: text_version(getattr(seen, name)) for name in fields}
    try:
        # One transaction: a refused field must not leave the fields before it applied.
        outcome = await runtime.service.execute_all(
            ws,
            number,
            [c.EditField(name, value, base=bases[name]) for name, value in fields.items()],
            _actor(request),
            reader=reader,
        )
    except EditConflict:
        return _stale((await runtime.service.detail(ws, number, reader=reader)).incident)
    incident = outcome.incident
    envelope = IncidentEnvelope(incident=incident_out(runtime, incident))
    return Reply(envelope, headers={"ETag": fields_etag(incident)})


async def acknowledge(request: web.Request) -> Reply[CommandResult]:
    """Acknowledge the incident (starts the time to acknowledge clock's stop)."""
    return await _run(request, c.Acknowledge())


async def change_status(request: web.Request) -> Reply[CommandResult]:
    """Move the incident to another status; a move the lifecycle forbids is a 409 listing the
    allowed ones."""
    body = await _body(request, StatusBody)
    return await _run(request, c.ChangeStatus(body.status, body.text))


async def change_severity(request: web.Request) -> Reply[CommandResult]:
    """Change the severity (one of the configured severities)."""
    body = await _body(request, SeverityBody)
    return await _run(request, c.ChangeSeverity(body.severity))


async def assign_role(request: web.Request) -> Reply[CommandResult]:
    """Assign the commander, comms lead or scribe."""
    body = await _body(request, RoleBody)
    return await _run(request, c.AssignRole(body.role, body.user))


async def post_update(request: web.Request) -> Reply[CommandResult] | Reply[PublicPreviewOut]:
    """Post a stakeholder update (to the room and the broadcast channel); ``public`` also
    publishes it to the status page once confirmed (``confirm``), else answers the preview."""
    body = await _body(request, UpdateBody)
    if not body.public:
        return await _run(request, c.PostUpdate(body.text), status=201)
    if body.confirm:
        return await _run(request, c.PublishUpdate(body.text), status=201)
    runtime = _runtime(request)
    pub = await preview_public(
        runtime.service,
        StatuspageRules.from_settings(runtime.settings),
        _workspace(request),
        _number(request),
        body.text,
        reader=api_reader(request),
    )
    return Reply(PublicPreviewOut(published=False, **pub.to_json()))


async def add_note(request: web.Request) -> Reply[CommandResult]:
    """Add a note to the timeline."""
    body = await _body(request, TextBody)
    return await _run(request, c.AddNote(body.text), status=201)


async def set_reminders(request: web.Request) -> Reply[CommandResult]:
    """Turn update reminders on or off, or snooze them for some minutes."""
    body = await _body(request, RemindBody)
    until = None
    if body.snooze_minutes:
        until = _runtime(request).clock.now() + timedelta(minutes=body.snooze_minutes)
    return await _run(request, c.SetReminders(enabled=body.enabled, until=until))


async def get_timeline(request: web.Request) -> Reply[Timeline]:
    """The incident's timeline, oldest first."""
    runtime = _runtime(request)
    detail = await runtime.service.detail(
        _workspace(request), _number(request), reader=api_reader(request)
    )
    return Reply(Timeline(timeline=[_entry_out(e, detail.names) for e in detail.timeline]))


async def add_action_item(request: web.Request) -> Reply[CommandResult]:
    """Add an action item, optionally with an owner and a due time."""
    body = await _body(request, ActionItemBody)
    return await _run(request, c.AddActionItem(body.text, body.owner, body.due), status=201)


async def patch_action_item(request: web.Request) -> Reply[CommandResult]:
    """Mark an action item done, or not done."""
    body = await _body(request, ActionItemPatch)
    item = parse_id(request.match_info["item"], "action item")
    return await _run(request, c.SetActionItemDone(item, body.done))


async def get_postmortem(request: web.Request) -> web.Response:
    """The blameless postmortem as Markdown, HTML or JSON (``format``)."""
    fmt = request.query.get("format", "md")
    if fmt not in ("md", "html", "json"):
        raise _bad_request("format: use md, html or json", field="format")
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


async def publish_postmortem(request: web.Request) -> Reply[CommandResult]:
    """Queue publishing the postmortem to Confluence or Notion (updates its page if published)."""
    body = await _body(request, PublishBody)
    reply = await _run(request, c.RequestPublish(body.target))
    _runtime(request).wake_outbox()
    return reply


Fmt = Literal["md", "html", "json"]


# -- the route table -----------------------------------------------------------------------

REF = Param(
    "ref",
    "path",
    Annotated[str, Field(pattern=r"^(?:[Ii][Nn][Cc]-?)?[1-9][0-9]{0,9}$", examples=["INC-1"])],
    "the incident: ``INC-42`` or ``42``",
    required=True,
)
ITEM = Param(
    "item",
    "path",
    Annotated[int, Field(ge=1, le=MAX_ID, examples=[1])],
    "the action item's id",
    required=True,
)
LIMIT = Param("limit", "query", Annotated[int, Field(ge=1, le=MAX_LIST)], "page size (100)")
OFFSET = Param("offset", "query", Annotated[int, Field(ge=0, le=MAX_OFFSET)], "rows to skip")
STATUS_FILTER = Param(
    "status",
    "query",
    list[Literal["open"] | Status],
    "statuses to list, comma-separated; ``open`` means every open status",
    explode=False,
)
SEVERITY_FILTER = Param("severity", "query", str, "a configured severity, e.g. SEV1")
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    str,
    "a repeated request with the same key returns the first one's incident",
)
IF_MATCH = Param(
    "If-Match",
    "header",
    str,
    "the ``ETag`` of the GET the edit is based on; a stale one is a 412 and nothing changes "
    "(optional: without it the last writer wins)",
)
ETAG_TEXT = "version of the editable fields (title, summary, runbook and postmortem sections)"
POSTMORTEM_FORMAT = Param("format", "query", Fmt, "md (default), html or json")


def _command(
    path: str,
    handler: RouteHandler,
    operation_id: str,
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    status: int = 200,
    preview: type[BaseModel] | None = None,
) -> Route:
    """A command on one incident (POST): answers the incident after it and what changed
    (``preview``: a 200 answer that describes what the command would do)."""
    answers: dict[int, type[BaseModel]] = {status: CommandResult}
    if preview is not None:
        answers[200] = preview
    return Route(
        "POST",
        f"/api/incidents/{{ref}}{path}",
        handler,
        operation_id,
        summary,
        responses=answers,
        body=body,
        params=(REF,),
    )


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/api/incidents",
        list_incidents,
        "listIncidents",
        "List incidents",
        responses={200: IncidentList},
        params=(STATUS_FILTER, SEVERITY_FILTER, LIMIT, OFFSET),
    ),
    Route(
        "POST",
        "/api/incidents",
        declare_incident,
        "declareIncident",
        "Declare an incident",
        responses={201: IncidentEnvelope, 200: IncidentEnvelope},
        body=DeclareBody,
        params=(IDEMPOTENCY_KEY,),
    ),
    Route(
        "GET",
        "/api/incidents/{ref}",
        get_incident,
        "getIncident",
        "Get an incident",
        responses={200: IncidentDetailOut},
        params=(REF,),
        response_headers={"ETag": ETAG_TEXT},
    ),
    Route(
        "PATCH",
        "/api/incidents/{ref}",
        edit_incident,
        "editIncident",
        "Edit an incident's fields",
        responses={200: IncidentEnvelope, 412: StaleEdit},
        body=FieldsBody,
        params=(REF, IF_MATCH),
        response_headers={"ETag": ETAG_TEXT},
    ),
    _command("/acknowledge", acknowledge, "acknowledgeIncident", "Acknowledge"),
    _command("/status", change_status, "changeStatus", "Change the status", body=StatusBody),
    _command(
        "/severity", change_severity, "changeSeverity", "Change the severity", body=SeverityBody
    ),
    _command("/roles", assign_role, "assignRole", "Assign a role", body=RoleBody),
    _command(
        "/updates",
        post_update,
        "postUpdate",
        "Post a stakeholder update (public: preview, then confirm)",
        body=UpdateBody,
        status=201,
        preview=PublicPreviewOut,
    ),
    _command("/notes", add_note, "addNote", "Add a note", body=TextBody, status=201),
    _command("/reminders", set_reminders, "setReminders", "Set update reminders", body=RemindBody),
    Route(
        "GET",
        "/api/incidents/{ref}/timeline",
        get_timeline,
        "getTimeline",
        "Get the timeline",
        responses={200: Timeline},
        params=(REF,),
    ),
    _command(
        "/action-items",
        add_action_item,
        "addActionItem",
        "Add an action item",
        body=ActionItemBody,
        status=201,
    ),
    Route(
        "PATCH",
        "/api/incidents/{ref}/action-items/{item}",
        patch_action_item,
        "setActionItemDone",
        "Mark an action item done",
        responses={200: CommandResult},
        body=ActionItemPatch,
        params=(REF, ITEM),
    ),
    Route(
        "GET",
        "/api/incidents/{ref}/postmortem",
        get_postmortem,
        "getPostmortem",
        "Export the postmortem",
        responses={
            200: Text(
                ("text/markdown", "text/html", "application/json"),
                "the postmortem in the format asked for",
            )
        },
        params=(REF, POSTMORTEM_FORMAT),
    ),
    _command(
        "/postmortem/publish",
        publish_postmortem,
        "publishPostmortem",
        "Publish the postmortem to Confluence or Notion",
        body=PublishBody,
    ),
)
