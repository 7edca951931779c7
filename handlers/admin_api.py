"""Admin routes of the JSON API: API tokens and the audit log (the API auth guards them).
Declared in ``ROUTES`` (see ``handlers.openapi_routes``)."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot import audit_log
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
    """One page of the audit log in chain order, as JSON or CSV; ``next`` (JSON) or the
    ``X-Next-After`` header gives the ``after`` of the next page."""
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv"):
        return json_error(400, "format: use json or csv", field="format")
    try:
        # seq is a Postgres ``integer``: a larger ``after`` would overflow the query.
        after = parse_bounded_int(request.query.get("after", "0"), "after", low=0, high=MAX_ID)
        limit = parse_bounded_int(
            request.query.get("limit", "100"), "limit", low=1, high=MAX_AUDIT_PAGE
        )
    except InvalidCommand as exc:
        return json_error(400, str(exc), field=str(exc).partition(":")[0])
    rt = _runtime(request)
    entries = await rt.audit.page(after_seq=after, limit=limit)
    nxt = entries[-1].seq if len(entries) == limit else None
    headers = {"X-Next-After": str(nxt)} if nxt is not None else {}
    if fmt == "csv":
        return web.Response(
            text=audit_log.to_csv(entries),
            content_type="text/csv",
            charset="utf-8",
            headers=headers,
        )
    page = AuditPage(
        entries=[AuditEntryOut.model_validate(audit_log.entry_json(e)) for e in entries],
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
    "after", "query", Annotated[int, Field(ge=0, le=MAX_ID)], "the ``seq`` to start after (0)"
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
        params=(AUDIT_FORMAT, AUDIT_AFTER, AUDIT_LIMIT),
        tag="admin",
        response_headers={"X-Next-After": "the ``after`` of the next page; absent on the last"},
    ),
)
