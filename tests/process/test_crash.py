"""``kill -9`` while reminders and an alert storm are in flight: after a restart nothing that was
acknowledged is lost and nothing is posted twice.

A real ``sitrep serve`` process delivers to the Slack fake over loopback HTTP. Alertmanager
webhooks are acknowledged only once committed, so every 2xx must survive the kill; the ones that
failed are sent again after the restart, as Alertmanager retries them.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.runtime import Runtime
from storage.db import Database
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

TOKEN = "am-crash-test-token"
INCIDENTS = 20
# Long enough that the storm is still running when the first reminder lands (the kill waits
# for both), even when that reminder needs a retry or two on a slow machine.
WEBHOOKS = 3000
ALERTS_PER_WEBHOOK = 5
KILL_AFTER_ACKED = 150
BACKENDS = [
    b
    for b in os.environ.get("SITREP_TEST_BACKENDS", "sqlite,postgres").split(",")
    if b == "sqlite" or (b == "postgres" and os.environ.get("SITREP_TEST_POSTGRES_URL"))
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The embedded SQLite file by default; a private Postgres database in the Postgres pass."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sitrep.db'}"
    else:
        with private_database(os.environ["SITREP_TEST_POSTGRES_URL"]) as url:
            yield url


@pytest.fixture
def shared(database_url: str) -> Iterator[Runtime[Database]]:
    """A runtime on the server's database, for seeding and for looking at what was stored."""
    with migrated_runtime(database_url) as rt:
        yield rt


def storm_webhook(n: int) -> tuple[bytes, list[str]]:
    """One Alertmanager delivery of new critical alerts, all in the one storm group."""
    fingerprints = [f"crash{n:05d}{i:02d}" for i in range(ALERTS_PER_WEBHOOK)]
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "DiskFull", "instance": fp, "severity": "critical"},
            "annotations": {"summary": f"disk full on {fp}"},
            "startsAt": "2026-12-01T08:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph",
            "fingerprint": fp,
        }
        for fp in fingerprints
    ]
    body = {
        "version": "4",
        "receiver": "sitrep",
        "status": "firing",
        "groupKey": '{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
        "externalURL": "http://alertmanager.example:9093",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull", "severity": "critical"},
        "commonAnnotations": {},
        "alerts": alerts,
    }
    return json.dumps(body).encode(), fingerprints


class Storm:
    """Alertmanager's side: sends webhooks, remembers which were acknowledged with a 2xx."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/webhooks/alertmanager"
        self.acked: set[str] = set()
        self.pending = list(range(WEBHOOKS))
        self.acked_webhooks = 0

    async def send(self, session: aiohttp.ClientSession, n: int) -> bool:
        body, fingerprints = storm_webhook(n)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        try:
            async with session.post(self.url, data=body, headers=headers) as resp:
                await resp.read()
                ok = 200 <= resp.status < 300
        except (TimeoutError, aiohttp.ClientError):
            return False
        if ok:
            self.acked.update(fingerprints)
            self.acked_webhooks += 1
        return ok

    async def run(self, concurrency: int = 8) -> list[int]:
        """Send every pending webhook; returns the ones that were not acknowledged."""
        queue = list(self.pending)
        failed: list[int] = []
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def worker() -> None:
                while queue:
                    n = queue.pop(0)
                    if not await self.send(session, n):
                        failed.append(n)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        self.pending = sorted(failed)
        return self.pending


async def stored_fingerprints(rt: Runtime[Database]) -> set[str]:
    def query() -> set[str]:
        with rt.db.engine.connect() as conn:
            rows = conn.execute(text("SELECT fingerprint FROM alert WHERE source = 'alertmanager'"))
            return {str(r[0]) for r in rows}

    return await asyncio.to_thread(query)


async def test_kill_9_mid_storm_and_reminders_loses_nothing_and_posts_nothing_twice(
    tmp_path: Path, fake: FakeSlackApi, shared: Runtime[Database], database_url: str
) -> None:
    env = {"SITREP_ALERTMANAGER_TOKEN": TOKEN, "SITREP_OUTBOX_LEASE_SECONDS": "3"}
    cluster = Cluster(database_url, fake.url, tmp_path, env=env)
    await cluster.start(1)
    try:
        await seed_incidents(shared, INCIDENTS)
        await wait_until_idle(shared, 120)  # rooms open, summaries pinned, broadcasts posted
        due = datetime.now(UTC) + timedelta(seconds=2)
        await make_due_at(shared, list(range(1, INCIDENTS + 1)), due)
        await asyncio.sleep(max((due - datetime.now(UTC)).total_seconds() - 0.3, 0))

        # A flaky Slack keeps reminders in flight (retrying, backing off) when the kill lands.
        fake.faults(0.5, methods=["chat.postMessage"], seed=5)
        storm = Storm(cluster.replicas[0].url)
        first_pass = asyncio.create_task(storm.run())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        reminded = 0
        while storm.acked_webhooks < KILL_AFTER_ACKED or reminded == 0:
            assert loop.time() < deadline, f"storm stalled: {cluster.logs()}"
            assert not first_pass.done(), "the storm ended before the kill; make it longer"
            await asyncio.sleep(0.01)
            reminded = len(posts_by_channel(fake.calls, "stakeholder update"))
        cluster.kill(0)
        reminded = len(posts_by_channel(fake.calls, "stakeholder update"))
        assert reminded < INCIDENTS, "every reminder was out before the kill; nothing in flight"
        fake.clear_faults()
        unacked = await first_pass
        assert unacked, "the kill landed after the storm; nothing was in flight"

        await cluster.launch(cluster.replicas[0])
        assert not await storm.run(), "webhooks refused after the restart"
        await wait_until_idle(shared, 180, want=INCIDENTS, prefix="sched:reminder:")
        await asyncio.sleep(2)  # a few more ticks: nothing new may appear
        await wait_until_idle(shared, 60)
    finally:
        await cluster.stop()

    assert storm.acked <= await stored_fingerprints(shared), "an acknowledged alert was lost"
    assert len(storm.acked) == WEBHOOKS * ALERTS_PER_WEBHOOK
    reminders = posts_by_channel(fake.calls, "stakeholder update")
    assert len(reminders) == INCIDENTS and set(reminders.values()) == {1}, reminders
    posts = Counter(
        (str(call.args.get("channel")), call.args.get("thread_ts"), str(call.args.get("text")))
        for call in fake.calls
        if call.method == "chat.postMessage" and call.ok
    )
    twice = {key: n for key, n in posts.items() if n > 1}
    assert not twice, f"posted more than once: {twice}"
    rooms = [c for c in fake.calls if c.method == "conversations.create" and c.ok]
    assert len(rooms) == INCIDENTS + 1, "the storm must open exactly one incident room"
