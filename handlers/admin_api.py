"""Admin routes of the JSON API: API tokens and the audit log (the API auth guards them).
Declared in ``ROUTES`` (see ``handlers.openapi_routes``)."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot import audit_log
from bot.audit import Surface
from bot.audit_filters import MAX_FILTER, browse, parse_cursor, parse_filters
from bot.domain.errors import InvalidCommand
from bot.domain.limits import MAX_ID, parse_bounded_int, parse_id
from bot.identity.registry import TokenRegistry, token_json
from bot.identity.tokens import ApiToken, NewToken, TokenKind, parse_expiry, parse_scopes
from bot.runtime import Runtime
from handlers.appkeys import RUNTIME
from handlers.middleware import json_error
from handlers.openapi_models import (
    AuditEntryOut,
    AuditPage,
    TokenCreated,
    TokenEnvelope,
    TokenList,
    TokenOut,
)
from handlers.openapi_routes import Param, Reply, Route, Text, mount, read_body
from handlers.principal import api_actor

MAX_AUDIT_PAGE = audit_log.PAGE


class TokenBody(BaseModel):
    """A new token: whose, what for, which scopes, how long (``30d``, ``12h``, ``never``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    owner: str = Field(min_length=1, max_length=200, examples=["U012ABCDEF"])
    owner_name: str = Field(default="", max_length=200, examples=["Dana Scully"])
    name: str = Field(min_length=1, max_length=100, examples=["ci"])
    kind: TokenKind = TokenKind.PERSONAL
    scopes: list[str] = Field(
        min_length=1,
        max_length=10,
        description="scope names (each item may list several, comma-separated)",
        examples=[["incidents:read", "alerts:read"]],
    )
    expires: str | None = Field(default=None, max_length=20, examples=["30d"])


def register(app: web.Application) -> None:
    """Mount /api/tokens and /api/audit."""
    mount(app, ROUTES)


def _runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def _registry(request: web.Request) -> TokenRegistry:
    rt = _runtime(request)
    return rt.tokens


def _token_out(token: ApiToken, request: web.Request) -> TokenOut:
    return TokenOut.model_validate(token_json(token, token.state(_runtime(request).clock.now())))


async def create_token(request: web.Request) -> Reply[TokenCreated] | web.Response:
    """Create a personal or service token with the given scopes and lifetime (``30d``,
    ``12h``, ``2w`` or ``never``). The secret is in this answer only: store it."""
    body = await read_body(request, TokenBody)
    rt = _runtime(request)
    try:
        new = NewToken(
            workspace=rt.settings.workspace,
            owner=body.owner,
            owner_name=body.owner_name or body.owner,
            kind=body.kind,
            name=body.name,
            scopes=parse_scopes(body.scopes),
            expires_at=parse_expiry(body.expires, rt.clock.now()),
        )
    except InvalidCommand as exc:
        return json_error(400, str(exc))
    created = await _registry(request).create(new, api_actor(request))
    return Reply(
        TokenCreated(
            token=_token_out(created.token, request),
            secret=created.secret,
            note="the secret is shown only now; store it",
        ),
        status=201,
    )


async def list_tokens(request: web.Request) -> Reply[TokenList]:
    """Every token of this workspace, newest first, without secrets."""
    rt = _runtime(request)
    tokens = await _registry(request).list(rt.settings.workspace)
    return Reply(TokenList(tokens=[_token_out(t, request) for t in tokens]))


async def revoke_token(request: web.Request) -> Reply[TokenEnvelope]:
    """Revoke a token: it stops working at once."""
    rt = _runtime(request)
    token_id = parse_id(request.match_info["id"], "token")
    token = await _registry(request).revoke(rt.settings.workspace, token_id, api_actor(request))
    return Reply(TokenEnvelope(token=_token_out(token, request)))


async def export_audit(request: web.Request) -> Reply[AuditPage] | web.Response:
    """One page of the log, filtered and paged by the database, as JSON or CSV.

    In chain order (``asc``, the default) ``next`` (JSON) or the ``X-Next-After`` header gives
    the ``after`` of the next page; newest first (``desc``) ``next`` or ``X-Next-Before`` gives
    its ``before``.
    """
    q = request.query
    fmt = q.get("format", "json")
    if fmt not in ("json", "csv"):
        return json_error(400, "format: use json or csv", field="format")
    order = q.get("order", "asc")
    if order not in ("asc", "desc"):
        return json_error(400, "order: use asc or desc", field="order")
    try:
        limit = parse_bounded_int(q.get("limit", "100"), "limit", low=1, high=MAX_AUDIT_PAGE)
        filters = parse_filters(q)
        before, after = parse_cursor(q, "before"), parse_cursor(q, "after")
    except InvalidCommand as exc:
        return json_error(400, str(exc), field=str(exc).partition(":")[0])
    if before is not None and after is not None:
        return json_error(400, "before: give before or after, not both", field="before")
    rt = _runtime(request)
    desc = order == "desc"
    found = await browse(
        rt.audit, filters, newest_first=desc, before=before, after=after, per_page=limit
    )
    nxt = found.older if desc else found.newer
    headers = {f"X-Next-{'Before' if desc else 'After'}": str(nxt)} if nxt is not None else {}
    if fmt == "csv":
        return web.Response(
            text=audit_log.to_csv(found.entries),
            content_type="text/csv",
            charset="utf-8",
            headers=headers,
        )
    page = AuditPage(
        entries=[AuditEntryOut.model_validate(audit_log.entry_json(e)) for e in found.entries],
        next=nxt,
    )
    return Reply(page, headers=headers)


TOKEN_ID = Param(
    "id",
    "path",
    Annotated[int, Field(ge=1, le=MAX_ID, examples=[1])],
    "the token's id",
    required=True,
)
AUDIT_FORMAT = Param("format", "query", Literal["json", "csv"], "json (default) or csv")
AUDIT_AFTER = Param(
    "after", "query", Annotated[int, Field(ge=0, le=MAX_ID)], "the ``seq`` to start after"
)
AUDIT_BEFORE = Param(
    "before",
    "query",
    Annotated[int, Field(ge=0, le=MAX_ID)],
    "the ``seq`` to end before (not with ``after``)",
)
AUDIT_ORDER = Param(
    "order", "query", Literal["asc", "desc"], "asc (chain order, default) or desc (newest first)"
)
AUDIT_ACTOR = Param(
    "actor", "query", Annotated[str, Field(max_length=MAX_FILTER)], "only this actor's entries"
)
AUDIT_INCIDENT = Param(
    "incident", "query", Annotated[str, Field(examples=["INC-7"])], "only entries about it"
)
AUDIT_SURFACE = Param("surface", "query", Surface, "only entries from this surface")
AUDIT_SINCE = Param(
    "since", "query", Annotated[str, Field(examples=["2026-11-23"])], "from (YYYY-MM-DD or ISO)"
)
AUDIT_UNTIL = Param(
    "until", "query", Annotated[str, Field(examples=["2026-11-30"])], "until (day inclusive)"
)
AUDIT_LIMIT = Param(
    "limit", "query", Annotated[int, Field(ge=1, le=MAX_AUDIT_PAGE)], "page size (100)"
)

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/api/tokens",
        list_tokens,
        "listTokens",
        "List API tokens",
        responses={200: TokenList},
        tag="admin",
    ),
    Route(
        "POST",
        "/api/tokens",
        create_token,
        "createToken",
        "Create an API token",
        responses={201: TokenCreated},
        body=TokenBody,
        tag="admin",
    ),
    Route(
        "DELETE",
        "/api/tokens/{id}",
        revoke_token,
        "revokeToken",
        "Revoke an API token",
        responses={200: TokenEnvelope},
        params=(TOKEN_ID,),
        tag="admin",
    ),
    Route(
        "GET",
        "/api/audit",
        export_audit,
        "exportAudit",
        "Export the audit log",
        responses={
            200: Text(("application/json", "text/csv"), "one page of the log", json_model=AuditPage)
        },
        params=(
            AUDIT_FORMAT,
            AUDIT_ORDER,
            AUDIT_AFTER,
            AUDIT_BEFORE,
            AUDIT_LIMIT,
            AUDIT_ACTOR,
            AUDIT_INCIDENT,
            AUDIT_SURFACE,
            AUDIT_SINCE,
            AUDIT_UNTIL,
        ),
        tag="admin",
        response_headers={
            "X-Next-After": "in chain order: the ``after`` of the next page; absent on the last",
            "X-Next-Before": "newest first: the ``before`` of the next page; absent on the last",
        },
    ),
)
