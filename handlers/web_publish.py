"""Publishing from the postmortem page, and the timeline picture as its own SVG.

``POST /incidents/{number}/postmortem/publish`` (responder, CSRF, ``target``) runs the core's
``RequestPublish``, which queues the publish in the outbox (audited, on the timeline); the
page shows the link once the service answered. ``GET …/postmortem/timeline.svg`` serves the
picture under the postmortem page's own access rules (Notion pages link to it).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.domain import commands as c
from bot.domain.errors import InvalidCommand
from bot.publish.planner import configured_targets
from bot.publish.refs import page_key
from bot.repository import Repo
from bot.security.access import Access
from handlers.web import _actor, _harden, _number, _page, _reader, _runtime, _see_other, _viewer
from integrations.export.timeline_svg import picture_of, timeline_svg
from integrations.web import session as sess
from integrations.web.publish import publish_card

# An SVG served on its own may hold no script (it has none) and loads nothing.
_SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def register(app: web.Application) -> None:
    """Mount the publish form and the picture route."""
    base = "/incidents/{number}/postmortem"
    app.router.add_post(base + "/publish", _page(publish, Access.RESPONDER))
    app.router.add_get(base + "/timeline.svg", _page(picture))


async def card(request: web.Request, session: sess.Session, number: int) -> str:
    """The postmortem page's Publish card (empty when nothing is configured)."""
    runtime = _runtime(request)
    targets = configured_targets(runtime.settings)
    if not targets:
        return ""
    ws = runtime.settings.workspace

    def pages(repo: Repo) -> dict[str, dict[str, Any] | None]:
        incident = repo.get_incident(ws, number)
        if incident is None or incident.id is None:
            return {}
        return {t: repo.get_chat_ref(ws, t, page_key(incident.id)) for t in targets}

    found = await runtime.service.read(pages)
    can = session.role >= Access.RESPONDER
    return publish_card(number, targets, found, _viewer(request, session).csrf, can)


async def publish(request: web.Request, session: sess.Session) -> web.Response:
    """POST /incidents/{number}/postmortem/publish (target=confluence|notion)"""
    runtime = _runtime(request)
    number = _number(request)
    form = await request.post()
    target = form.get("target")
    if not isinstance(target, str) or target not in configured_targets(runtime.settings):
        raise InvalidCommand("publish where? pick one of the configured targets")
    # A refusal (a private incident, no such incident) becomes the guard's error page.
    await runtime.service.execute(
        runtime.settings.workspace,
        number,
        c.RequestPublish(target),
        _actor(session),
        reader=_reader(session),
    )
    runtime.wake_outbox()
    return _see_other(f"/incidents/{number}/postmortem?done=publishing#publish")


async def picture(request: web.Request, session: sess.Session) -> web.Response:
    """GET /incidents/{number}/postmortem/timeline.svg"""
    runtime = _runtime(request)
    detail = await runtime.service.detail(
        runtime.settings.workspace, _number(request), reader=_reader(session)
    )
    now = runtime.clock.now()
    svg = timeline_svg(picture_of(detail.incident, detail.timeline, now, metrics=detail.metrics))
    resp = web.Response(text=svg, content_type="image/svg+xml", charset="utf-8")
    _harden(resp, _SVG_CSP)
    return resp
