"""What the app counts while it runs: plain numbers, one instance per runtime.

The core only records here; turning the numbers into a scrape format is the web side's job
(``handlers/metrics.py``), so the core needs no metrics library and imports nothing above it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

# Upper bounds (seconds) of the request-latency buckets; a scrape adds +Inf.
REQUEST_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
)


@dataclass
class Latency:
    """One request series: how many fell in each bucket (not cumulative), their count and sum."""

    buckets: list[int] = field(default_factory=lambda: [0] * (len(REQUEST_BUCKETS) + 1))
    count: int = 0
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        """Add one request that took ``seconds``."""
        # bisect_left puts a value equal to a bound in that bound's bucket (le = less or equal).
        self.buckets[bisect_left(REQUEST_BUCKETS, seconds)] += 1
        self.count += 1
        self.total += seconds


@dataclass
class Telemetry:
    """Counters the app bumps; each runtime has its own so tests and replicas never share."""

    requests: dict[tuple[str, str, str], Latency] = field(default_factory=dict)
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)
    reminders: Counter[str] = field(default_factory=Counter)

    def request_served(self, method: str, route: str, status: int, seconds: float) -> None:
        """An HTTP request finished with ``status`` after ``seconds``."""
        key = (method, route, str(status))
        series = self.requests.get(key)
        if series is None:
            series = self.requests[key] = Latency()
        series.observe(seconds)

    def alert_received(self, source: str, outcome: str, n: int = 1) -> None:
        """``n`` alerts from ``source`` ended as ``outcome`` (accepted, rejected, ...)."""
        self.alerts[(source, outcome)] += n

    def reminders_sent(self, kind: str, n: int) -> None:
        """The scheduler sent ``n`` reminders or posts of ``kind``."""
        self.reminders[kind] += n
