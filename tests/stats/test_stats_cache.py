"""The stats cache (bot.stats_cache): a repeat view within the TTL reads nothing, an older one
recomputes, viewers who may see less never get someone else's figures, filters do not share
entries, concurrent requests share one computation, and TTL 0 turns it off. Time moves only
by the FixedClock; reads are counted on the unit of work the cache is given."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import InvalidCommand
from bot.ports import FixedClock
from bot.repository import Repo, UnitOfWork
from bot.runtime import Runtime
from bot.security.membership import EVERYONE, Reader
from bot.stats import Figures, StatsQuery
from bot.stats_cache import StatsCache
from tests.stats.fixture import NOW, SECRET, _at, _inc, load
from tests.web.support import Browser

T = TypeVar("T")
Client = TestClient[Any, Any]
NOBODY = Reader.of("U_NOBODY")
ALICE = Actor("U_ALICE", "alice")


class CountingUnits:
    """The runtime's database, counting transactions (each computation of figures is one);
    with ``hold`` set, every transaction waits for it before reading."""

    def __init__(self, db: UnitOfWork) -> None:
        self.db = db
        self.calls = 0
        self.hold: asyncio.Event | None = None
        self.fail: Exception | None = None

    async def run(self, fn: Callable[[Repo], T]) -> T:
        self.calls += 1
        if self.hold is not None:
            await self.hold.wait()
        if self.fail is not None:
            raise self.fail
        return await self.db.run(fn)


def cached(rt: Runtime, clock: FixedClock, ttl: float = 60, size: int = 256) -> StatsCache:
    return StatsCache(CountingUnits(rt.db), clock, ttl=ttl, size=size)


def units(cache: StatsCache) -> CountingUnits:
    assert isinstance(cache.db, CountingUnits)
    return cache.db


async def view(cache: StatsCache, rt: Runtime, reader: Reader = EVERYONE, **query: Any) -> Figures:
    q = StatsQuery(**{"weeks": 2, **query})
    return await cache.figures("w", rt.service.policy, q, reader)


async def add_public_incident(rt: Runtime) -> None:
    await rt.db.run(lambda repo: repo.add_incident(_inc(20, _at(23, 1), "SEV1", "payments")))


async def test_a_second_view_within_the_ttl_reads_nothing(rt: Runtime, clock: FixedClock) -> None:
    await load(rt)
    cache = cached(rt, clock)
    first = await view(cache, rt)
    await add_public_incident(rt)
    clock.advance(seconds=59)
    again = await view(cache, rt)
    assert units(cache).calls == 1
    assert again is first and again.total.count == 6  # the new incident not read yet
    assert again.computed_at == NOW


async def test_after_the_ttl_the_figures_are_recomputed(rt: Runtime, clock: FixedClock) -> None:
    await load(rt)
    cache = cached(rt, clock)
    assert (await view(cache, rt)).total.count == 6
    await add_public_incident(rt)
    clock.advance(seconds=60)
    fresh = await view(cache, rt)
    assert units(cache).calls == 2
    assert fresh.total.count == 7 and fresh.computed_at == clock.now()


async def test_a_clock_set_back_before_the_computation_recomputes(
    rt: Runtime, clock: FixedClock
) -> None:
    await load(rt)
    cache = cached(rt, clock)
    await view(cache, rt)
    clock.advance(seconds=-1)
    await view(cache, rt)
    assert units(cache).calls == 2


async def test_a_reader_never_gets_an_admins_cached_figures(rt: Runtime, clock: FixedClock) -> None:
    await load(rt)
    cache = cached(rt, clock)
    admin = await view(cache, rt, EVERYONE)
    assert admin.total.count == 6 and admin.by_service["payments"].count == 3
    assert "Rotate the secret" in [i.text for i in admin.overdue]
    # Right after, within the TTL: the private incident is not counted for the reader.
    reader = await view(cache, rt, NOBODY)
    assert reader.total.count == 5 and reader.by_service["payments"].count == 2
    assert [i.text for i in reader.overdue] == ["Add a card-auth alert"]
    # Its member sees it; each answer is kept for its own reader only.
    member = await view(cache, rt, Reader.of(SECRET))
    assert member.total.count == 6
    assert (await view(cache, rt, NOBODY)).total.count == 5
    assert units(cache).calls == 3


async def test_an_admin_never_gets_a_readers_cached_figures(rt: Runtime, clock: FixedClock) -> None:
    await load(rt)
    cache = cached(rt, clock)
    assert (await view(cache, rt, NOBODY)).total.count == 5
    assert (await view(cache, rt, EVERYONE)).total.count == 6


async def test_admins_share_one_entry_whoever_they_are(rt: Runtime, clock: FixedClock) -> None:
    await load(rt)
    cache = cached(rt, clock)
    await view(cache, rt, EVERYONE)
    named = await view(cache, rt, Reader.of("U_ADMIN", admin=True))
    assert named.total.count == 6 and units(cache).calls == 1


async def test_different_filters_do_not_share_entries(rt: Runtime, clock: FixedClock) -> None:
    await load(rt)
    cache = cached(rt, clock)
    counts = [
        (await view(cache, rt)).total.count,
        (await view(cache, rt, weeks=1)).total.count,
        (await view(cache, rt, severity="SEV1")).total.count,
        (await view(cache, rt, service="payments")).total.count,
        (await view(cache, rt, service="(none)")).total.count,
    ]
    assert counts == [6, 2, 3, 3, 1]
    assert units(cache).calls == 5
    # The same query spelled differently is the same entry.
    assert (await view(cache, rt, severity="sev1")).total.count == 3
    assert (await view(cache, rt, service="  payments ")).total.count == 3
    assert units(cache).calls == 5


async def test_a_refused_query_reads_nothing_and_keeps_nothing(
    rt: Runtime, clock: FixedClock
) -> None:
    cache = cached(rt, clock)
    with pytest.raises(InvalidCommand):
        await view(cache, rt, weeks=53)
    with pytest.raises(InvalidCommand):
        await view(cache, rt, severity="SEV9")
    assert units(cache).calls == 0 and len(cache) == 0


async def test_concurrent_identical_requests_share_one_computation(
    rt: Runtime, clock: FixedClock
) -> None:
    await load(rt)
    cache = cached(rt, clock)
    counting = units(cache)
    counting.hold = asyncio.Event()
    burst = [asyncio.create_task(view(cache, rt)) for _ in range(20)]
    other = asyncio.create_task(view(cache, rt, NOBODY))
    for _ in range(50):  # let every request reach the held read
        await asyncio.sleep(0)
    assert counting.calls == 2  # one for the burst, one for the other reader
    counting.hold.set()
    results = await asyncio.gather(*burst)
    assert all(r is results[0] for r in results) and results[0].total.count == 6
    assert (await other).total.count == 5
    assert counting.calls == 2
    await view(cache, rt)  # and now it is kept
    assert counting.calls == 2


async def test_one_request_giving_up_does_not_cancel_the_others(
    rt: Runtime, clock: FixedClock
) -> None:
    await load(rt)
    cache = cached(rt, clock)
    counting = units(cache)
    counting.hold = asyncio.Event()
    leaver = asyncio.create_task(view(cache, rt))
    stayer = asyncio.create_task(view(cache, rt))
    for _ in range(50):
        await asyncio.sleep(0)
    leaver.cancel()
    counting.hold.set()
    assert (await stayer).total.count == 6
    assert leaver.cancelled() and counting.calls == 1


async def test_a_failed_computation_reaches_every_waiter_and_is_not_kept(
    rt: Runtime, clock: FixedClock
) -> None:
    await load(rt)
    cache = cached(rt, clock)
    counting = units(cache)
    counting.hold, counting.fail = asyncio.Event(), RuntimeError("database went away")
    burst = [asyncio.create_task(view(cache, rt)) for _ in range(3)]
    for _ in range(50):
        await asyncio.sleep(0)
    counting.hold.set()
    outcomes = await asyncio.gather(*burst, return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes) and counting.calls == 1
    counting.fail = None
    assert (await view(cache, rt)).total.count == 6 and counting.calls == 2


async def test_ttl_zero_turns_the_cache_off(rt: Runtime, clock: FixedClock) -> None:
    await load(rt)
    cache = cached(rt, clock, ttl=0)
    assert not cache.enabled
    assert (await view(cache, rt)).total.count == 6
    await add_public_incident(rt)
    assert (await view(cache, rt)).total.count == 7
    assert units(cache).calls == 2 and len(cache) == 0


async def test_the_least_recently_used_entry_goes_first(rt: Runtime, clock: FixedClock) -> None:
    await load(rt)
    cache = cached(rt, clock, size=2)
    await view(cache, rt, weeks=1)
    await view(cache, rt, weeks=2)
    await view(cache, rt, weeks=1)  # used again: weeks=2 is now the oldest
    await view(cache, rt, weeks=3)
    assert len(cache) == 2 and units(cache).calls == 3
    await view(cache, rt, weeks=1)
    assert units(cache).calls == 3
    await view(cache, rt, weeks=2)
    assert units(cache).calls == 4


# -- the surfaces read through the runtime's cache -----------------------------------------


def test_the_runtime_cache_takes_its_ttl_from_the_setting(rt: Runtime) -> None:
    assert rt.settings.stats_cache_seconds == 60
    assert rt.stats.ttl.total_seconds() == 60 and rt.stats.enabled


async def test_the_api_says_when_its_cached_figures_were_computed(
    client: Client, runtime: Runtime, auth: dict[str, str], clock: FixedClock
) -> None:
    counting = CountingUnits(runtime.db)
    runtime.stats.db = counting
    ws = runtime.settings.workspace
    await runtime.service.declare(ws, c.Declare("Cards fail", "SEV1"), ALICE)
    first = await (await client.get("/api/stats", headers=auth)).json()
    assert first["computed_at"] == "2026-11-23T09:00:00Z" and first["total"]["incidents"] == 1
    clock.advance(seconds=30)
    await runtime.service.declare(ws, c.Declare("Search slow", "SEV2"), ALICE)
    again = await (await client.get("/api/stats", headers=auth)).json()
    assert again == first and counting.calls == 1
    clock.advance(seconds=30)
    later = await (await client.get("/api/stats", headers=auth)).json()
    assert later["computed_at"] == "2026-11-23T09:01:00Z" and later["total"]["incidents"] == 2
    assert counting.calls == 2


async def test_a_burst_of_metrics_scrapes_costs_one_computation(
    client: Client, runtime: Runtime
) -> None:
    counting = CountingUnits(runtime.db)
    runtime.stats.db = counting
    bodies = await asyncio.gather(*(client.get("/metrics") for _ in range(5)))
    assert all(b.status == 200 for b in bodies)
    assert counting.calls == 1


async def test_the_dashboard_shows_when_the_figures_were_computed(
    client: Client, runtime: Runtime, clock: FixedClock
) -> None:
    browser = Browser(client)
    await browser.login()
    status, body = await browser.get("/dashboard")
    assert status == 200
    assert 'Figures as of <time datetime="2026-11-23T09:00:00Z"' in body
    assert ">09:00 UTC</time>" in body
    clock.advance(minutes=2)
    _, body = await browser.get("/dashboard")
    assert ">09:02 UTC</time>" in body  # the old entry has expired: computed again
