"""Cost of one similar-incidents suggestion against a full candidate set.

Fills a database with --history resolved incidents (5,000 by default: the candidate cap),
written like the labelled set (tests/similar/evalset.py, many seeds), about half of them with
1-3 alerts carrying labels. Then declares --queries new incidents, each with its alerts, and
for each runs the worker's job exactly as the app does (``SimilarIncidents.run_once``: claim
the job, read the profile and the candidates in one transaction, rank off the database
thread, mark done and queue the message in a second one), timing:

* cold   - reading all 5,000 candidate profiles (incidents + their alerts' labels), which the
           worker does once and then only for incidents new or changed since;
* read   - the claiming transaction: the job, the new incident's profile, the candidates'
           (id, version) keys;
* rank   - ``rank`` over the candidates alone;
* total  - the whole job, per declaration.

    .venv/bin/python bench/similar.py [--history 5000] [--queries 200] [--url postgresql+psycopg://…]

Prints p50/p95/max milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from bot.config import Settings
from bot.domain.model import Status
from bot.notify import NotifyContext
from bot.ports import FixedClock
from bot.repository import Repo
from bot.scheduling.store import JobKind, NewJob
from bot.similar.score import rank
from bot.similar.worker import SimilarIncidents
from storage.db import Database
from storage.migrate import upgrade
from storage.tables import AlertRow, IncidentRow
from tests.similar.evalset import Labelled, build

WS = "bench"
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def corpus(history: int, queries: int) -> tuple[list[Labelled], list[Labelled]]:
    """``history`` past incidents and ``queries`` new ones, from as many seeds as it takes."""
    past: list[Labelled] = []
    new: list[Labelled] = []
    seed = 1
    while len(past) < history or len(new) < queries:
        s = build(seed)
        past += [p for p in s.past if p.mode != "noise"]
        new += [q.incident for q in s.queries]
        seed += 1
    return past[:history], new[:queries]


def insert_incidents(db: Database, items: list[Labelled], *, start: int, resolved: bool) -> None:
    """Bulk insert (faster than declaring each through the service, same rows)."""
    incidents: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    for n, item in enumerate(items, start=start):
        p = item.profile
        at = T0 + timedelta(minutes=n)
        incidents.append(
            {
                "id": n,
                "workspace": WS,
                "number": n,
                "title": p.title[:200],
                "summary": p.summary,
                "root_cause": p.root_cause,
                "severity": "SEV2",
                "status": (Status.RESOLVED if resolved else Status.INVESTIGATING).value,
                "private": False,
                "declared_by": "U1",
                "origin": "alert" if p.labels else "slack",
                "declared_at": at,
                "resolved_at": at + timedelta(hours=1) if resolved else None,
            }
        )
        for k in range(1 + n % 3 if p.labels else 0):
            labels = dict(p.labels) | {"instance": f"host-{n}-{k}"}
            alerts.append(
                {
                    "workspace": WS,
                    "source": "alertmanager",
                    "fingerprint": f"{n}-{k}",
                    "group_key": f"g{n}",
                    "status": "resolved" if resolved else "firing",
                    "title": p.title[:500],
                    "description": p.alert_text,
                    "labels": labels,
                    "annotations": {"summary": p.alert_text},
                    "links": {},
                    "first_seen_at": at,
                    "last_seen_at": at,
                    "incident_id": n,
                }
            )
    with db.session() as session:
        session.execute(insert(IncidentRow.__table__), incidents)  # type: ignore[attr-defined]
        if alerts:
            session.execute(insert(AlertRow.__table__), alerts)  # type: ignore[attr-defined]


def ms(samples: list[float]) -> str:
    q = (
        statistics.quantiles(samples, n=20, method="inclusive")
        if len(samples) > 1
        else samples * 19
    )
    return f"p50 {statistics.median(samples):7.1f}  p95 {q[18]:7.1f}  max {max(samples):7.1f}"


async def run(args: argparse.Namespace) -> None:
    tmp = tempfile.TemporaryDirectory()
    url = args.url or f"sqlite:///{Path(tmp.name) / 'similar.db'}"
    db = Database(url)
    upgrade(db.engine)
    past, new = corpus(args.history, args.queries)
    insert_incidents(db, past, start=1, resolved=True)
    first_new = len(past) + 1
    insert_incidents(db, new, start=first_new, resolved=False)
    clock = FixedClock(T0 + timedelta(days=30))
    settings = Settings(_env_file=None, database_url=url)
    notify = NotifyContext(("slack",), settings.policy(), "https://sitrep.example.com")
    worker = SimilarIncidents(db, notify, clock, workspace=WS)
    print(f"{args.history} resolved incidents, {args.queries} declarations, {db.dialect}")

    reads: list[float] = []
    original_read = worker._read

    def timed_read(repo: Repo, now: datetime) -> Any:
        t = time.perf_counter()
        try:
            return original_read(repo, now)
        finally:
            reads.append((time.perf_counter() - t) * 1000)

    worker._read = timed_read  # type: ignore[method-assign]
    totals: list[float] = []
    posted = 0
    for i in range(args.queries):
        iid = first_new + i
        job = NewJob(WS, JobKind.SIMILAR.value, f"similar:{iid}", clock.now(), incident_id=iid)
        await db.run(functools.partial(_record, job=job, now=clock.now()))
        t = time.perf_counter()
        assert await worker.run_once()
        totals.append((time.perf_counter() - t) * 1000)
        posted = worker.posted

    profiles = [p for _, p in worker._held.values()]
    queries = [
        replace(q.profile, incident_id=10**9 + n, number=10**9 + n) for n, q in enumerate(new)
    ]
    ranks = [_time(functools.partial(rank, q, profiles)) for q in queries]
    ids = [p.incident_id for p in profiles]
    cold = [
        _time(functools.partial(db.run_sync, functools.partial(_profiles, ids=ids)))
        for _ in range(5)
    ]
    print(f"candidates: {len(profiles)}; messages queued: {posted}/{args.queries}")
    print(f"first read (nothing held yet): {reads[0]:.1f} ms")
    print(f"cold   {ms(cold)} ms  (all {len(ids)} candidate profiles read from the database)")
    print(f"read   {ms(reads[1:])} ms  (claim + profile + candidate keys, profiles held)")
    print(f"rank   {ms(ranks)} ms")
    print(f"total  {ms(totals)} ms  (per declaration)")
    db.close()
    tmp.cleanup()


def _record(repo: Repo, *, job: NewJob, now: datetime) -> bool:
    return repo.schedules.record_job(job, now)


def _profiles(repo: Repo, *, ids: list[int]) -> int:
    return len(repo.similar.candidates(WS, ids))


def _time(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--url", default="")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
