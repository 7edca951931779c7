"""Admin routes of the JSON API: API tokens and the audit log (the API auth guards them)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot import audit_log
from bot.audit_filters import browse, parse_cursor, parse_filters
from bot.domain.errors import InvalidCommand
from bot.domain.limits import parse_bounded_int, parse_id
from bot.identity.registry import TokenRegistry, token_json
from bot.identity.tokens import NewToken, TokenKind, parse_expiry, parse_scopes
from bot.runtime import Runtime
from handlers.appkeys import RUNTIME
from handlers.body import read_json
from handlers.middleware import json_error
from handlers.principal import api_actor

MAX_AUDIT_PAGE = audit_log.PAGE


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    owner: str = Field(min_length=1, max_length=200)
    owner_name: str = Field(default="", max_length=200)
    name: str = Field(min_length=1, max_length=100)
    kind: TokenKind = TokenKind.PERSONAL
    scopes: list[str] = Field(min_length=1, max_length=10)
    expires: str | None = Field(default=None, max_length=20)


def register(app: web.Application) -> None:
    """Mount /api/tokens and /api/audit."""
    r = app.router
    r.add_get("/api/tokens", list_tokens)
    r.add_post("/api/tokens", create_token)
    r.add_delete("/api/tokens/{id}", revoke_token)
    r.add_get("/api/audit", export_audit)


def _runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def _registry(request: web.Request) -> TokenRegistry:
    rt = _runtime(request)
    return rt.tokens


async def create_token(request: web.Request) -> web.Response:
    """POST /api/tokens {"owner", "name", "scopes", "expires": "30d"}: the secret, once."""
    data = await read_json(request)
    try:
        body = TokenBody.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        return json_error(400, f"{where}: {err['msg']}", field=where)
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
    return web.json_response(
        {
            "token": token_json(created.token, created.token.state(rt.clock.now())),
            "secret": created.secret,
            "note": "the secret is shown only now; store it",
        },
        status=201,
    )


async def list_tokens(request: web.Request) -> web.Response:
    """GET /api/tokens: every token of this workspace, without secrets."""
    rt = _runtime(request)
    now = rt.clock.now()
    tokens = await _registry(request).list(rt.settings.workspace)
    return web.json_response({"tokens": [token_json(t, t.state(now)) for t in tokens]})


async def revoke_token(request: web.Request) -> web.Response:
    """DELETE /api/tokens/{id}: the token stops working at once."""
    rt = _runtime(request)
    token_id = parse_id(request.match_info["id"], "token")
    token = await _registry(request).revoke(rt.settings.workspace, token_id, api_actor(request))
    return web.json_response({"token": token_json(token, token.state(rt.clock.now()))})


async def export_audit(request: web.Request) -> web.Response:
    """GET /api/audit?format=json|csv&limit=&order=asc|desc&after=|before=<seq>&actor=
    &incident=&surface=&since=&until=: one page of the log, filtered and paged by the database.

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
    body: dict[str, Any] = {
        "entries": [audit_log.entry_json(e) for e in found.entries],
        "next": nxt,
    }
    return web.json_response(body, headers=headers)
