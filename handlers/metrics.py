"""GET /metrics: the runtime's counters and a few database gauges in Prometheus text format."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from bot.runtime import Runtime
from bot.telemetry import REQUEST_BUCKETS, Telemetry
from handlers.stats_metrics import stats_collector

IncidentCount = tuple[str, str, str, int]
OutboxCount = tuple[str, str, int]


class _Snapshot:
    """One scrape's worth of metrics, built from numbers already read (collect does no I/O)."""

    def __init__(
        self, telemetry: Telemetry, incidents: list[IncidentCount], outbox: list[OutboxCount]
    ) -> None:
        self.telemetry = telemetry
        self.incidents = incidents
        self.outbox = outbox

    def collect(self) -> Iterator[Metric]:
        t = self.telemetry
        requests = HistogramMetricFamily(
            "sitrep_http_request_duration_seconds",
            "HTTP request latency by route and status.",
            labels=["method", "route", "status"],
        )
        bounds = [str(float(b)) for b in REQUEST_BUCKETS] + ["+Inf"]
        for labels, series in list(t.requests.items()):
            cumulative, running = [], 0
            for bound, n in zip(bounds, series.buckets, strict=True):
                running += n
                cumulative.append((bound, float(running)))
            requests.add_metric(list(labels), cumulative, series.total)
        yield requests

        incidents = GaugeMetricFamily(
            "sitrep_incidents",
            "Incidents by workspace, status and severity.",
            labels=["workspace", "status", "severity"],
        )
        for workspace, status, severity, n in self.incidents:
            incidents.add_metric([workspace, status, severity], n)
        yield incidents

        outbox = GaugeMetricFamily(
            "sitrep_outbox_messages",
            "Undelivered chat messages by platform and state (parked = needs a person).",
            labels=["platform", "state"],
        )
        for platform, state, n in self.outbox:
            outbox.add_metric([platform, state], n)
        yield outbox

        alerts = CounterMetricFamily(
            "sitrep_alerts_received",
            "Alerts received by source and outcome.",
            labels=["source", "outcome"],
        )
        for (source, outcome), n in list(t.alerts.items()):
            alerts.add_metric([source, outcome], n)
        yield alerts

        reminders = CounterMetricFamily(
            "sitrep_reminders_sent",
            "Scheduled reminders and posts by kind.",
            labels=["kind"],
        )
        for kind, n in list(t.reminders.items()):
            reminders.add_metric([kind], n)
        yield reminders


async def render_metrics(runtime: Runtime) -> bytes:
    """Read the database-backed gauges and return the exposition text."""
    # This instance's workspace only: others may share the database.
    ws = runtime.settings.workspace
    counts, depth = await runtime.db.run(
        lambda repo: (repo.incident_counts(ws), repo.outbox_depth(ws))
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(runtime.telemetry, list(counts), list(depth)))
    registry.register(await stats_collector(runtime))
    return generate_latest(registry)
