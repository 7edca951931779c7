"""The /dashboard page: response figures as SVG charts, each with a table of the same numbers.

Pure rendering over ``bot.stats.Figures``. Filters are a plain GET form; charts are inline SVG
(integrations.web.charts), so the page needs no script and loads nothing from elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta

from bot.domain.metrics import format_duration
from bot.domain.policy import Policy
from bot.stats import Figures
from bot.stats_store import Targets
from integrations.web.charts import Series, bar_chart, legend, line_chart
from integrations.web.layout import Viewer, esc, options, page, time_tag, utc

WEEK_CHOICES = (4, 8, 12, 26, 52)


@dataclass(frozen=True, slots=True)
class DashboardView:
    """What the page shows: the figures (None when the filters were refused) and an error."""

    figures: Figures | None
    weeks: int
    severity: str = ""
    service: str = ""
    error: str = ""
    known_services: Sequence[str] = ()


def dashboard_page(view: DashboardView, policy: Policy, targets: Targets, viewer: Viewer) -> str:
    """The whole page."""
    error = f'<div class="error" role="alert">{esc(view.error)}</div>' if view.error else ""
    body = f"<h1>Dashboard</h1>{_filters(view, policy)}{error}"
    fig = view.figures
    if fig is not None:
        body += (
            f'<p class="muted">{esc(fig.weeks[0].label)} to {esc(fig.weeks[-1].label)} '
            "(weeks start Monday, UTC). Private incidents count only for their members and "
            "admins.</p>"
            + _as_of(fig)
            + _summary(fig)
            + _counts(fig)
            + _times(fig, "severity")
            + _times(fig, "service")
            + _attainment(fig, targets)
            + _services_table(fig)
            + _overdue(fig)
        )
    return page("Dashboard", body, viewer)


# -- sections ----------------------------------------------------------------------------------


def _as_of(fig: Figures) -> str:
    # The figures may come from the stats cache (bot.stats_cache), so say when they were
    # computed rather than when the page was drawn.
    at = fig.computed_at.astimezone(UTC)
    stamp = at.isoformat().replace("+00:00", "Z")
    return (
        f'<p class="muted" id="as-of">Figures as of <time datetime="{esc(stamp)}" '
        f'title="{esc(utc(at))}">{at:%H:%M} UTC</time>.</p>'
    )


def _filters(view: DashboardView, policy: Policy) -> str:
    weeks = options(((str(w), f"{w} weeks") for w in WEEK_CHOICES), str(view.weeks))
    sevs = options([("", "All severities"), *((s, s) for s in policy.names)], view.severity)
    services = options([("", "All services"), *((s, s) for s in view.known_services)], view.service)
    return (
        '<form method="get" action="/dashboard" class="filters" aria-label="Filters">'
        f'<div><label for="weeks">Period</label><select id="weeks" name="weeks">{weeks}'
        "</select></div>"
        f'<div><label for="severity">Severity</label><select id="severity" name="severity">'
        f"{sevs}</select></div>"
        f'<div><label for="service">Service</label><select id="service" name="service">'
        f"{services}</select></div>"
        '<div><button type="submit">Show</button></div></form>'
    )


def _summary(fig: Figures) -> str:
    t = fig.total
    facts = [
        ("Incidents", str(t.count)),
        ("Mean time to acknowledge", _duration(t.mtta)),
        ("Mean time to resolve", _duration(t.mttr)),
        ("Acknowledged within SLA", _percent(t.ack_attainment, t.ack_met, t.ack_missed)),
        ("Resolved within SLA", _percent(t.resolve_attainment, t.resolve_met, t.resolve_missed)),
        ("Overdue action items", str(fig.overdue_count)),
    ]
    items = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in facts)
    return f'<h2 id="summary">Summary</h2><dl class="facts">{items}</dl>'


def _counts(fig: Figures) -> str:
    labels = [w.label for w in fig.weeks]
    series = [Series(s, [float(c.count) for c in fig.by_severity_week[s]]) for s in fig.severities]
    chart = bar_chart(
        "chart-incidents",
        "Incidents per week by severity",
        f"Stacked bars: incidents declared each ISO week from {labels[0]} to {labels[-1]}, "
        "by severity.",
        labels,
        series,
        stacked=True,
    )
    rows = [
        (
            w,
            [str(fig.by_severity_week[s][i].count) for s in fig.severities]
            + [str(fig.by_week[i].count)],
        )
        for i, w in enumerate(labels)
    ]
    table = _table("Incidents per week", ["Week", *fig.severities, "All"], rows)
    return _section("incidents", "Incidents per week", chart + legend(series), table)


def _times(fig: Figures, by: str) -> str:
    labels = [w.label for w in fig.weeks]
    if by == "service" and not fig.charted:
        return ""  # no incidents: the counts chart already says so
    names, cells = (
        (fig.severities, fig.by_severity_week)
        if by == "severity"
        else (fig.charted, fig.charted_week)
    )
    out = []
    for measure, title in (("mtta", "Mean time to acknowledge"), ("mttr", "Mean time to resolve")):
        raw = [[getattr(c, measure) for c in cells[n]] for n in names]
        peak = max((v for row in raw for v in row if v is not None), default=0.0)
        scale, unit = (3600.0, "h") if peak >= 2 * 3600 else (60.0, "min")
        series = [
            Series(n, [None if v is None else v / scale for v in row])
            for n, row in zip(names, raw, strict=True)
        ]
        chart_id = f"chart-{measure}-{by}"
        chart = line_chart(
            chart_id,
            f"{title} by {by}, per week ({unit})",
            f"Lines: {title.lower()} in {unit} for each {by}, per ISO week from {labels[0]} "
            f"to {labels[-1]}; a gap means no incident that week.",
            labels,
            series,
            unit=unit,
        )
        rows = [
            (w, [_duration(getattr(cells[n][i], measure)) for n in names])
            for i, w in enumerate(labels)
        ]
        table = _table(f"{title} by {by}", ["Week", *names], rows)
        out.append(
            _section(
                f"{measure}-{by}", f"{title} by {by}", chart + legend(series, lines=True), table
            )
        )
    return "".join(out)


def _attainment(fig: Figures, targets: Targets) -> str:
    names = fig.severities
    series = [
        Series("Acknowledged in time", [_pct(fig.by_severity[n].ack_attainment) for n in names]),
        Series("Resolved in time", [_pct(fig.by_severity[n].resolve_attainment) for n in names]),
    ]
    chart = bar_chart(
        "chart-sla",
        "SLA attainment by severity (%)",
        "Bars: the share of incidents acknowledged and resolved within their severity's "
        "target, for each severity over the period.",
        names,
        series,
        unit="%",
    )
    rows = []
    for n in names:
        c = fig.by_severity[n]
        ack, res = targets.by_severity.get(n, (None, None))
        rows.append(
            (
                n,
                [
                    _duration(ack),
                    _percent(c.ack_attainment, c.ack_met, c.ack_missed),
                    _duration(res),
                    _percent(c.resolve_attainment, c.resolve_met, c.resolve_missed),
                ],
            )
        )
    table = _table(
        "SLA attainment by severity",
        ["Severity", "Ack target", "Acknowledged in time", "Resolve target", "Resolved in time"],
        rows,
    )
    return _section("sla", "SLA attainment", chart + legend(series), table, open_table=True)


def _services_table(fig: Figures) -> str:
    rows = [
        (
            s,
            [
                str(c.count),
                _duration(c.mtta),
                _duration(c.mttr),
                _percent(c.ack_attainment, c.ack_met, c.ack_missed),
                _percent(c.resolve_attainment, c.resolve_met, c.resolve_missed),
            ],
        )
        for s, c in ((s, fig.by_service[s]) for s in fig.services)
    ]
    if not rows:
        return ""
    table = _table(
        "By service",
        ["Service", "Incidents", "MTTA", "MTTR", "Acknowledged in time", "Resolved in time"],
        rows,
    )
    return f'<h2 id="services">By service</h2>{table}'


def _overdue(fig: Figures) -> str:
    head = f'<h2 id="overdue">Overdue action items ({fig.overdue_count})</h2>'
    if not fig.overdue:
        return head + '<p class="muted">None.</p>'
    rows = "".join(
        f'<tr><td><a href="/incidents/{i.incident_number}">INC-{i.incident_number}</a> '
        f"{esc(i.incident_title)}</td><td>{esc(i.text)}</td><td>{esc(i.owner or '—')}</td>"
        f'<td class="when">{time_tag(i.due)}</td></tr>'
        for i in fig.overdue
    )
    more = (
        f'<p class="muted">Showing the {len(fig.overdue)} most overdue.</p>'
        if fig.overdue_count > len(fig.overdue)
        else ""
    )
    return (
        f'{head}<div class="scroll" role="region" aria-label="Overdue action items" '
        'tabindex="0"><table><thead><tr><th scope="col">Incident</th><th scope="col">Item</th>'
        '<th scope="col">Owner</th><th scope="col">Due</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>{more}"
    )


# -- helpers -----------------------------------------------------------------------------------


def _section(anchor: str, title: str, chart: str, table: str, *, open_table: bool = False) -> str:
    opened = " open" if open_table else ""
    return (
        f'<section class="chart-card" aria-labelledby="h-{esc(anchor)}">'
        f'<h2 id="h-{esc(anchor)}">{esc(title)}</h2><figure>{chart}</figure>'
        f"<details{opened}><summary>Table: {esc(title.lower())}</summary>{table}</details>"
        "</section>"
    )


def _table(caption: str, head: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    ths = "".join(f'<th scope="col">{esc(h)}</th>' for h in head)
    body = "".join(
        f'<tr><th scope="row">{esc(k)}</th>{"".join(f"<td>{esc(v)}</td>" for v in vals)}</tr>'
        for k, vals in rows
    )
    return (
        f'<div class="scroll" role="region" aria-label="{esc(caption)}" tabindex="0">'
        f"<table><caption>{esc(caption)}</caption><thead><tr>{ths}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def _duration(seconds: float | None) -> str:
    return format_duration(None if seconds is None else timedelta(seconds=round(seconds)))


def _pct(ratio: float | None) -> float | None:
    return None if ratio is None else ratio * 100


def _percent(ratio: float | None, met: int, missed: int) -> str:
    if ratio is None:
        return "—"
    return f"{ratio * 100:.0f}% ({met} of {met + missed})"
