"""The web UI: server-rendered pages for on-call engineers, behind a token-login session.

Pages are plain HTML forms (Post/Redirect/Get); the HTML itself is rendered by the pure
functions in ``integrations.web``. Core errors are caught here and shown on the page, so the
JSON error middleware never turns a page into JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, time
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import (
    Conflict,
    DomainError,
    InvalidCommand,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from bot.domain.limits import parse_id
from bot.domain.model import Role, Status
from bot.postmortem import render_postmortem
from bot.runtime import Runtime
from bot.service import parse_ref
from handlers.appkeys import RUNTIME
from handlers.body import UnreadableForm, read_form
from handlers.throttle import auth_throttled
from integrations.export.render import render_facts
from integrations.web import session as sess
from integrations.web.incident import FormError, incident_page
from integrations.web.layout import CSS, JS, Viewer, message_page
from integrations.web.pages import ListView, list_page, login_page

log = logging.getLogger(__name__)

Page = Callable[[web.Request, sess.Session], Awaitable[web.StreamResponse]]
Build = Callable[[Mapping[str, str]], c.Command]

RECENT = 25
OPEN_MAX = 200
_CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# The exported postmortem HTML carries its own inline styles; it still may run no script.
_EXPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'"
_EXPORT_TYPES = {"md": "text/markdown", "html": "text/html", "json": "application/json"}


def register(app: web.Application) -> None:
    """Mount the web UI's routes."""
    r = app.router
    r.add_get("/", root)
    r.add_get("/assets/{name}", asset)
    r.add_get("/login", login_form)
    r.add_post("/login", login)
    r.add_post("/logout", _page(logout))
    r.add_get("/incidents", _page(incidents))
    r.add_post("/incidents", _page(declare))
    r.add_get("/incidents/{number}", _page(incident))
    r.add_get("/incidents/{number}/postmortem.{fmt:md|html|json}", _page(postmortem))
    r.add_post("/incidents/{number}/acknowledge", _page(acknowledge))
    r.add_post("/incidents/{number}/status", _page(change_status))
    r.add_post("/incidents/{number}/updates", _page(post_update))
    r.add_post("/incidents/{number}/notes", _page(add_note))
    r.add_post("/incidents/{number}/roles", _page(assign_role))
    r.add_post("/incidents/{number}/severity", _page(change_severity))
    r.add_post("/incidents/{number}/action-items", _page(add_action_item))
    r.add_post("/incidents/{number}/action-items/{item}", _page(set_action_item_done))


# -- responses -----------------------------------------------------------------------------


def _html(body: str, status: int = 200) -> web.Response:
    resp = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    _harden(resp, _CSP)
    return resp


def _harden(resp: web.StreamResponse, csp: str) -> None:
    resp.headers["Content-Security-Policy"] = csp
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["X-Frame-Options"] = "DENY"
    # Incident pages may be private; keep them out of shared caches and the back-forward cache.
    resp.headers["Cache-Control"] = "no-store"


def _see_other(location: str) -> web.Response:
    resp = web.Response(status=303, headers={"Location": location})
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _message(
    title: str, message: str, status: int, viewer: Viewer | None = None, link: str = ""
) -> web.Response:
    link = link or ('<a href="/incidents">Back to incidents</a>' if viewer else "")
    return _html(message_page(title, message, viewer=viewer, link=link), status)


def _disabled() -> web.Response:
    return _message(
        "Web UI disabled",
        "The web UI is disabled because no API token is configured. "
        "Set SITREP_API_TOKEN and restart sitrep to enable it.",
        403,
    )


def _status_for(exc: Exception) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, InvalidTransition | Conflict):
        return 409
    return 400


# -- session plumbing ----------------------------------------------------------------------


def _runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def _key(request: web.Request) -> str | None:
    token = _runtime(request).settings.api_token
    value = token.get_secret_value() if token is not None else ""
    return value or None


def _now(request: web.Request) -> datetime:
    return _runtime(request).clock.now()


def _viewer(request: web.Request, session: sess.Session) -> Viewer:
    key = _key(request)
    assert key is not None
    return Viewer(session.name or session.actor_id, sess.csrf_token(key, session))


def _actor(session: sess.Session) -> Actor:
    return Actor(id=session.actor_id, display=session.name, trusted=True)


def _safe_next(value: str) -> str:
    # Only same-site paths, so the login form cannot be used as an open redirect.
    return sess.safe_next(value)


def _page(handler: Page) -> Handler:
    """Guard a route: UI enabled, valid session, CSRF on POST, errors rendered as HTML."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        key = _key(request)
        if key is None:
            return _disabled()
        raw = request.cookies.get(sess.COOKIE, "")
        session = sess.read_session(key, raw, _now(request)) if raw else None
        if session is None:
            if request.method == "GET":
                return _see_other(f"/login?next={quote(request.rel_url.path_qs, safe='')}")
            return _message(
                "Signed out",
                "Your session has expired or the API token changed. Sign in again.",
                403,
                link='<a href="/login">Sign in</a>',
            )
        if request.method == "POST":
            try:
                form = await read_form(request)
            except UnreadableForm as exc:
                return _message(
                    "Form not readable", exc.message, exc.status, _viewer(request, session)
                )
            given = form.get("csrf")
            if not isinstance(given, str) or not sess.check_csrf(key, session, given):
                return _message(
                    "Form expired",
                    "This form is missing its security token or it has expired. "
                    "Reload the page and try again.",
                    403,
                    _viewer(request, session),
                )
        try:
            return await handler(request, session)
        except DomainError as exc:
            title = "Not found" if isinstance(exc, NotFound) else "Request refused"
            return _message(title, str(exc), _status_for(exc), _viewer(request, session))
        except Exception:
            log.exception("web page failed", extra={"path": request.path})
            return _message(
                "Something went wrong",
                "sitrep hit an internal error; the server log has the details.",
                500,
                _viewer(request, session),
            )

    return guarded


# -- public routes -------------------------------------------------------------------------


async def root(request: web.Request) -> web.Response:
    """GET / → the incident list."""
    return _see_other("/incidents")


async def asset(request: web.Request) -> web.Response:
    """GET /assets/sitrep.css|js: the stylesheet and the optional script."""
    name = request.match_info["name"]
    if name == "sitrep.css":
        resp = web.Response(text=CSS, content_type="text/css", charset="utf-8")
    elif name == "sitrep.js":
        resp = web.Response(text=JS, content_type="text/javascript", charset="utf-8")
    else:
        return web.Response(status=404, text="no such asset", content_type="text/plain")
    # The page links them with a content hash (?v=), so a long cache is safe.
    resp.headers["Cache-Control"] = "public, max-age=86400"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


async def login_form(request: web.Request) -> web.Response:
    """GET /login"""
    if _key(request) is None:
        return _disabled()
    return _html(login_page(next_path=_safe_next(request.query.get("next", "/incidents"))))


async def login(request: web.Request) -> web.Response:
    """POST /login: check the token, set the session cookie."""
    key = _key(request)
    if key is None:
        return _disabled()
    try:
        form = await read_form(request)
    except UnreadableForm as exc:
        return _message(
            "Form not readable", exc.message, exc.status, link='<a href="/login">Sign in</a>'
        )
    token, name, nxt = (_text(form.get(k)) for k in ("token", "name", "next"))
    next_path = _safe_next(nxt)
    ok = sess.token_matches(token, key)
    # An empty token is no guess; only a wrong one counts towards a lockout.
    refused = auth_throttled(request, ok) if ok or token.strip() else None
    if refused is not None:
        return refused
    if not ok:
        log.warning("web login refused: wrong token", extra={"remote": request.remote})
        page = login_page(error="That token is not right.", next_path=next_path, name=name)
        return _html(page, 401)
    _, cookie = sess.new_session(key, _now(request), name)
    resp = _see_other(next_path)
    resp.set_cookie(
        sess.COOKIE,
        cookie,
        max_age=int(sess.TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=_runtime(request).settings.public_url.startswith("https"),
    )
    return resp


async def logout(request: web.Request, session: sess.Session) -> web.Response:
    """POST /logout"""
    resp = _see_other("/login")
    resp.del_cookie(sess.COOKIE, path="/")
    return resp


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# -- incident list -------------------------------------------------------------------------


async def incidents(request: web.Request, session: sess.Session) -> web.Response:
    """GET /incidents?status=&severity="""
    status = request.query.get("status", "")
    severity = request.query.get("severity", "")
    try:
        view = await _list_view(request, status, severity)
    except DomainError as exc:
        view = ListView(filtered=[], status=status, severity=severity, filter_error=str(exc))
        return _list_response(request, session, view, 400)
    return _list_response(request, session, view)


async def _list_view(request: web.Request, status: str, severity: str) -> ListView:
    runtime = _runtime(request)
    ws = runtime.settings.workspace
    sev = severity or None
    if status and status != "open" and status not in {s.value for s in Status}:
        raise InvalidCommand(f"unknown status {status!r}")
    if status or severity:
        statuses = [Status(status)] if status and status != "open" else None
        found = await runtime.service.list(
            ws, open_only=status == "open", statuses=statuses, severity=sev, limit=OPEN_MAX
        )
        # Open incidents first, newest first within each group (the list comes newest first).
        found.sort(key=lambda i: not i.is_open)
        return ListView(filtered=found, status=status, severity=severity)
    open_ = await runtime.service.list(ws, open_only=True, limit=OPEN_MAX)
    recent = await runtime.service.list(ws, statuses=[Status.RESOLVED, Status.CLOSED], limit=RECENT)
    return ListView(open=open_, recent=recent)


def _list_response(
    request: web.Request, session: sess.Session, view: ListView, status: int = 200
) -> web.Response:
    runtime = _runtime(request)
    body = list_page(view, runtime.service.policy, _viewer(request, session), _now(request))
    return _html(body, status)


async def declare(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents: declare from the form, then go to the new incident."""
    values = _fields(await request.post())
    runtime = _runtime(request)
    cmd = c.Declare(
        title=values.get("title", ""),
        severity=values.get("severity") or None,
        summary=values.get("summary", ""),
        private=bool(values.get("private")),
        origin="web",
    )
    try:
        outcome = await runtime.service.declare(runtime.settings.workspace, cmd, _actor(session))
    except DomainError as exc:
        view = await _list_view(request, "", "")
        view = ListView(view.open, view.recent, error=str(exc), values=values)
        return _list_response(request, session, view, _status_for(exc))
    return _see_other(f"/incidents/{outcome.incident.number}?done=declared")


# -- one incident --------------------------------------------------------------------------


def _number(request: web.Request) -> int:
    try:
        return parse_ref(request.match_info["number"])
    except InvalidCommand:
        raise NotFound(f"no incident {request.match_info['number']!r}") from None


def _fields(form: Mapping[str, object]) -> dict[str, str]:
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


async def _render(
    request: web.Request,
    session: sess.Session,
    number: int,
    *,
    error: FormError | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    runtime = _runtime(request)
    detail = await runtime.service.detail(runtime.settings.workspace, number)
    body = incident_page(
        detail,
        runtime.service.policy,
        _viewer(request, session),
        _now(request),
        notice=request.query.get("done", "") if error is None else "",
        error=error,
        values=values,
    )
    return _html(body, status)


async def incident(request: web.Request, session: sess.Session) -> web.Response:
    """GET /incidents/{number}"""
    return await _render(request, session, _number(request))


async def postmortem(request: web.Request, session: sess.Session) -> web.Response:
    """GET /incidents/{number}/postmortem.md|html|json"""
    fmt = request.match_info["fmt"]
    runtime = _runtime(request)
    number = _number(request)
    ws = runtime.settings.workspace
    text = await render_postmortem(runtime.service, ws, number, lambda f: render_facts(f, fmt))
    resp = web.Response(text=text, content_type=_EXPORT_TYPES[fmt], charset="utf-8")
    _harden(resp, _EXPORT_CSP)
    if fmt != "html":
        resp.headers["Content-Disposition"] = f'inline; filename="INC-{number}-postmortem.{fmt}"'
    return resp


async def _act(
    request: web.Request, session: sess.Session, key: str, build: Build, *, anchor: str = ""
) -> web.Response:
    """Run one form's command; on a refusal re-render the page with the message."""
    number = _number(request)
    values = _fields(await request.post())
    runtime = _runtime(request)
    try:
        cmd = build(values)
        await runtime.service.execute(runtime.settings.workspace, number, cmd, _actor(session))
    except DomainError as exc:
        # If the incident itself is gone, the re-render raises NotFound: the guard's 404 page.
        error = FormError(key, str(exc))
        return await _render(
            request, session, number, error=error, values=values, status=_status_for(exc)
        )
    return _see_other(f"/incidents/{number}?done={key}{anchor}")


def _status(values: Mapping[str, str]) -> c.Command:
    raw = values.get("status", "")
    try:
        target = Status(raw)
    except ValueError:
        raise InvalidCommand("pick the status to move to") from None
    return c.ChangeStatus(target, values.get("text", "").strip())


def _role(values: Mapping[str, str]) -> c.Command:
    try:
        role = Role(values.get("role", ""))
    except ValueError:
        raise InvalidCommand(f"unknown role; use one of {', '.join(Role)}") from None
    return c.AssignRole(role, values.get("user", ""))


def _severity(values: Mapping[str, str]) -> c.Command:
    if not values.get("severity"):
        raise InvalidCommand("pick the new severity")
    return c.ChangeSeverity(values["severity"])


def _action_item(values: Mapping[str, str]) -> c.Command:
    due = None
    if values.get("due"):
        try:
            # A due date means the end of that day, in UTC.
            day = datetime.strptime(values["due"], "%Y-%m-%d").date()
        except ValueError:
            raise InvalidCommand("due date: use YYYY-MM-DD") from None
        due = datetime.combine(day, time(23, 59, 59), UTC)
    return c.AddActionItem(values.get("text", ""), values.get("owner") or None, due)


async def acknowledge(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/acknowledge"""
    return await _act(request, session, "ack", lambda _v: c.Acknowledge())


async def change_status(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/status (status, text)"""
    return await _act(request, session, "status", _status)


async def post_update(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/updates (text): a stakeholder update."""
    return await _act(request, session, "update", lambda v: c.PostUpdate(v.get("text", "")))


async def add_note(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/notes (text)"""
    return await _act(request, session, "note", lambda v: c.AddNote(v.get("text", "")))


async def assign_role(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/roles (role, user)"""
    return await _act(request, session, "role", _role)


async def change_severity(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/severity (severity)"""
    return await _act(request, session, "severity", _severity)


async def add_action_item(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/action-items (text, owner, due)"""
    return await _act(request, session, "action", _action_item, anchor="#action-items")


async def set_action_item_done(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/action-items/{item} (done=1|0)"""
    item = request.match_info["item"]

    def build(values: Mapping[str, str]) -> c.Command:
        return c.SetActionItemDone(parse_id(item, "action item"), values.get("done", "1") != "0")

    return await _act(request, session, "item", build, anchor="#action-items")
