"""Real ``sitrep serve`` processes on one Postgres database, delivering to the Slack fake over
HTTP: three replicas send each of 200 due reminders exactly once, and a replica killed with
``kill -9`` mid-storm loses nothing that was acknowledged and posts nothing twice."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.runtime import Runtime
from tests.fakes.slack_api import FakeSlackApi
from tests.scheduling.cluster import (
    Cluster,
    make_due_at,
    migrated_runtime,
    posts_by_channel,
    private_database,
    seed_incidents,
    wait_until_idle,
)
from tests.support.slack import fake

__all__ = ["fake"]  # the fixture

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("SITREP_TEST_POSTGRES_URL"), reason="needs SITREP_TEST_POSTGRES_URL"
    ),
]
REMINDER_TEXT = "stakeholder update"


@pytest_asyncio.fixture
async def shared() -> AsyncIterator[Runtime]:
    """A private Postgres database, migrated, with a runtime for seeding and inspecting it."""
    with private_database() as url, migrated_runtime(url) as rt:
        yield rt


async def test_three_replicas_send_each_of_200_reminders_once(
    tmp_path: Path, fake: FakeSlackApi, shared: Runtime
) -> None:
    cluster = Cluster(shared.settings.database_url, fake.url, tmp_path)
    await cluster.start(3)
    try:
        # Private: no broadcast announcements, whose per-channel pacing would dominate the run.
        ids = await seed_incidents(shared, 200, private=True)
        await wait_until_idle(shared, 180)  # every room opened and its summary pinned
        until = datetime.now(UTC) + timedelta(seconds=3)
        await make_due_at(shared, list(range(1, len(ids) + 1)), until)
        assert datetime.now(UTC) < until, "seeding was too slow to make them due at once"
        await wait_until_idle(shared, 120, want=200, prefix="sched:reminder:")
        await asyncio.sleep(2)  # a few more ticks on every replica: nothing new may appear
        await wait_until_idle(shared, 30)
    finally:
        await cluster.stop()
    posts = posts_by_channel(fake.calls, REMINDER_TEXT)
    assert len(posts) == 200, cluster.logs()
    assert set(posts.values()) == {1}, {ch: n for ch, n in posts.items() if n > 1}
    jobs = await shared.db.run(lambda r: r.schedules.list_jobs(kind="reminder", limit=1000))
    assert len(jobs) == 200
