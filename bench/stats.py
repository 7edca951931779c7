"""Bench: dashboard figures over 100,000 incidents (a year of them, 20 services, 2% private)
and 20,000 action items, as the admin and as a reader the membership rule applies to.

Prints milliseconds per ``bot.stats.figures`` call (median and max of several runs) for 12 and
52 weeks, on SQLite by default or on Postgres with --postgres URL (a scratch schema is made and
dropped). Then the same views through the stats cache (bot.stats_cache, the runtime's TTL):
the first view (computed), repeated views within the TTL (kept), and a burst of concurrent
identical views (one computation shared), with how many computations each took.

    .venv/bin/python bench/stats.py [--incidents 100000] [--postgres postgresql+psycopg://...]
                                    [--burst 30]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text

from bot.config import Settings
from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.security.membership import EVERYONE, Reader
from bot.stats import StatsQuery, figures
from bot.stats_cache import StatsCache
from handlers.compose import build_runtime
from storage.migrate import upgrade
from storage.tables import ActionItemRow, IncidentRow

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SEVERITIES = ["SEV1", "SEV2", "SEV3", "SEV4"]
SERVICES = [f"service-{n}" for n in range(20)] + [""]
RUNS = 7


@contextmanager
def database(postgres: str | None) -> Iterator[str]:
    """A scratch SQLite file, or a scratch schema on Postgres."""
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres}{'&' if '?' in postgres else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seed(engine: object, n: int) -> None:
    """Insert ``n`` incidents over the year before NOW and 20% as many action items."""
    rng = random.Random(42)
    rows = []
    for i in range(1, n + 1):
        declared = NOW - timedelta(seconds=rng.uniform(0, 365 * 86400))
        ack = declared + timedelta(seconds=rng.expovariate(1 / 900)) if rng.random() < 0.9 else None
        resolved = declared + timedelta(seconds=rng.expovariate(1 / 20000))
        done = resolved < NOW and rng.random() < 0.95
        rows.append(
            {
                "workspace": "w",
                "number": i,
                "title": f"incident {i}",
                "severity": rng.choice(SEVERITIES),
                "status": "resolved" if done else "investigating",
                "private": rng.random() < 0.02,
                "declared_by": f"U{rng.randrange(200)}",
                "origin": "api",
                "service": rng.choice(SERVICES),
                "declared_at": declared,
                "acknowledged_at": ack if ack and ack < NOW else None,
                "resolved_at": resolved if done else None,
            }
        )
    items = [
        {
            "incident_id": rng.randrange(1, n + 1),
            "text": "follow up",
            "owner": "U1",
            "due": NOW + timedelta(days=rng.uniform(-60, 30)),
            "created_at": NOW - timedelta(days=61),
            "created_by": "U1",
            "done_at": None if rng.random() < 0.5 else NOW,
        }
        for _ in range(n // 5)
    ]
    with engine.begin() as conn:  # type: ignore[attr-defined]
        for start in range(0, len(rows), 5000):
            conn.execute(IncidentRow.__table__.insert(), rows[start : start + 5000])  # type: ignore[attr-defined]
        conn.execute(ActionItemRow.__table__.insert(), items)  # type: ignore[attr-defined]


async def cached_views(rt: Runtime, burst: int) -> None:
    """First view vs repeated views within the TTL, and a burst of concurrent ones."""
    policy = rt.service.policy
    print(f"  cached (TTL {rt.settings.stats_cache_seconds:g} s, clock held still):")
    for label, reader in (("admin", EVERYONE), ("reader", Reader.of("U7"))):
        for weeks in (12, 52):
            query = StatsQuery(weeks=weeks)
            cache = StatsCache(rt.db, rt.clock, ttl=rt.settings.stats_cache_seconds)
            t = time.perf_counter()
            await cache.figures("w", policy, query, reader)
            first = (time.perf_counter() - t) * 1000
            times = []
            for _ in range(RUNS * 10):
                t = time.perf_counter()
                await cache.figures("w", policy, query, reader)
                times.append((time.perf_counter() - t) * 1000)
            repeated = cache.computed
            fresh = StatsCache(rt.db, rt.clock, ttl=rt.settings.stats_cache_seconds)
            t = time.perf_counter()
            await asyncio.gather(*(fresh.figures("w", policy, query, reader) for _ in range(burst)))
            together = (time.perf_counter() - t) * 1000
            if (label, weeks) == ("admin", 12):
                off = StatsCache(rt.db, rt.clock, ttl=0)
                t = time.perf_counter()
                await asyncio.gather(
                    *(off.figures("w", policy, query, reader) for _ in range(burst))
                )
                print(
                    f"  admin  12 weeks, cache off (TTL 0): {burst} concurrent "
                    f"{(time.perf_counter() - t) * 1000:7.1f} ms ({off.computed} computations)"
                )
            print(
                f"  {label:6} {weeks:2} weeks: first {first:7.1f} ms; "
                f"{RUNS * 10} repeats median {statistics.median(times):6.3f} ms, "
                f"max {max(times):6.3f} ms ({repeated} computation); "
                f"{burst} concurrent {together:7.1f} ms ({fresh.computed} computation)"
            )


async def run(n: int, postgres: str | None, burst: int) -> None:
    """Seed, then time the figures for each (reader, weeks)."""
    with database(postgres) as url:
        settings = Settings(_env_file=None, database_url=url, workspace="w")
        rt = build_runtime(settings, clock=FixedClock(NOW))
        upgrade(rt.db.engine)
        started = time.perf_counter()
        seed(rt.db.engine, n)
        print(f"{rt.db.dialect}: seeded {n} incidents in {time.perf_counter() - started:.1f} s")
        if rt.db.dialect == "postgresql":
            with rt.db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        policy = rt.service.policy
        for label, reader in (("admin", EVERYONE), ("reader", Reader.of("U7"))):
            for weeks in (12, 52):
                times = []
                for _ in range(RUNS):
                    t = time.perf_counter()
                    fig = await figures(rt.db, "w", policy, StatsQuery(weeks=weeks), reader, NOW)
                    times.append((time.perf_counter() - t) * 1000)
                print(
                    f"  {label:6} {weeks:2} weeks: {fig.total.count:6} incidents, "
                    f"median {statistics.median(times):7.1f} ms, max {max(times):7.1f} ms"
                )
        await cached_views(rt, burst)
        rt.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--burst", type=int, default=30, help="concurrent identical views")
    args = parser.parse_args()
    asyncio.run(run(args.incidents, args.postgres, args.burst))


if __name__ == "__main__":
    main()
