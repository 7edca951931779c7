"""A short-lived cache of dashboard figures, shared by /dashboard, /api/stats and /metrics.

The figures are recomputed from aggregate SQL (bot.stats) that costs hundreds of milliseconds
over a large history; a dashboard left open by many people, or a Prometheus scrape every 15 s,
would pay that on every view. This keeps each computed answer for ``ttl`` seconds.

It lives in the core, beside what it wraps, because it is pure apart from the work it is given:
it reads the injected clock and calls ``bot.stats.figures`` over the injected unit of work, and
imports nothing platform-specific. Every surface goes through the one object on the runtime,
so they share entries and nobody can forget the visibility part of the key.

Rules:
- **Key**: workspace, policy, visibility and the checked query (weeks, severity, service).
  Visibility is ``None`` for an admin (who sees every incident, whoever they are) and
  otherwise the reader's ids, which are all the membership rule matches on
  (``bot.security.membership``): two readers share an entry only if they would get the same
  answer, and an admin's figures never reach anyone else.
- **Age**: an entry is served while ``now - computed_at < ttl`` by the injected clock, so an
  answer is at most ``ttl`` old; ``Figures.computed_at`` says when it was computed. A
  request that joins a computation in flight gets what that computation reads.
- **Single flight**: concurrent requests for one key share one computation.
- **Bounded**: at most ``size`` entries, least recently used dropped first.
- **Per process**: replicas each keep their own.
- ``ttl`` 0 turns it off: every call computes, nothing is kept.

Figures handed out are shared between callers; surfaces only read them.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.policy import Policy
from bot.ports import Clock
from bot.repository import UnitOfWork
from bot.security.membership import Reader
from bot.stats import Figures, StatsQuery, check_query, figures

DEFAULT_SIZE = 256


@dataclass(frozen=True, slots=True)
class _Key:
    workspace: str
    policy: Policy
    # None: an admin (everything); else the reader's ids (public + private they are on).
    private_for: frozenset[str] | None
    query: StatsQuery


class StatsCache:
    """Figures per (workspace, policy, visibility, query), kept ``ttl`` seconds."""

    def __init__(
        self, db: UnitOfWork, clock: Clock, *, ttl: float, size: int = DEFAULT_SIZE
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.db = db
        self.clock = clock
        self.ttl = timedelta(seconds=max(ttl, 0.0))
        self.size = size
        self._entries: OrderedDict[_Key, Figures] = OrderedDict()
        self._flights: dict[_Key, asyncio.Future[Figures]] = {}
        # How many times the figures were read from storage (for tests and the bench).
        self.computed = 0

    @property
    def enabled(self) -> bool:
        """False when the TTL is 0: every call computes."""
        return self.ttl > timedelta(0)

    def __len__(self) -> int:
        return len(self._entries)

    async def figures(
        self, workspace: str, policy: Policy, query: StatsQuery, reader: Reader
    ) -> Figures:
        """The figures for ``reader``, from the cache when fresh; refuses a bad query."""
        # Checked first: a refused query never reaches the cache, and "sev1" and "SEV1"
        # share an entry.
        query = check_query(query, policy)
        if not self.enabled:
            return await self._read(workspace, policy, query, reader)
        key = _Key(workspace, policy, None if reader.admin else reader.ids, query)
        fresh = self._fresh(key)
        if fresh is not None:
            return fresh
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._fill(key, reader))
            self._flights[key] = flight
            # Retrieved here too, so a failure nobody waited for is not logged as lost.
            flight.add_done_callback(_retrieve)
        # Shielded: one caller giving up (a closed connection) does not cancel the others'.
        return await asyncio.shield(flight)

    def clear(self) -> None:
        """Forget every entry (computations in flight finish and are kept)."""
        self._entries.clear()

    def _fresh(self, key: _Key) -> Figures | None:
        fig = self._entries.get(key)
        if fig is None:
            return None
        age = self.clock.now() - fig.computed_at
        # A clock set back before the computation counts as stale too.
        if not timedelta(0) <= age < self.ttl:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return fig

    async def _fill(self, key: _Key, reader: Reader) -> Figures:
        try:
            fig = await self._read(key.workspace, key.policy, key.query, reader)
        finally:
            del self._flights[key]
        self._entries[key] = fig
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return fig

    async def _read(
        self, workspace: str, policy: Policy, query: StatsQuery, reader: Reader
    ) -> Figures:
        self.computed += 1
        return await figures(self.db, workspace, policy, query, reader, self.clock.now())


def _retrieve(flight: asyncio.Future[Figures]) -> None:
    if not flight.cancelled():
        flight.exception()
