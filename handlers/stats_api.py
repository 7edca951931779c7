"""GET /api/stats: the dashboard's figures as JSON (``incidents:read``; the API auth guards it).

Query: ``weeks`` (1-52, default 12), ``severity``, ``service`` (``(none)`` for incidents with
no service). Figures count only incidents the token's owner may see (bot.stats). They come
through the stats cache (bot.stats_cache), so they may be up to SITREP_STATS_CACHE_SECONDS old;
``computed_at`` says when they were computed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aiohttp import web
from pydantic import Field

from bot.domain.limits import parse_bounded_int
from bot.domain.snapshot import iso
from bot.stats import DEFAULT_WEEKS, MAX_WEEKS, Cell, Figures, StatsQuery
from bot.stats_store import OverdueItem, Targets
from handlers.appkeys import RUNTIME
from handlers.openapi_models import Out, Timestamp
from handlers.openapi_routes import Param, Reply, Route, mount
from handlers.principal import api_reader


class Attainment(Out):
    """One SLA target's outcome: met, missed, and met ÷ (met + missed) (null when none)."""

    met: int
    missed: int
    ratio: float | None


class Figure(Out):
    """Counts and means for one group of incidents."""

    incidents: int
    acknowledged: int
    resolved: int
    mtta_seconds: float | None
    mttr_seconds: float | None
    sla_ack: Attainment
    sla_resolve: Attainment


class WeekFigure(Figure):
    """A figure for one ISO week."""

    week: str


class SeverityFigures(Figure):
    """A severity's totals and weeks."""

    severity: str
    weeks: list[WeekFigure]


class ServiceFigures(Figure):
    """A service's totals and weeks (``(none)``: incidents with no service)."""

    service: str
    weeks: list[WeekFigure]


class Target(Out):
    """A severity's SLA targets in seconds (null: none)."""

    severity: str
    ack_seconds: float | None
    resolve_seconds: float | None


class OverdueActionItem(Out):
    """An undone action item past its due date."""

    incident: str
    incident_title: str
    text: str
    owner: str | None
    due: str | None


class Overdue(Out):
    """How many action items are overdue, and the most overdue of them."""

    count: int
    items: list[OverdueActionItem]


class StatsResponse(Out):
    """Everything /dashboard shows."""

    computed_at: Timestamp = Field(
        description="When these figures were computed; they are cached per process for up to "
        "SITREP_STATS_CACHE_SECONDS, so they may be that old."
    )
    weeks: list[str]
    since: str | None
    until: str | None
    severity: str | None
    service: str | None
    targets: list[Target]
    total: Figure
    by_week: list[WeekFigure]
    by_severity: list[SeverityFigures]
    by_service: list[ServiceFigures]
    action_items_overdue: Overdue


def register(app: web.Application) -> None:
    """Mount GET /api/stats."""
    mount(app, ROUTES)


def query_of(params: dict[str, str]) -> StatsQuery:
    """The stats query from URL parameters (empty values mean "all")."""
    raw = params.get("weeks", "").strip()
    weeks = parse_bounded_int(raw, "weeks", low=1, high=MAX_WEEKS) if raw else DEFAULT_WEEKS
    service = params.get("service")
    return StatsQuery(
        weeks=weeks,
        severity=params.get("severity") or None,
        service=service if service else None,
    )


async def get_stats(request: web.Request) -> Reply[StatsResponse]:
    """MTTA/MTTR by week, severity and service, SLA attainment and overdue action items."""
    runtime = request.app[RUNTIME]
    query = query_of(dict(request.query))
    fig = await runtime.stats.figures(
        runtime.settings.workspace, runtime.service.policy, query, api_reader(request)
    )
    return Reply(stats_response(fig, Targets.of(runtime.service.policy)))


def stats_response(fig: Figures, targets: Targets) -> StatsResponse:
    """The API's view of the figures."""
    labels = [w.label for w in fig.weeks]

    def weeks(cells: list[Cell]) -> list[WeekFigure]:
        return [
            WeekFigure(week=w, **_figure(c).model_dump())
            for w, c in zip(labels, cells, strict=True)
        ]

    return StatsResponse(
        computed_at=fig.computed_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        weeks=labels,
        since=iso(fig.since),
        until=iso(fig.until),
        severity=fig.query.severity,
        service=fig.query.service,
        targets=[
            Target(severity=name, ack_seconds=pair[0], resolve_seconds=pair[1])
            for name, pair in targets.by_severity.items()
        ],
        total=_figure(fig.total),
        by_week=weeks(fig.by_week),
        by_severity=[
            SeverityFigures(
                severity=s,
                weeks=weeks(fig.by_severity_week[s]),
                **_figure(fig.by_severity[s]).model_dump(),
            )
            for s in fig.severities
        ],
        by_service=[
            ServiceFigures(
                service=s,
                weeks=weeks(fig.by_service_week[s]),
                **_figure(fig.by_service[s]).model_dump(),
            )
            for s in fig.services
        ],
        action_items_overdue=Overdue(
            count=fig.overdue_count, items=[_item(i) for i in fig.overdue]
        ),
    )


def _figure(c: Cell) -> Figure:
    return Figure(
        incidents=c.count,
        acknowledged=c.acked,
        resolved=c.resolved,
        mtta_seconds=c.mtta,
        mttr_seconds=c.mttr,
        sla_ack=Attainment(met=c.ack_met, missed=c.ack_missed, ratio=c.ack_attainment),
        sla_resolve=Attainment(
            met=c.resolve_met, missed=c.resolve_missed, ratio=c.resolve_attainment
        ),
    )


def _item(i: OverdueItem) -> OverdueActionItem:
    due: datetime = i.due
    return OverdueActionItem(
        incident=f"INC-{i.incident_number}",
        incident_title=i.incident_title,
        text=i.text,
        owner=i.owner,
        due=iso(due),
    )


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/api/stats",
        get_stats,
        "getStats",
        "Response times and SLA attainment",
        responses={200: StatsResponse},
        params=(
            Param(
                "weeks",
                "query",
                Annotated[int, Field(ge=1, le=MAX_WEEKS)],
                f"how many ISO weeks up to this one ({DEFAULT_WEEKS})",
            ),
            Param("severity", "query", str, "only this severity, e.g. SEV1"),
            Param(
                "service",
                "query",
                Annotated[str, Field(max_length=100)],
                "only this service; ``(none)`` for incidents without one",
            ),
        ),
        tag="stats",
    ),
)
