"""Reminders through the real app and the real Slack port, over real HTTP, to the Slack fake
while 30% of its answers are 500s, 429s with Retry-After, or slow failures: every reminder,
escalation and "update overdue" mark arrives, and none arrives twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.runtime import Runtime
from tests.fakes.slack_api import ALICE, FakeSlackApi
from tests.scheduling.cluster import wait_until_idle
from tests.support.slack import fake

__all__ = ["fake"]  # the fixture

INCIDENTS = 12
MARKER = "stakeholder update"


class ShiftableClock:
    """Real time plus an offset the test can jump, so backoffs elapse on their own while
    reminder deadlines can be reached without waiting half an hour."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        """Current UTC time, shifted."""
        return datetime.now(UTC) + self.offset

    def jump(self, **kwargs: float) -> None:
        """Move time forward by ``timedelta(**kwargs)``."""
        self.offset += timedelta(**kwargs)


@pytest.fixture
def clock() -> ShiftableClock:
    """Overrides the fixed clock: retries must become due in real time here."""
    return ShiftableClock()


@pytest.fixture
def settings_overrides(fake: FakeSlackApi) -> dict[str, Any]:
    """Slack pointed at the fake; fast ticks and a short backoff cap keep the test short."""
    return {
        "slack_bot_token": "xoxb-test",
        "slack_signing_secret": "test-signing-secret",
        "slack_api_url": fake.url,
        "scheduler_tick_seconds": 0.1,
        "outbox_backoff_cap_seconds": 2,
        "outbox_max_attempts": 40,
        "digest_cron": "",
        "action_item_reminder_cron": "",
        "escalation_group": "S_ONCALL",
        "postmortem_reminder_days": 0,
    }


def reminder_posts(fake: FakeSlackApi) -> Counter[tuple[str, bool]]:
    """Successful reminder posts per (channel, overdue?)."""
    return Counter(
        (str(call.args.get("channel")), "overdue" in str(call.args.get("text")))
        for call in fake.calls
        if call.method == "chat.postMessage" and call.ok and MARKER in str(call.args.get("text"))
    )


async def test_every_reminder_arrives_once_when_30_percent_of_calls_fail(
    client: TestClient[Any, Any], runtime: Runtime, clock: ShiftableClock, fake: FakeSlackApi
) -> None:
    actor = Actor(ALICE, "alice")
    fake.faults(0.3, ("500", "429", "slow"), seed=3, slow_seconds=0.5, retry_after=1)
    for i in range(INCIDENTS):
        await runtime.service.declare(
            runtime.settings.workspace, c.Declare(f"Checkout errors {i}", "SEV2"), actor
        )
    await wait_until_idle(runtime, 180)  # rooms opened, summaries pinned, despite the faults
    clock.jump(minutes=30)  # every update is now due
    await asyncio.sleep(0.5)
    await wait_until_idle(runtime, 180, want=INCIDENTS, prefix="sched:reminder:")
    clock.jump(minutes=30)  # and now overdue: escalate and mark the stakeholder threads
    await asyncio.sleep(0.5)
    await wait_until_idle(runtime, 180, want=INCIDENTS, prefix="sched:escalation:")
    fake.clear_faults()
    faulted = [call for call in fake.calls if call.fault]
    assert len(faulted) > INCIDENTS // 2, "the fault plan did not bite"
    posts = reminder_posts(fake)
    assert sum(1 for (_, overdue) in posts if not overdue) == INCIDENTS
    assert sum(1 for (_, overdue) in posts if overdue) == INCIDENTS
    assert set(posts.values()) == {1}, {k: n for k, n in posts.items() if n > 1}
    marks = Counter(
        str(call.args.get("thread_ts"))
        for call in fake.calls
        if call.method == "chat.postMessage" and call.ok and "Update overdue" in str(call.args)
    )
    assert len(marks) == INCIDENTS and set(marks.values()) == {1}
