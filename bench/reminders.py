"""Bench: N open incidents whose update reminders fall due at the same instant, handled by R
``sitrep serve`` replicas on one Postgres database, delivering to the Slack fake over HTTP.

Prints the time from the due instant until every reminder was delivered, and the duplicate
count (which must be 0). The incidents are private, so seeding them does not queue a thousand
announcements behind the broadcast channel's pacing (about one message a second).

Run from the repository root:

    .venv/bin/python bench/reminders.py [--incidents 1000] [--replicas 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings
from bot.ports import SystemClock
from handlers.compose import build_runtime
from storage.migrate import upgrade
from tests.fakes.slack_api import BOT_USER_ID, FakeSlackApi
from tests.scheduling.cluster import (
    ADMIN_URL,
    Cluster,
    make_due_at,
    posts_by_channel,
    private_database,
    seed_incidents,
    wait_until_idle,
)

REMINDER_TEXT = "stakeholder update"


async def run(incidents: int, replicas: int, admin_url: str) -> int:
    """Run the bench; returns the process exit code (1 when any reminder is lost or doubled)."""
    async with FakeSlackApi() as fake:
        fake.add_channel("incidents", members=[BOT_USER_ID])
        fake.add_channel("alerts", members=[BOT_USER_ID])
        with private_database(admin_url) as url, tempfile.TemporaryDirectory() as tmp:
            settings = Settings(_env_file=None, database_url=url)
            rt = build_runtime(settings, clock=SystemClock())
            upgrade(rt.db.engine)
            cluster = Cluster(url, fake.url, Path(tmp))
            try:
                started = time.monotonic()
                await cluster.start(replicas)
                print(f"{replicas} replicas ready in {time.monotonic() - started:.1f} s")
                started = time.monotonic()
                await seed_incidents(rt, incidents, private=True)
                await wait_until_idle(rt, 600)
                print(
                    f"{incidents} incidents declared and their rooms opened in "
                    f"{time.monotonic() - started:.1f} s"
                )
                # Snoozing all of them to one instant makes every reminder due together.
                lead = timedelta(seconds=3 + incidents * 0.01)
                due = datetime.now(UTC) + lead
                await make_due_at(rt, list(range(1, incidents + 1)), due)
                if datetime.now(UTC) >= due:
                    print("warning: snoozing took longer than planned; some fell due early")
                prefix = "sched:reminder:"
                await wait_until_idle(rt, 600, want=incidents, prefix=prefix)
                await asyncio.sleep(2)  # more ticks on every replica: nothing new may appear
                await wait_until_idle(rt, 60)
            except BaseException:
                print(cluster.logs(), file=sys.stderr)
                raise
            finally:
                await cluster.stop()
            rows = await rt.db.run(lambda r: r.list_outbox(limit=1_000_000))
            rt.db.close()
    reminder_rows = [r for r in rows if r.idempotency_key.startswith(prefix)]
    latency = sorted(
        (r.delivered_at - due).total_seconds() for r in reminder_rows if r.delivered_at
    )
    posts = posts_by_channel(fake.calls, REMINDER_TEXT)
    duplicates = sum(n - 1 for n in posts.values())
    missing = incidents - len(posts)
    print(f"reminders due at once: {incidents} across {replicas} replicas")
    print(
        f"all delivered after:   {latency[-1]:.2f} s "
        f"(first {latency[0]:.2f} s, median {statistics.median(latency):.2f} s, "
        f"p99 {latency[int(len(latency) * 0.99) - 1]:.2f} s)"
    )
    print(f"outbox rows:           {len(reminder_rows)} (one per reminder)")
    print(f"duplicates:            {duplicates}")
    print(f"missing:               {missing}")
    return 0 if duplicates == 0 and missing == 0 and len(reminder_rows) == incidents else 1


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SITREP_TEST_POSTGRES_URL", ADMIN_URL),
        help="an admin URL; a private database is created and dropped",
    )
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.incidents, args.replicas, args.postgres)))


if __name__ == "__main__":
    main()
