"""Response figures for dashboards, the API and /metrics: pure, from aggregates storage sums.

Storage groups a workspace's incidents by ISO week of declaration, severity and service and
returns sums (``Bucket``); this module turns them into means and SLA attainment. Means add up
exactly across buckets, so a total is the sum of its parts and no incident is read twice.

Definitions:
- **MTTA**: mean of (acknowledged - declared) over acknowledged incidents.
- **MTTR**: mean of (resolved - declared) over resolved incidents (the final resolution).
- **SLA attainment** per target (ack, resolve): met ÷ (met + missed). Met: done within the
  severity's target. Missed: done later, or not done and the target has passed. Incidents
  still inside their target are pending and left out; severities without a target too.
- **Overdue action items**: not done, due date passed.

Who sees what: figures count only incidents the reader may see
(``bot.security.membership``): admins all, everyone else public incidents plus the private
ones they are a member of. A private incident thus never shows up, even as a number, for
someone who could not open it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from bot.domain.errors import InvalidCommand
from bot.domain.policy import Policy
from bot.repository import Repo, UnitOfWork
from bot.security.membership import Reader
from bot.stats_store import Bucket, OverdueItem, Targets

# Week 0 is the ISO week starting Monday 1970-01-05 (00:00 UTC); storage numbers weeks so
# (bot.stats_store.EPOCH_MONDAY_SECONDS).
EPOCH_MONDAY = date(1970, 1, 5)
DEFAULT_WEEKS = 12
MAX_WEEKS = 52
# Services charted one by one; the rest are summed as "other" (the tables list them all).
TOP_SERVICES = 6
OTHER = "(other)"
NO_SERVICE = "(none)"
OVERDUE_SHOWN = 20


@dataclass(frozen=True, slots=True)
class StatsQuery:
    """What a dashboard asks for: the last ``weeks`` ISO weeks, optionally one severity or
    service (``""`` for incidents with no service)."""

    weeks: int = DEFAULT_WEEKS
    severity: str | None = None
    service: str | None = None


@dataclass(frozen=True, slots=True)
class Week:
    """One ISO week: its index, label (``2026-W48``) and first day."""

    index: int
    label: str
    start: date


@dataclass
class Cell:
    """Sums for one group; means and ratios derived."""

    count: int = 0
    acked: int = 0
    ack_seconds: float = 0.0
    resolved: int = 0
    resolve_seconds: float = 0.0
    ack_met: int = 0
    ack_missed: int = 0
    resolve_met: int = 0
    resolve_missed: int = 0

    def add(self, b: Bucket) -> None:
        """Fold one bucket in."""
        self.count += b.count
        self.acked += b.acked
        self.ack_seconds += b.ack_seconds
        self.resolved += b.resolved
        self.resolve_seconds += b.resolve_seconds
        self.ack_met += b.ack_met
        self.ack_missed += b.ack_missed
        self.resolve_met += b.resolve_met
        self.resolve_missed += b.resolve_missed

    @property
    def mtta(self) -> float | None:
        """Mean seconds to acknowledge (None when nothing was acknowledged)."""
        return self.ack_seconds / self.acked if self.acked else None

    @property
    def mttr(self) -> float | None:
        """Mean seconds to resolve (None when nothing was resolved)."""
        return self.resolve_seconds / self.resolved if self.resolved else None

    @property
    def ack_attainment(self) -> float | None:
        """Share of decided ack targets that were met (None when none were decided)."""
        return _ratio(self.ack_met, self.ack_missed)

    @property
    def resolve_attainment(self) -> float | None:
        """Share of decided resolve targets that were met."""
        return _ratio(self.resolve_met, self.resolve_missed)


@dataclass
class Figures:
    """Everything the dashboard, the API and /metrics show."""

    query: StatsQuery
    weeks: list[Week]
    since: datetime
    until: datetime
    # The moment the figures describe (the ``now`` they were composed for); a cached answer
    # (bot.stats_cache) is shown with it.
    computed_at: datetime
    total: Cell = field(default_factory=Cell)
    by_week: list[Cell] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)
    by_severity: dict[str, Cell] = field(default_factory=dict)
    by_severity_week: dict[str, list[Cell]] = field(default_factory=dict)
    # Every service, busiest first, with its totals and weeks.
    services: list[str] = field(default_factory=list)
    by_service: dict[str, Cell] = field(default_factory=dict)
    by_service_week: dict[str, list[Cell]] = field(default_factory=dict)
    # What the charts draw: the busiest TOP_SERVICES, the rest summed as OTHER.
    charted: list[str] = field(default_factory=list)
    charted_week: dict[str, list[Cell]] = field(default_factory=dict)
    overdue_count: int = 0
    overdue: list[OverdueItem] = field(default_factory=list)
    known_services: list[str] = field(default_factory=list)


def week_index(at: datetime) -> int:
    """The ISO week ``at`` falls in, numbered from week 0 (1970-01-05)."""
    return (at.astimezone(UTC).date() - EPOCH_MONDAY).days // 7


def week_of(index: int) -> Week:
    """A week by its index."""
    start = EPOCH_MONDAY + timedelta(days=7 * index)
    year, number, _ = start.isocalendar()
    return Week(index, f"{year}-W{number:02d}", start)


def window(weeks: int, now: datetime) -> tuple[list[Week], datetime, datetime]:
    """The last ``weeks`` ISO weeks up to and including ``now``'s, and their [since, until)."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidCommand(f"weeks must be between 1 and {MAX_WEEKS}")
    last = week_index(now)
    shown = [week_of(i) for i in range(last - weeks + 1, last + 1)]
    since = datetime.combine(shown[0].start, time(), UTC)
    until = datetime.combine(shown[-1].start + timedelta(days=7), time(), UTC)
    return shown, since, until


def service_name(raw: str) -> str:
    """How a stored service reads on a chart ("" reads ``(none)``)."""
    return raw or NO_SERVICE


def compose(
    query: StatsQuery,
    policy: Policy,
    now: datetime,
    buckets: Iterable[Bucket],
    *,
    overdue: tuple[int, list[OverdueItem]] = (0, []),
    known_services: Iterable[str] = (),
) -> Figures:
    """Fold storage's buckets into the figures (pure; the fixtures test this directly)."""
    weeks, since, until = window(query.weeks, now)
    slot = {w.index: n for n, w in enumerate(weeks)}
    fig = Figures(query=query, weeks=weeks, since=since, until=until, computed_at=now)
    fig.by_week = [Cell() for _ in weeks]
    rows = [b for b in buckets if b.week in slot]
    order = {s.name: s.rank for s in policy.severities}
    fig.severities = sorted(
        {b.severity for b in rows} | ({query.severity} if query.severity else set(policy.names)),
        key=lambda s: (order.get(s, len(order) + 1), s),
    )
    per_service: dict[str, Cell] = {}
    for b in rows:
        per_service.setdefault(service_name(b.service), Cell()).add(b)
    ranked = sorted(per_service, key=lambda s: (-per_service[s].count, s))
    charted = set(ranked[:TOP_SERVICES])
    fig.services = ranked
    fig.charted = ranked[:TOP_SERVICES] + ([OTHER] if len(ranked) > TOP_SERVICES else [])
    fig.by_service = {s: Cell() for s in ranked}
    fig.by_service_week = {s: [Cell() for _ in weeks] for s in ranked}
    fig.charted_week = {s: [Cell() for _ in weeks] for s in fig.charted}
    fig.by_severity = {s: Cell() for s in fig.severities}
    fig.by_severity_week = {s: [Cell() for _ in weeks] for s in fig.severities}
    for b in rows:
        n = slot[b.week]
        name = service_name(b.service)
        fig.total.add(b)
        fig.by_week[n].add(b)
        fig.by_severity[b.severity].add(b)
        fig.by_severity_week[b.severity][n].add(b)
        fig.by_service[name].add(b)
        fig.by_service_week[name][n].add(b)
        fig.charted_week[name if name in charted else OTHER][n].add(b)
    fig.overdue_count, fig.overdue = overdue[0], list(overdue[1])
    fig.known_services = sorted({service_name(s) for s in known_services})
    return fig


def _ratio(met: int, missed: int) -> float | None:
    return met / (met + missed) if met + missed else None


def check_query(query: StatsQuery, policy: Policy) -> StatsQuery:
    """A query with its severity spelled as the policy names it; bad values refused."""
    if not 1 <= query.weeks <= MAX_WEEKS:
        raise InvalidCommand(f"weeks must be between 1 and {MAX_WEEKS}")
    severity = policy.severity(query.severity).name if query.severity else None
    service = query.service
    if service is not None:
        service = " ".join(service.split())
        if len(service) > 100:
            raise InvalidCommand("service is longer than 100 characters")
        if service == NO_SERVICE:
            service = ""
    return StatsQuery(query.weeks, severity, service)


async def figures(
    db: UnitOfWork,
    workspace: str,
    policy: Policy,
    query: StatsQuery,
    reader: Reader,
    now: datetime,
) -> Figures:
    """Read the aggregates for ``reader`` in one transaction and compose the figures."""
    query = check_query(query, policy)
    _, since, until = window(query.weeks, now)
    targets = Targets.of(policy)
    private_for = None if reader.admin else reader.ids

    def read(repo: Repo) -> tuple[list[Bucket], tuple[int, list[OverdueItem]], list[str]]:
        store = repo.stats
        buckets = store.buckets(
            workspace,
            since=since,
            until=until,
            now=now,
            targets=targets,
            severity=query.severity,
            service=query.service,
            private_for=private_for,
        )
        overdue = store.overdue_action_items(
            workspace,
            now,
            severity=query.severity,
            service=query.service,
            private_for=private_for,
            limit=OVERDUE_SHOWN,
        )
        services = store.services(workspace, since=since, private_for=private_for)
        return buckets, overdue, services

    buckets, overdue, services = await db.run(read)
    return compose(query, policy, now, buckets, overdue=overdue, known_services=services)
