"""Prometheus metrics, one registry per app so tests and replicas never share state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from bot.runtime import Runtime


class Telemetry:
    """The app's metrics and how to refresh the ones read from the database."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "sitrep_http_request_duration_seconds",
            "HTTP request latency by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.incidents = Gauge(
            "sitrep_incidents",
            "Incidents by workspace, status and severity.",
            ["workspace", "status", "severity"],
            registry=self.registry,
        )
        self.outbox = Gauge(
            "sitrep_outbox_messages",
            "Undelivered chat messages by platform and state (parked = needs a person).",
            ["platform", "state"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "sitrep_alerts_received_total",
            "Alerts received by source and outcome.",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.reminders = Counter(
            "sitrep_reminders_sent_total",
            "Scheduled reminders and posts by kind.",
            ["kind"],
            registry=self.registry,
        )
        self._runtime: Runtime | None = None

    def bind(self, runtime: Runtime) -> None:
        """Attach the runtime whose database the gauges read."""
        self._runtime = runtime

    async def render(self) -> bytes:
        """Refresh database-backed gauges and return the exposition text."""
        if self._runtime is not None:
            # This instance's workspace only: others may share the database.
            ws = self._runtime.settings.workspace
            counts, depth = await self._runtime.db.run(
                lambda repo: (repo.incident_counts(ws), repo.outbox_depth(ws))
            )
            self.incidents.clear()
            for workspace, status, severity, n in counts:
                self.incidents.labels(workspace, status, severity).set(n)
            self.outbox.clear()
            for platform, state, n in depth:
                self.outbox.labels(platform, state).set(n)
        return generate_latest(self.registry)
