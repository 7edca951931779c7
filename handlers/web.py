"""The web UI: server-rendered pages for on-call engineers, behind a signed-in session.

People sign in with OpenID Connect and get a role (viewer, responder, admin) from their claims;
the shared API-token form is an explicit opt-in for single-user installs.

Pages are plain HTML forms (Post/Redirect/Get); the HTML itself is rendered by the pure
functions in ``integrations.web``. Core errors are caught here and shown on the page, so the
JSON error middleware never turns a page into JSON.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, time
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.config import secret_text
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import (
    DomainError,
    InvalidCommand,
    NotFound,
)
from bot.domain.limits import parse_id
from bot.domain.model import Role, Status
from bot.people import entra_alias
from bot.postmortem import render_postmortem
from bot.runtime import Runtime
from bot.security.access import Access, Person, entra_object, person_from_claims
from bot.security.membership import Reader
from bot.service import IncidentDetail, parse_ref
from bot.statuspage.preview import preview_public
from bot.statuspage.rules import StatuspageRules
from handlers.appkeys import RUNTIME
from handlers.body import UnreadableForm, read_form
from handlers.middleware import status_for
from handlers.throttle import audit_lockout, auth_throttled
from integrations.export.render import render_facts
from integrations.web import session as sess
from integrations.web.incident import FormError, incident_page
from integrations.web.layout import CSS, JS, Viewer, message_page
from integrations.web.oidc import Config, OidcClient, SignInFailed
from integrations.web.pages import ListView, list_page, login_page
from integrations.web.public_update import public_preview_page

log = logging.getLogger(__name__)

Page = Callable[[web.Request, sess.Session], Awaitable[web.StreamResponse]]
Build = Callable[[Mapping[str, str]], c.Command]
# A card another module adds to the incident page's Act column (handlers.web_outside): it gets
# the incident shown and, after a refused form, that form's error and values.
IncidentCard = Callable[
    [web.Request, sess.Session, IncidentDetail, FormError | None, Mapping[str, str]],
    Awaitable[str],
]
INCIDENT_CARDS = web.AppKey("incident_cards", list[IncidentCard])

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
    app[OIDC] = {}
    app[INCIDENT_CARDS] = []
    r.add_get("/login", login_form)
    r.add_post("/login", login)
    r.add_get("/login/oidc", oidc_start)
    r.add_get("/login/oidc/callback", oidc_callback)
    r.add_post("/logout", _page(logout))
    r.add_get("/incidents", _page(incidents))
    # Every state-changing form needs a responder; reading needs only a signed-in viewer.
    act = Access.RESPONDER
    r.add_post("/incidents", _page(declare, act))
    r.add_get("/incidents/{number}", _page(incident))
    r.add_get("/incidents/{number}/postmortem.{fmt:md|html|json}", _page(postmortem))
    r.add_post("/incidents/{number}/acknowledge", _page(acknowledge, act))
    r.add_post("/incidents/{number}/status", _page(change_status, act))
    r.add_post("/incidents/{number}/updates", _page(post_update, act))
    r.add_post("/incidents/{number}/updates/public", _page(publish_update, act))
    r.add_post("/incidents/{number}/notes", _page(add_note, act))
    r.add_post("/incidents/{number}/roles", _page(assign_role, act))
    r.add_post("/incidents/{number}/severity", _page(change_severity, act))
    r.add_post("/incidents/{number}/action-items", _page(add_action_item, act))
    r.add_post("/incidents/{number}/action-items/{item}", _page(set_action_item_done, act))


# One OIDC client per app (keyed by its configuration), so discovery and keys are cached.
OIDC = web.AppKey("sitrep_oidc_clients", dict[Config, OidcClient])


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
        "The web UI is disabled because no sign-in is configured. Set SITREP_OIDC_ISSUER, "
        "SITREP_OIDC_CLIENT_ID and SITREP_OIDC_CLIENT_SECRET (or, for a single-user install, "
        "SITREP_API_TOKEN with SITREP_WEB_SHARED_TOKEN_LOGIN=true) and restart sitrep.",
        403,
    )


# -- session plumbing ----------------------------------------------------------------------


def _runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def _shared_token(request: web.Request) -> str | None:
    """The API token when the shared-token login is switched on, else None."""
    settings = _runtime(request).settings
    if not settings.web_shared_token_login:
        return None
    return secret_text(settings.api_token) or None


def _key(request: web.Request) -> str | None:
    """The session MAC key, or None when no sign-in is configured (the UI is off).

    Every secret a session depends on goes in, so rotating any of them signs everyone out.
    """
    settings = _runtime(request).settings
    parts = [secret_text(settings.web_session_secret), _shared_token(request) or ""]
    if settings.oidc_enabled:
        parts.append(secret_text(settings.oidc_client_secret))
    if not (settings.oidc_enabled or _shared_token(request)):
        return None
    return "\0".join(parts)


def _now(request: web.Request) -> datetime:
    return _runtime(request).clock.now()


def _viewer(request: web.Request, session: sess.Session) -> Viewer:
    key = _key(request)
    assert key is not None
    return Viewer(
        session.name or session.actor_id,
        sess.csrf_token(key, session),
        admin=session.role >= Access.ADMIN,
    )


def _actor(session: sess.Session) -> Actor:
    # Only admins skip the core's commander checks, as SITREP_ADMINS do in chat; the
    # shared-token operator of a single-user install counts as one.
    # The surface is the web whatever the id looks like (an OIDC subject, a Slack user id).
    return Actor(
        id=session.actor_id,
        display=session.name,
        trusted=session.role >= Access.ADMIN,
        surface="web",
    )


def _safe_next(value: str) -> str:
    # Only same-site paths, so the login form cannot be used as an open redirect.
    return sess.safe_next(value)


async def current_session(request: web.Request, key: str) -> sess.Session | None:
    """The live session the request's cookie opens, or None.

    The cookie's MAC is checked first, so junk cookies cost no database read; then the
    server-side record must exist in this workspace, unrevoked and unexpired.
    """
    raw = request.cookies.get(sess.COOKIE, "")
    secret = sess.cookie_secret(key, raw) if raw else None
    if secret is None:
        return None
    record = await _runtime(request).sessions.check(secret)
    return sess.Session.of(record, secret) if record is not None else None


def _page(handler: Page, need: Access = Access.VIEWER) -> Handler:
    """Guard a route: UI enabled, valid session, CSRF on POST, the role ``need``, errors as HTML."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        key = _key(request)
        if key is None:
            return _disabled()
        session = await current_session(request, key)
        if session is None:
            if request.method == "GET":
                resp = _see_other(f"/login?next={quote(request.rel_url.path_qs, safe='')}")
            else:
                resp = _message(
                    "Signed out",
                    "Your session has ended (signed out, expired or revoked). Sign in again.",
                    403,
                    link='<a href="/login">Sign in</a>',
                )
            if sess.COOKIE in request.cookies:
                # A dead session's cookie is of no more use; drop it.
                resp.del_cookie(sess.COOKIE, path="/")
            return resp
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
        if session.role < need:
            return _message(
                "Not allowed",
                f"You are signed in as a {session.role.label}; this needs the {need.label} "
                "role. Ask a sitrep admin to give you that role.",
                403,
                _viewer(request, session),
            )
        try:
            return await handler(request, session)
        except DomainError as exc:
            title = "Not found" if isinstance(exc, NotFound) else "Request refused"
            return _message(title, str(exc), status_for(exc), _viewer(request, session))
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


def _login_page(request: web.Request, status: int = 200, **kw: str) -> web.Response:
    nxt = kw.pop("next_path", "") or request.query.get("next", "/incidents")
    settings = _runtime(request).settings
    body = login_page(
        next_path=_safe_next(nxt),
        token_form=_shared_token(request) is not None,
        oidc=settings.oidc_enabled,
        **kw,
    )
    return _html(body, status)


async def login_form(request: web.Request) -> web.Response:
    """GET /login"""
    if _key(request) is None:
        return _disabled()
    return _login_page(request)


async def login(request: web.Request) -> web.Response:
    """POST /login: check the shared token (when switched on), set the session cookie."""
    key = _key(request)
    if key is None:
        return _disabled()
    shared = _shared_token(request)
    if shared is None:
        return _message(
            "Token sign-in off",
            "Signing in with the API token is switched off here; use the sign-in button.",
            403,
            link='<a href="/login">Sign in</a>',
        )
    try:
        form = await read_form(request)
    except UnreadableForm as exc:
        return _message(
            "Form not readable", exc.message, exc.status, link='<a href="/login">Sign in</a>'
        )
    token, name, nxt = (_text(form.get(k)) for k in ("token", "name", "next"))
    next_path = _safe_next(nxt)
    ok = sess.token_matches(token, shared)
    # An empty token is no guess; only a wrong one counts towards a lockout.
    refused = auth_throttled(request, ok) if ok or token.strip() else None
    if refused is not None:
        return refused
    if not ok:
        log.warning("web login refused: wrong token", extra={"remote": request.remote})
        if token.strip():
            # Like the throttle, an empty form is no guess and not worth a chain entry.
            await _sign_in_failed(request, "wrong API token", method="token")
            await audit_lockout(request)
        return _login_page(
            request, 401, error="That token is not right.", next_path=next_path, name=name
        )
    actor = sess.shared_actor(name)
    cookie = await _open_session(request, key, actor, sess.clean_name(name), Access.ADMIN)
    await _audit_sign(request, actor, "sign_in", method="token", role="admin")
    resp = _see_other(next_path)
    _set_session(request, resp, cookie)
    return resp


async def _open_session(request: web.Request, key: str, actor: str, name: str, role: Access) -> str:
    """A new server-side session (a fresh secret: signing in rotates it) and its cookie.

    The session this browser held before, if any, is revoked: nothing from before the sign-in
    carries over, and the old cookie cannot be replayed.
    """
    sessions = _runtime(request).sessions
    old = await current_session(request, key)
    if old is not None:
        await sessions.revoke(
            old.id, Actor(id=old.actor_id, surface="web"), reason="replaced by a new sign-in"
        )
    agent = request.headers.get("User-Agent", "")
    _, secret = await sessions.open(actor, name, role, agent)
    return sess.cookie_value(key, secret)


def _set_session(request: web.Request, resp: web.StreamResponse, cookie: str) -> None:
    # Lax, not Strict: the OIDC callback ends a redirect chain that started at the provider,
    # and Chromium withholds Strict cookies for the whole chain. Every form still needs the
    # session's CSRF token, so a cross-site POST gains nothing.
    resp.set_cookie(
        sess.COOKIE,
        cookie,
        max_age=int(sess.TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_secure(request),
    )


def _secure(request: web.Request) -> bool:
    return _runtime(request).settings.public_url.startswith("https")


def _oidc(request: web.Request) -> OidcClient:
    settings = _runtime(request).settings
    config = Config(
        settings.oidc_issuer,
        settings.oidc_client_id,
        secret_text(settings.oidc_client_secret),
        settings.oidc_scopes,
    )
    clients = request.app[OIDC]
    if config not in clients:
        clients[config] = OidcClient(config)
    return clients[config]


def _redirect_uri(request: web.Request) -> str:
    # The provider has this exact URL registered; behind a proxy only public_url knows it.
    base = _runtime(request).settings.public_url.rstrip("/")
    if not base:
        base = f"{request.url.scheme}://{request.url.host}:{request.url.port}"
    return f"{base}/login/oidc/callback"


async def oidc_start(request: web.Request) -> web.Response:
    """GET /login/oidc?next=: send the browser to the identity provider."""
    key = _key(request)
    if key is None or not _runtime(request).settings.oidc_enabled:
        return _message("Sign-in off", "OpenID Connect sign-in is not configured.", 404)
    try:
        start = await _oidc(request).start(_redirect_uri(request))
    except SignInFailed as exc:
        log.warning("OIDC sign-in could not start: %s", exc)
        return _message("Sign-in unavailable", f"Sign-in failed: {exc}.", 502, link=_RETRY)
    pending = sess.Pending(
        start.state, start.nonce, start.verifier, _safe_next(request.query.get("next", ""))
    )
    resp = _see_other(start.url)
    # Lax: the provider sends the browser back with a cross-site GET, which Strict would drop.
    resp.set_cookie(
        sess.PENDING_COOKIE,
        sess.pending_cookie(key, _now(request), pending),
        max_age=int(sess.PENDING_TTL.total_seconds()),
        path="/login/oidc",
        httponly=True,
        samesite="Lax",
        secure=_secure(request),
    )
    return resp


_RETRY = '<a href="/login">Sign in again</a>'


async def oidc_callback(request: web.Request) -> web.Response:
    """GET /login/oidc/callback?code=&state=: check the answer, sign the person in."""
    key = _key(request)
    settings = _runtime(request).settings
    if key is None or not settings.oidc_enabled:
        return _message("Sign-in off", "OpenID Connect sign-in is not configured.", 404)
    raw = request.cookies.get(sess.PENDING_COOKIE, "")
    pending = sess.read_pending(key, raw, _now(request)) if raw else None
    state = request.query.get("state", "")
    # state ties this answer to the sign-in this browser started (no login CSRF).
    if pending is None or not sess.token_matches(state, pending.state):
        log.warning("OIDC sign-in refused: state mismatch", extra={"remote": request.remote})
        return await _callback_refused(
            request, "state mismatch", "This sign-in does not match the one this browser started."
        )
    if request.query.get("error"):
        reason = sess.clean_name(request.query.get("error_description", "") or "")
        return await _callback_refused(
            request,
            f"provider error: {sess.clean_name(request.query['error'])} {reason}".strip(),
            f"The identity provider did not sign you in. {reason}".strip(),
            401,
        )
    code = request.query.get("code", "")
    if not code:
        return await _callback_refused(
            request, "no code", "The identity provider sent no sign-in code."
        )
    try:
        claims = await _oidc(request).finish(
            code,
            _redirect_uri(request),
            pending.verifier,
            pending.nonce,
            request.query.get("iss"),
        )
    except SignInFailed as exc:
        log.warning("OIDC sign-in refused: %s", exc)
        return await _callback_refused(request, str(exc), f"Sign-in failed: {exc}.")
    # A good answer clears the client's refusals (or is refused if it got locked out meanwhile).
    throttled = auth_throttled(request, True)
    if throttled is not None:
        return throttled
    person = await _person(request, claims)
    # A brand-new session id on every sign-in: nothing from before the login carries over.
    cookie = await _open_session(
        request, key, person.actor_id, sess.clean_name(person.display), person.role
    )
    await _audit_sign(request, person.actor_id, "sign_in", method="oidc", role=person.role.label)
    resp = _see_other(pending.next_path)
    _set_session(request, resp, cookie)
    resp.del_cookie(sess.PENDING_COOKIE, path="/login/oidc")
    log.info("web sign-in", extra={"actor": person.actor_id, "role": person.role.label})
    return resp


async def _person(request: web.Request, claims: Mapping[str, object]) -> Person:
    """Who signed in: an Entra ID sign-in linked to a Teams user (bot.people) acts as them."""
    runtime = _runtime(request)
    settings, people = runtime.settings, runtime.people
    linked = None
    entra = entra_object(settings.oidc_issuer, claims)
    alias = entra_alias(*entra) if entra else None
    if alias is not None:
        linked = await people.actor_for(settings.workspace, alias)
    person = person_from_claims(settings.oidc_issuer, claims, settings.role_rules(), linked=linked)
    if linked is None:
        # The provider's name for its own id; a linked person is named by their platform.
        await people.remember(settings.workspace, person.actor_id, person.display, "oidc")
    return person


async def _audit_sign(request: web.Request, actor: str, action: str, **detail: str) -> None:
    """Append a sign-in event to the audit chain (never a token, code or secret)."""
    await _runtime(request).audit.record(
        at=_now(request), actor=actor, action=action, surface="web", detail=detail
    )


async def _sign_in_failed(request: web.Request, reason: str, method: str = "oidc") -> None:
    # Nobody is known yet: the client address is all there is to tell attempts apart.
    await _audit_sign(
        request,
        "anonymous",
        "sign_in_failed",
        method=method,
        reason=reason,
        client=request.remote or "",
    )


async def _callback_refused(
    request: web.Request, reason: str, message: str, status: int = 400
) -> web.Response:
    """Refuse a sign-in answer: it counts as a failure of this client in the auth throttle,
    and is audited, unless the client is locked out (then only the 429 goes back).

    A forged callback costs its sender nothing to send; counting it keeps a flood of them from
    turning into a flood of audit entries, and the lockout itself is audited once.
    """
    throttled = auth_throttled(request, False)
    if throttled is not None:
        return throttled
    await _sign_in_failed(request, reason)
    await audit_lockout(request)
    return _refused(message, status)


def _refused(message: str, status: int = 400) -> web.Response:
    resp = _message("Sign-in refused", message, status, link=_RETRY)
    resp.del_cookie(sess.PENDING_COOKIE, path="/login/oidc")
    return resp


async def logout(request: web.Request, session: sess.Session) -> web.Response:
    """POST /logout: the session is revoked server-side, so its cookie is dead everywhere."""
    await _runtime(request).sessions.revoke(
        session.id, _actor(session), owner=session.actor_id, reason="signed out"
    )
    await _audit_sign(request, session.actor_id, "sign_out")
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
        view = await _list_view(request, session, status, severity)
    except DomainError as exc:
        view = ListView(filtered=[], status=status, severity=severity, filter_error=str(exc))
        return await _list_response(request, session, view, 400)
    return await _list_response(request, session, view)


def _reader(session: sess.Session) -> Reader:
    # A private incident shows to its members and admins only (bot.security.membership); the
    # shared-token login is the operator, an admin.
    return Reader.of(session.actor_id, admin=session.role >= Access.ADMIN)


async def _list_view(
    request: web.Request, session: sess.Session, status: str, severity: str
) -> ListView:
    runtime = _runtime(request)
    reader = _reader(session)
    ws = runtime.settings.workspace
    sev = severity or None
    if status and status != "open" and status not in {s.value for s in Status}:
        raise InvalidCommand(f"unknown status {status!r}")
    if status or severity:
        statuses = [Status(status)] if status and status != "open" else None
        found = await runtime.service.list(
            ws,
            open_only=status == "open",
            statuses=statuses,
            severity=sev,
            limit=OPEN_MAX,
            reader=reader,
        )
        # Open incidents first, newest first within each group (the list comes newest first).
        found.sort(key=lambda i: not i.is_open)
        return ListView(filtered=found, status=status, severity=severity)
    open_ = await runtime.service.list(ws, open_only=True, limit=OPEN_MAX, reader=reader)
    recent = await runtime.service.list(
        ws, statuses=[Status.RESOLVED, Status.CLOSED], limit=RECENT, reader=reader
    )
    return ListView(open=open_, recent=recent)


async def _list_response(
    request: web.Request, session: sess.Session, view: ListView, status: int = 200
) -> web.Response:
    runtime = _runtime(request)
    shown = [*view.open, *view.recent, *(view.filtered or ())]
    commanders = {i.commander for i in shown if i.commander}
    names = await runtime.people.names(runtime.settings.workspace, commanders)
    view = dataclasses.replace(view, names=names)
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
        view = await _list_view(request, session, "", "")
        view = ListView(view.open, view.recent, error=str(exc), values=values)
        return await _list_response(request, session, view, status_for(exc))
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
    # A non-member gets the same answer as for no incident at all: nothing to probe for.
    detail = await runtime.service.detail(
        runtime.settings.workspace, number, reader=_reader(session)
    )
    cards = [
        await card(request, session, detail, error, values or {})
        for card in request.app[INCIDENT_CARDS]
    ]
    body = incident_page(
        detail,
        runtime.service.policy,
        _viewer(request, session),
        _now(request),
        notice=request.query.get("done", "") if error is None else "",
        error=error,
        values=values,
        public_updates=bool(runtime.settings.statuspage_page_id),
        cards="".join(cards),
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
    text = await render_postmortem(
        runtime.service, ws, number, lambda f: render_facts(f, fmt), reader=_reader(session)
    )
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
        await runtime.service.execute(
            runtime.settings.workspace, number, cmd, _actor(session), reader=_reader(session)
        )
    except DomainError as exc:
        # If the incident itself is gone, the re-render raises NotFound: the guard's 404 page.
        error = FormError(key, str(exc))
        return await _render(
            request, session, number, error=error, values=values, status=status_for(exc)
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
    """POST /incidents/{number}/updates (text, public): a stakeholder update; ticked
    ``public``, the preview page of what the status page would show (nothing sent)."""
    values = _fields(await request.post())
    if not values.get("public"):
        return await _act(request, session, "update", lambda v: c.PostUpdate(v.get("text", "")))
    runtime, number = _runtime(request), _number(request)
    try:
        pub = await preview_public(
            runtime.service,
            StatuspageRules.from_settings(runtime.settings),
            runtime.settings.workspace,
            number,
            values.get("text", ""),
            reader=_reader(session),
        )
    except DomainError as exc:
        error = FormError("update", str(exc))
        return await _render(
            request, session, number, error=error, values=values, status=status_for(exc)
        )
    return _html(public_preview_page(number, pub, _viewer(request, session)))


async def publish_update(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/updates/public (text): the confirm of a previewed update."""
    return await _act(request, session, "update", lambda v: c.PublishUpdate(v.get("text", "")))


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
