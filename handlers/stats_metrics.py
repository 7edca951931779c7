"""The dashboard's figures as Prometheus gauges, for ``/metrics``.

Over the last ``WEEKS`` ISO weeks, this instance's workspace, every incident (``/metrics``
is the operator's view, like ``sitrep_incidents``). Labels are bounded: ``severity`` takes the
configured names and ``target`` is ``ack`` or ``resolve``; there is no service label, since
service names are free text (and could name a private incident's system). Read through the
stats cache (bot.stats_cache), so a scrape every 15 s costs one computation per
SITREP_STATS_CACHE_SECONDS.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from bot.runtime import Runtime
from bot.security.membership import EVERYONE
from bot.stats import Figures, StatsQuery

WEEKS = 4


class StatsCollector:
    """Gauges from figures already read (collect does no I/O)."""

    def __init__(self, fig: Figures) -> None:
        self.fig = fig

    def collect(self) -> Iterator[Metric]:
        """The gauge families; a mean with nothing to average is left out, not zero."""
        fig = self.fig
        window = f"over the last {WEEKS} ISO weeks (by declaration)"
        declared = GaugeMetricFamily(
            "sitrep_incidents_declared",
            f"Incidents declared {window}, by severity.",
            labels=["severity"],
        )
        mtta = GaugeMetricFamily(
            "sitrep_mtta_seconds",
            f"Mean time to acknowledge {window}, by severity.",
            labels=["severity"],
        )
        mttr = GaugeMetricFamily(
            "sitrep_mttr_seconds",
            f"Mean time to resolve {window}, by severity.",
            labels=["severity"],
        )
        sla = GaugeMetricFamily(
            "sitrep_sla_attainment_ratio",
            f"Share of SLA targets met (of those met or missed) {window}.",
            labels=["severity", "target"],
        )
        for name in fig.severities:
            cell = fig.by_severity[name]
            declared.add_metric([name], cell.count)
            if cell.mtta is not None:
                mtta.add_metric([name], cell.mtta)
            if cell.mttr is not None:
                mttr.add_metric([name], cell.mttr)
            for target, ratio in (
                ("ack", cell.ack_attainment),
                ("resolve", cell.resolve_attainment),
            ):
                if ratio is not None:
                    sla.add_metric([name, target], ratio)
        overdue = GaugeMetricFamily(
            "sitrep_action_items_overdue", "Action items not done and past their due date."
        )
        overdue.add_metric([], fig.overdue_count)
        yield from (declared, mtta, mttr, sla, overdue)


async def stats_collector(runtime: Runtime) -> StatsCollector:
    """Read the figures for this instance's workspace (cached, like the dashboard's)."""
    fig = await runtime.stats.figures(
        runtime.settings.workspace, runtime.service.policy, StatsQuery(weeks=WEEKS), EVERYONE
    )
    return StatsCollector(fig)
