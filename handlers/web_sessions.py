"""The signed-in person's page and sessions (/me), and the admin's session controls.

Behind the same session guard as every page (signed in, CSRF on POST, the role the route
needs); bot.identity.session_registry revokes and audits.
"""

from __future__ import annotations

from aiohttp import web

from bot.domain.errors import InvalidCommand, NotFound
from bot.identity.sessions import parse_person, parse_session_id
from bot.security.access import Access
from handlers.web import _actor, _html, _page, _runtime, _see_other, _viewer
from integrations.web import session as sess
from integrations.web.sessions import AdminSessionsView, MeView, admin_sessions_page, me_page

_NOTICES = {
    "revoked": "Session signed out: it stops working at its next request.",
    "others": "Every other session of yours is signed out.",
    "none": "There was no other session to sign out.",
}
_ADMIN_NOTICES = {
    "revoked": "Signed out everywhere: each of their sessions ends at its next request.",
    "demoted": "Role lowered on every live session of that person.",
    "none": "Nothing to change: that person has no live session it applies to.",
}


def register(app: web.Application) -> None:
    """Mount /me, /me/sessions/… and /admin/sessions…"""
    r = app.router
    r.add_get("/me", _page(me))
    r.add_post("/me/sessions/revoke-others", _page(revoke_others))
    r.add_post("/me/sessions/{id}/revoke", _page(revoke_mine))
    admin = Access.ADMIN
    r.add_get("/admin/sessions", _page(admin_sessions, admin))
    r.add_post("/admin/sessions/revoke", _page(admin_revoke, admin))
    r.add_post("/admin/sessions/demote", _page(admin_demote, admin))


async def me(request: web.Request, session: sess.Session) -> web.Response:
    """GET /me: who you are signed in as, and every live session of yours."""
    sessions = await _runtime(request).sessions.list_live(session.actor_id)
    view = MeView(
        actor_id=session.actor_id,
        name=session.name,
        role=session.role,
        sessions=sessions,
        current=session.id,
        notice=_NOTICES.get(request.query.get("done", ""), ""),
    )
    return _html(me_page(view, _viewer(request, session)))


def _session_id(request: web.Request) -> int:
    return parse_session_id(request.match_info["id"])


async def revoke_mine(request: web.Request, session: sess.Session) -> web.Response:
    """POST /me/sessions/{id}/revoke: sign out one of your own sessions."""
    revoked = await _runtime(request).sessions.revoke(
        _session_id(request), _actor(session), owner=session.actor_id, reason="signed out by owner"
    )
    # Someone else's session answers like a missing one, so ids cannot be probed.
    if not revoked:
        raise NotFound("no live session of yours with that id")
    return _see_other("/me?done=revoked#sessions")


async def revoke_others(request: web.Request, session: sess.Session) -> web.Response:
    """POST /me/sessions/revoke-others: sign out everywhere but here."""
    n = await _runtime(request).sessions.revoke_all(
        session.actor_id, _actor(session), keep=session.id, reason="signed out by owner"
    )
    return _see_other(f"/me?done={'others' if n else 'none'}#sessions")


async def admin_sessions(request: web.Request, session: sess.Session) -> web.Response:
    """GET /admin/sessions: every live session of the workspace, by person."""
    return await _admin_view(request, session)


async def _admin_view(
    request: web.Request, session: sess.Session, *, error: str = "", status: int = 200
) -> web.Response:
    sessions = await _runtime(request).sessions.list_live()
    notice = "" if error else _ADMIN_NOTICES.get(request.query.get("done", ""), "")
    view = AdminSessionsView(sessions=sessions, notice=notice, error=error)
    return _html(admin_sessions_page(view, _viewer(request, session)), status)


def _person(form: object) -> str:
    return parse_person(form.get("person") if hasattr(form, "get") else None)


async def admin_revoke(request: web.Request, session: sess.Session) -> web.Response:
    """POST /admin/sessions/revoke (person): end every session of that person."""
    form = await request.post()
    try:
        person = _person(form)
    except InvalidCommand as exc:
        return await _admin_view(request, session, error=str(exc), status=400)
    ended = await _runtime(request).sessions.admin_revoke(_actor(session), person=person)
    return _see_other(f"/admin/sessions?done={'revoked' if ended else 'none'}")


async def admin_demote(request: web.Request, session: sess.Session) -> web.Response:
    """POST /admin/sessions/demote (person, role): lower that person's live sessions."""
    form = await request.post()
    try:
        person = _person(form)
        raw = form.get("role")
        try:
            role = Access.parse(raw if isinstance(raw, str) else "")
        except ValueError:
            raise InvalidCommand("role: use viewer or responder") from None
    except InvalidCommand as exc:
        return await _admin_view(request, session, error=str(exc), status=400)
    n = await _runtime(request).sessions.demote(person, role, _actor(session))
    return _see_other(f"/admin/sessions?done={'demoted' if n else 'none'}")
