"""People directory cost: what a view pays for names, fresh, stale and missing.

    .venv/bin/python bench/people.py [--people 50] [--views 200] [--latency 0.05]

Over a SQLite file (the production path: ``person`` table through the repository), with a
platform that answers each lookup after ``--latency`` seconds (Slack's users.info is tens of
milliseconds away), measures the median time of one ``names()`` call for ``--people`` ids when
they are all cached and fresh, all cached but past the TTL (stale-while-revalidate: the view
must not wait), and all unknown to the platform (the first view asks; later views must not);
and counts the platform lookups ``--views`` views cost.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings
from bot.people import CachedPeople
from bot.ports import FixedClock
from handlers.compose import build_runtime
from storage.migrate import upgrade
from tests.conftest import T0


class Platform:
    """Owns ``P…`` ids, names the ``Pn…`` ones, knows no ``Px…`` one; counts lookups."""

    source = "bench"

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.lookups = 0

    def owns(self, actor: str) -> bool:
        return actor.startswith("P")

    async def lookup(self, workspace: str, actors: Sequence[str]) -> dict[str, str]:
        self.lookups += len(actors)
        await asyncio.sleep(self.latency)
        return {a: f"Person {a}" for a in actors if a.startswith("Pn")}


async def views(people: CachedPeople, ids: list[str], n: int) -> float:
    """Median seconds of ``n`` views naming ``ids``."""
    took = []
    for _ in range(n):
        started = time.perf_counter()
        await people.names("default", ids)
        took.append(time.perf_counter() - started)
    return statistics.median(took)


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp}/bench.db")
        clock = FixedClock(T0)
        rt = build_runtime(settings, clock=clock)
        upgrade(rt.db.engine)
        platform = Platform(args.latency)
        people = rt.people
        people.add_source(platform)
        known = [f"Pn{i:04d}" for i in range(args.people)]
        ghosts = [f"Px{i:04d}" for i in range(args.people)]

        started = time.perf_counter()
        await people.names("default", known)
        print(f"first view, {args.people} ids missing (blocking lookup): {_ms(started)}")
        fresh = await views(people, known, args.views)
        print(f"view, {args.people} cached names, fresh:               {fresh * 1e3:7.2f} ms")

        clock.advance(hours=settings.people_ttl_hours + 1)
        before = platform.lookups
        stale = await views(people, known, args.views)
        await people.settle()
        print(f"view, {args.people} cached names, past the TTL:        {stale * 1e3:7.2f} ms")
        print(f"  lookups those {args.views} stale views cost: {platform.lookups - before}")

        before = platform.lookups
        await people.names("default", ghosts)
        unknown = await views(people, ghosts, args.views)
        print(f"view, {args.people} ids the platform does not know:    {unknown * 1e3:7.2f} ms")
        print(f"  lookups {args.views + 1} views of them cost: {platform.lookups - before}")
        await people.close()
        rt.db.close()


def _ms(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1e3:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--views", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
