"""GET /dashboard: response figures for signed-in viewers (private incidents per membership).

Read through the runtime's stats cache (bot.stats_cache); the page says when they were computed.
"""

from __future__ import annotations

from aiohttp import web

from bot.domain.errors import InvalidCommand
from bot.stats import DEFAULT_WEEKS, StatsQuery
from bot.stats_store import Targets
from handlers.stats_api import query_of
from handlers.web import _html, _page, _reader, _runtime, _viewer
from integrations.web import session as sess
from integrations.web.dashboard import DashboardView, dashboard_page


def register(app: web.Application) -> None:
    """Mount /dashboard (any signed-in role may read it)."""
    app.router.add_get("/dashboard", _page(dashboard))


async def dashboard(request: web.Request, session: sess.Session) -> web.Response:
    """GET /dashboard?weeks=&severity=&service="""
    runtime = _runtime(request)
    policy = runtime.service.policy
    params = dict(request.query)
    view_args = {
        "severity": params.get("severity", ""),
        "service": params.get("service", ""),
    }
    reader = _reader(session)
    status = 200
    try:
        query = query_of(params)
        fig = await runtime.stats.figures(runtime.settings.workspace, policy, query, reader)
        view = DashboardView(fig, query.weeks, known_services=fig.known_services, **view_args)
    except InvalidCommand as exc:
        # Show the form again with the refusal, and the default figures under it.
        fig = await runtime.stats.figures(runtime.settings.workspace, policy, StatsQuery(), reader)
        view = DashboardView(
            fig, DEFAULT_WEEKS, error=str(exc), known_services=fig.known_services, **view_args
        )
        status = 400
    body = dashboard_page(view, policy, Targets.of(policy), _viewer(request, session))
    return _html(body, status)
