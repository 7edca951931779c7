"""Admin pages of the web UI: API tokens and the audit log; and a person's own tokens.

Behind the same session guard as every page (signed in, CSRF on POST, the role the route
needs); the token registry and the audit log do the work and write the audit entries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web

from bot import audit_log
from bot.audit_filters import browse, parse_cursor, parse_filters
from bot.domain.errors import InvalidCommand, NotFound
from bot.domain.limits import is_number
from bot.identity.tokens import NewToken, Scope, TokenKind, parse_expiry, parse_scopes
from bot.security.access import Access
from handlers.web import _actor, _harden, _html, _now, _page, _runtime, _see_other, _viewer
from integrations.web import session as sess
from integrations.web.admin import (
    AuditView,
    TokensView,
    audit_page,
    created_page,
    tokens_page,
    verdict_page,
)

PER_PAGE = 50
ADMIN_BASE = "/admin/tokens"
ME_BASE = "/me/tokens"
_READ = frozenset({Scope.INCIDENTS_READ, Scope.ALERTS_READ})
_WRITE = _READ | {Scope.INCIDENTS_WRITE, Scope.ALERTS_WRITE}
_NOTICES = {"revoked": "Token revoked: it stops working at once."}


def register(app: web.Application) -> None:
    """Mount /admin/tokens, /admin/audit and /me/tokens."""
    r = app.router
    admin = Access.ADMIN
    r.add_get(ADMIN_BASE, _page(admin_tokens, admin))
    r.add_post(ADMIN_BASE, _page(admin_create, admin))
    r.add_post(ADMIN_BASE + "/{id}/revoke", _page(admin_revoke, admin))
    r.add_get("/admin/audit", _page(audit, admin))
    r.add_get("/admin/audit/verify", _page(audit_verify, admin))
    r.add_get("/admin/audit.{fmt:csv|json}", _page(audit_export, admin))
    r.add_get(ME_BASE, _page(my_tokens))
    r.add_post(ME_BASE, _page(my_create))
    r.add_post(ME_BASE + "/{id}/revoke", _page(my_revoke))


def allowed_scopes(role: Access) -> frozenset[Scope]:
    """What a person may put on their own token: no more than their role lets them do."""
    if role >= Access.ADMIN:
        return frozenset(Scope)
    return _WRITE if role >= Access.RESPONDER else _READ


# -- tokens --------------------------------------------------------------------------------


async def _tokens_view(
    request: web.Request, session: sess.Session, *, mine: bool, error: str = "", status: int = 200
) -> web.Response:
    rt = _runtime(request)
    tokens = await rt.tokens.list(rt.settings.workspace)
    if mine:
        tokens = [t for t in tokens if t.owner == session.actor_id]
    view = TokensView(
        base=ME_BASE if mine else ADMIN_BASE,
        tokens=tokens,
        scopes=allowed_scopes(session.role) if mine else frozenset(Scope),
        personal_only=mine,
        notice=_NOTICES.get(request.query.get("done", ""), "") if not error else "",
        error=error,
        names=await rt.people.names(rt.settings.workspace, {t.owner for t in tokens}),
    )
    return _html(tokens_page(view, _viewer(request, session), _now(request)), status)


async def admin_tokens(request: web.Request, session: sess.Session) -> web.Response:
    """GET /admin/tokens: every token of the workspace."""
    return await _tokens_view(request, session, mine=False)


async def my_tokens(request: web.Request, session: sess.Session) -> web.Response:
    """GET /me/tokens: the signed-in person's own tokens."""
    return await _tokens_view(request, session, mine=True)


def _form(form: Mapping[str, object], key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


async def _create(request: web.Request, session: sess.Session, *, mine: bool) -> web.Response:
    form = await request.post()
    rt = _runtime(request)
    scopes_given = [v for v in form.getall("scope", []) if isinstance(v, str)]
    try:
        name = _form(form, "name")
        if not name or len(name) > 100:
            raise InvalidCommand("name: give the token a name of up to 100 characters")
        scopes = parse_scopes(scopes_given)
        if mine:
            over = scopes - allowed_scopes(session.role)
            if over:
                raise InvalidCommand(
                    f"a {session.role.label} may not grant "
                    f"{', '.join(sorted(s.value for s in over))}"
                )
            owner, owner_name, kind = session.actor_id, session.name, TokenKind.PERSONAL
        else:
            owner = _form(form, "owner")
            if not owner or len(owner) > 200:
                raise InvalidCommand("owner: name who the token belongs to")
            try:
                kind = TokenKind(_form(form, "kind") or "personal")
            except ValueError:
                raise InvalidCommand("kind: use personal or service") from None
            owner_name = owner
        new = NewToken(
            workspace=rt.settings.workspace,
            owner=owner,
            owner_name=owner_name or owner,
            kind=kind,
            name=name,
            scopes=scopes,
            expires_at=parse_expiry(_form(form, "expires") or None, rt.clock.now()),
        )
    except InvalidCommand as exc:
        return await _tokens_view(request, session, mine=mine, error=str(exc), status=400)
    created = await rt.tokens.create(new, _actor(session))
    back = ME_BASE if mine else ADMIN_BASE
    return _html(created_page(created.token, created.secret, back, _viewer(request, session)))


async def admin_create(request: web.Request, session: sess.Session) -> web.Response:
    """POST /admin/tokens (owner, kind, name, scope…, expires): the secret, once."""
    return await _create(request, session, mine=False)


async def my_create(request: web.Request, session: sess.Session) -> web.Response:
    """POST /me/tokens (name, scope…, expires): a personal token within the person's role."""
    return await _create(request, session, mine=True)


def _token_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not is_number(raw) or len(raw) > 18:
        raise NotFound(f"no API token {raw!r}")
    return int(raw)


async def admin_revoke(request: web.Request, session: sess.Session) -> web.Response:
    """POST /admin/tokens/{id}/revoke"""
    rt = _runtime(request)
    await rt.tokens.revoke(rt.settings.workspace, _token_id(request), _actor(session))
    return _see_other(f"{ADMIN_BASE}?done=revoked")


async def my_revoke(request: web.Request, session: sess.Session) -> web.Response:
    """POST /me/tokens/{id}/revoke: only one of the person's own tokens."""
    rt = _runtime(request)
    token_id = _token_id(request)
    tokens = await rt.tokens.list(rt.settings.workspace)
    # Someone else's token answers like a missing one, so ids cannot be probed.
    if not any(t.id == token_id and t.owner == session.actor_id for t in tokens):
        raise NotFound(f"no API token #{token_id} of yours")
    await rt.tokens.revoke(rt.settings.workspace, token_id, _actor(session))
    return _see_other(f"{ME_BASE}?done=revoked")


# -- audit log -----------------------------------------------------------------------------


async def audit(request: web.Request, session: sess.Session) -> web.Response:
    """GET /admin/audit?actor=&incident=&surface=&since=&until=&order=&before=|after=: one
    page, filtered and paged by the database."""
    q = request.query
    order = q.get("order", "desc")
    if order not in ("desc", "asc"):
        raise InvalidCommand("order: use desc or asc")
    filters = parse_filters(q)
    rt = _runtime(request)
    found = await browse(
        rt.audit,
        filters,
        newest_first=order == "desc",
        before=parse_cursor(q, "before"),
        after=parse_cursor(q, "after"),
        per_page=PER_PAGE,
    )
    view = AuditView(
        entries=found.entries,
        order=order,
        params=filters.params(q),
        older=found.older,
        newer=found.newer,
        names=await rt.people.names(rt.settings.workspace, {e.actor for e in found.entries}),
    )
    return _html(audit_page(view, _viewer(request, session)))


async def audit_verify(request: web.Request, session: sess.Session) -> web.Response:
    """GET /admin/audit/verify: walk the whole chain, page by page, and say whether it holds."""
    verdict = await _runtime(request).audit.verify()
    body = verdict_page(verdict.entries, verdict.broken_at, _viewer(request, session))
    return _html(body, 200)


async def audit_export(request: web.Request, session: sess.Session) -> web.StreamResponse:
    """GET /admin/audit.csv|json: the whole chain as a download, streamed page by page."""
    log = _runtime(request).audit
    fmt = request.match_info["fmt"]
    resp = web.StreamResponse()
    resp.content_type = "text/csv" if fmt == "csv" else "application/json"
    resp.charset = "utf-8"
    _harden(resp, "default-src 'none'")
    resp.headers["Content-Disposition"] = f'attachment; filename="sitrep-audit.{fmt}"'
    await resp.prepare(request)
    await resp.write(b"" if fmt == "csv" else b'{"entries": [')
    after, first = 0, True
    while True:
        entries = await log.page(after_seq=after)
        if fmt == "csv":
            chunk = audit_log.to_csv(entries, header=first)
        else:
            chunk = ",".join(json.dumps(audit_log.entry_json(e)) for e in entries)
            chunk = ("" if first or not entries else ",") + chunk
        await resp.write(chunk.encode())
        first = False
        if len(entries) < audit_log.PAGE:
            break
        after = entries[-1].seq
    if fmt == "json":
        await resp.write(b"]}")
    await resp.write_eof()
    return resp
