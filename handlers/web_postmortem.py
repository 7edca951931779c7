"""The postmortem editor's routes: the page, section saves with a version check, the
Markdown preview, action items and "mark reviewed".

Behind the same session guard as every page (signed in, CSRF on POST, responder to change
anything); every change is a core command, so the service writes the timeline and the audit
entry (before/after) and enforces private-incident membership.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from bot.domain import commands as c
from bot.domain.decide import MAX_SECTION
from bot.domain.errors import DomainError, EditConflict, InvalidCommand
from bot.domain.limits import parse_id
from bot.domain.model import POSTMORTEM_SECTIONS
from bot.security.access import Access
from handlers.middleware import status_for
from handlers.web import (
    _CSP,
    _action_item,
    _actor,
    _fields,
    _harden,
    _now,
    _number,
    _page,
    _reader,
    _runtime,
    _see_other,
    _viewer,
)
from handlers.web_publish import card as publish_card
from integrations.web import session as sess
from integrations.web.postmortem import Draft, PostmortemView, postmortem_page, preview_fragment

# The page's script fetches previews from its own origin; nothing else changes from _CSP.
_PAGE_CSP = _CSP + "; connect-src 'self'"
_SECTIONS = "|".join(POSTMORTEM_SECTIONS)


def register(app: web.Application) -> None:
    """Mount /incidents/{number}/postmortem and its forms."""
    r = app.router
    act = Access.RESPONDER
    base = "/incidents/{number}/postmortem"
    r.add_get(base, _page(show))
    r.add_post(base + "/preview", _page(preview, act))
    r.add_post(base + "/review", _page(review, act))
    r.add_post(base + "/action-items", _page(add_item, act))
    r.add_post(base + "/action-items/{item}", _page(set_item_done, act))
    r.add_post(base + "/{section:" + _SECTIONS + "}", _page(save_section, act))


def _respond(body: str, status: int = 200) -> web.Response:
    resp = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    _harden(resp, _PAGE_CSP)
    return resp


async def _render(
    request: web.Request,
    session: sess.Session,
    *,
    draft: Draft | None = None,
    item_error: str = "",
    item_values: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    runtime = _runtime(request)
    # A non-member gets the same 404 as for no incident at all.
    detail = await runtime.service.detail(
        runtime.settings.workspace, _number(request), reader=_reader(session)
    )
    view = PostmortemView(
        can_edit=session.role >= Access.RESPONDER,
        notice=request.query.get("done", "") if draft is None and not item_error else "",
        draft=draft,
        item_error=item_error,
        item_values=item_values,
        publish=await publish_card(request, session, _number(request)),
    )
    body = postmortem_page(
        detail, runtime.service.policy, _viewer(request, session), _now(request), view
    )
    return _respond(body, status)


async def show(request: web.Request, session: sess.Session) -> web.Response:
    """GET /incidents/{number}/postmortem"""
    return await _render(request, session)


def _text(form: Mapping[str, object]) -> str:
    """The textarea's text as stored: browsers send CRLF line breaks; the core keeps LF."""
    value = form.get("text")
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else ""


async def save_section(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/postmortem/{section} (text, base, action=save|preview)"""
    section = request.match_info["section"]
    form = await request.post()
    text = _text(form)
    base = form.get("base")
    base = base if isinstance(base, str) else ""
    number = _number(request)
    if form.get("action") == "preview":
        # The no-script preview: the same page, this section open with its draft rendered.
        return await _render(request, session, draft=Draft(section, text, base, preview=True))
    runtime = _runtime(request)
    try:
        if not base:
            raise InvalidCommand(
                "this form does not say which version it was based on; reload the page"
            )
        outcome = await runtime.service.execute(
            runtime.settings.workspace,
            number,
            c.EditField(section, text, base=base),
            _actor(session),
            reader=_reader(session),
        )
    except EditConflict as exc:
        # Their text is shown; the draft stays in the editor, now based on their version.
        draft = Draft(section, text, exc.version, error=str(exc), current=exc.current)
        return await _render(request, session, draft=draft, status=409)
    except DomainError as exc:
        draft = Draft(section, text, base, error=str(exc))
        return await _render(request, session, draft=draft, status=status_for(exc))
    done = "saved" if outcome.changed else "unchanged"
    return _see_other(f"/incidents/{number}/postmortem?done={done}#s-{section}")


async def preview(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/postmortem/preview (text): the rendered Markdown as an HTML
    fragment, for the page's script. Changes nothing."""
    runtime = _runtime(request)
    # Only someone who may see the incident gets an answer about it.
    await runtime.service.get(runtime.settings.workspace, _number(request), reader=_reader(session))
    text = _text(await request.post())
    if len(text) > MAX_SECTION:
        raise InvalidCommand(f"the text is {len(text)} characters; the limit is {MAX_SECTION}")
    return _respond(preview_fragment(text))


async def review(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/postmortem/review: mark the postmortem reviewed."""
    runtime = _runtime(request)
    number = _number(request)
    try:
        await runtime.service.execute(
            runtime.settings.workspace,
            number,
            c.MarkPostmortemReviewed(),
            _actor(session),
            reader=_reader(session),
        )
    except DomainError as exc:
        return await _render(request, session, item_error=str(exc), status=status_for(exc))
    return _see_other(f"/incidents/{number}/postmortem?done=reviewed#review")


async def _item_command(
    request: web.Request, session: sess.Session, cmd: c.Command, key: str
) -> web.Response:
    runtime = _runtime(request)
    number = _number(request)
    await runtime.service.execute(
        runtime.settings.workspace, number, cmd, _actor(session), reader=_reader(session)
    )
    return _see_other(f"/incidents/{number}/postmortem?done={key}#pm-items")


async def add_item(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/postmortem/action-items (text, owner, due)"""
    values = _fields(await request.post())
    try:
        return await _item_command(request, session, _action_item(values), "action")
    except DomainError as exc:
        return await _render(
            request, session, item_error=str(exc), item_values=values, status=status_for(exc)
        )


async def set_item_done(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/postmortem/action-items/{item} (done=1|0)"""
    values = _fields(await request.post())
    try:
        item = parse_id(request.match_info["item"], "action item")
        cmd = c.SetActionItemDone(item, values.get("done", "1") != "0")
        return await _item_command(request, session, cmd, "item")
    except DomainError as exc:
        return await _render(request, session, item_error=str(exc), status=status_for(exc))
