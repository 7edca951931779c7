"""``GET /search?q=``: the search page, behind the same session guard as every page."""

from __future__ import annotations

from aiohttp import web

from bot.domain.errors import InvalidCommand
from bot.domain.limits import MAX_OFFSET, parse_bounded_int
from bot.search.filters import parse_filters
from handlers.web import _html, _page, _reader, _runtime, _viewer
from integrations.web import session as sess
from integrations.web.search import SearchView, search_page

PER_PAGE = 20


def register(app: web.Application) -> None:
    """Mount /search."""
    app.router.add_get("/search", _page(search))


async def search(request: web.Request, session: sess.Session) -> web.Response:
    """GET /search?q=&status=&severity=&since=&offset="""
    runtime = _runtime(request)
    q = request.query
    view = SearchView(
        q=q.get("q", "")[:256],
        status=q.get("status", "")[:40],
        severity=q.get("severity", "")[:40],
        since=q.get("since", "")[:40],
    )
    policy = runtime.service.policy
    status = 200
    if view.q.strip():
        try:
            offset = parse_bounded_int(q.get("offset", "0"), "offset", low=0, high=MAX_OFFSET)
            filters = parse_filters(
                policy, status=view.status, severity=view.severity, since=view.since
            )
        except InvalidCommand as exc:
            view = SearchView(view.q, view.status, view.severity, view.since, None, str(exc))
            status = 400
        else:
            found = await runtime.search.search(
                runtime.settings.workspace,
                view.q,
                reader=_reader(session),
                filters=filters,
                limit=PER_PAGE,
                offset=offset,
            )
            view = SearchView(view.q, view.status, view.severity, view.since, found)
            status = 400 if found.problem else 200
    return _html(search_page(view, policy, _viewer(request, session)), status)
